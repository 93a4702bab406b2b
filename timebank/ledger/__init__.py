"""The double-entry ledger: accounts, balanced transactions, holds, verification, export.

Plain functions over a SQLAlchemy session; nothing here imports Flask.
"""

from timebank.ledger.errors import (
    AccountClosed,
    AlreadyReversed,
    BalanceCapExceeded,
    HoldNotOpen,
    IdempotencyConflict,
    InsufficientBalance,
    InvalidAmount,
    LedgerError,
    MissingActor,
    UnbalancedTransaction,
    UnknownAccount,
)
from timebank.ledger.holds import capture, expire_holds, hold, release
from timebank.ledger.models import Account, Commodity, Hold, HoldStatus, Kind, OwnerType, Posting, Seal, Transaction
from timebank.ledger.posting import (
    Balance,
    Leg,
    StatementLine,
    StatementPage,
    balance,
    close_account,
    get_account,
    open_account,
    open_accounts,
    post,
    reverse,
    statement,
)
from timebank.ledger.seal import SealStatus, chain_head, seal_pending, seal_status
from timebank.ledger.verify import Breach, verify

__all__ = [
    "Account",
    "AccountClosed",
    "AlreadyReversed",
    "Balance",
    "BalanceCapExceeded",
    "Breach",
    "Commodity",
    "Hold",
    "HoldNotOpen",
    "HoldStatus",
    "IdempotencyConflict",
    "InsufficientBalance",
    "InvalidAmount",
    "Kind",
    "LedgerError",
    "Leg",
    "MissingActor",
    "OwnerType",
    "Posting",
    "Seal",
    "SealStatus",
    "StatementLine",
    "StatementPage",
    "Transaction",
    "UnbalancedTransaction",
    "UnknownAccount",
    "balance",
    "capture",
    "chain_head",
    "close_account",
    "expire_holds",
    "get_account",
    "hold",
    "open_account",
    "open_accounts",
    "post",
    "release",
    "reverse",
    "seal_pending",
    "seal_status",
    "statement",
    "verify",
]
