"""Accounts, transactions, postings and holds: the ledger's tables."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timebank.db import Base, BigId, UTCDateTime


class Commodity(enum.StrEnum):
    """What an account counts, always in whole units."""

    HOUR = "HOUR"  # spendable time credit, in minutes
    CERT = "CERT"  # certified hours toward star levels, in minutes, never spendable
    PTS = "PTS"  # incentive points


class OwnerType(enum.StrEnum):
    """Whose account it is; only `system` accounts may go negative."""

    VOLUNTEER = "volunteer"
    STATION = "station"
    ORGANISATION = "org"
    SYSTEM = "system"


class Kind(enum.StrEnum):
    """What a transaction records (DESIGN.md "What each business event posts")."""

    SERVICE_CREDIT = "service_credit"
    TRAINING_CREDIT = "training_credit"
    REDEMPTION = "redemption"
    TRANSFER = "transfer"
    DONATION = "donation"
    SERVICE_PURCHASE = "service_purchase"
    REVERSAL = "reversal"
    ADJUSTMENT = "adjustment"
    WRITE_OFF = "write_off"


class HoldStatus(enum.StrEnum):
    """A hold resolves exactly once."""

    OPEN = "open"
    CAPTURED = "captured"
    RELEASED = "released"
    EXPIRED = "expired"


#: The actor recorded when the service itself acts (hold expiry sweeps).
SYSTEM_ACTOR = 0

COMMODITIES = ", ".join(f"'{c.value}'" for c in Commodity)


class Account(Base):
    """A balance in one commodity, owned by a person, a station, an organisation or the system."""

    __tablename__ = "accounts"
    __table_args__ = (
        UniqueConstraint("id", "commodity", name="uq_accounts_id_commodity"),
        CheckConstraint(f"commodity IN ({COMMODITIES})", name="commodity"),
        CheckConstraint("allow_negative OR balance - held >= 0", name="non_negative"),
        CheckConstraint("held >= 0", name="held_non_negative"),
        CheckConstraint("max_balance IS NULL OR balance <= max_balance", name="under_cap"),
        CheckConstraint("NOT allow_negative OR owner_type = 'system'", name="only_system_negative"),
        # A derived-balance account keeps no running figures in its row.
        CheckConstraint(
            "running_balance OR (allow_negative AND balance = 0 AND held = 0 AND max_balance IS NULL)",
            name="derived_balance",
        ),
        Index("ix_accounts_owner", "owner_type", "owner_id", "commodity"),  # a subtree's volunteers' points
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(120), unique=True)
    commodity: Mapped[str] = mapped_column(String(8))
    owner_type: Mapped[str] = mapped_column(String(20))
    owner_id: Mapped[int | None] = mapped_column(BigInteger)
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    held: Mapped[int] = mapped_column(BigInteger, default=0)
    allow_negative: Mapped[bool] = mapped_column(Boolean, default=False)
    max_balance: Mapped[int | None] = mapped_column(BigInteger)
    # False for the system issuance accounts: every credit touches them, so
    # their balance is the sum of their postings rather than one hot row.
    running_balance: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<Account {self.code} balance={self.balance} held={self.held}>"


class Transaction(Base):
    """A journal entry: balanced postings, who made it, why, and when."""

    __tablename__ = "transactions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    # sha256 of the content (kind, legs, ref): a retry must match it exactly.
    fingerprint: Mapped[str] = mapped_column(String(64))
    memo: Mapped[str | None] = mapped_column(Text)
    ref_type: Mapped[str | None] = mapped_column(String(32))
    ref_id: Mapped[int | None] = mapped_column(BigInteger)
    actor_id: Mapped[int] = mapped_column(BigInteger)
    event_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    reverses_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("transactions.id"), unique=True
    )

    postings: Mapped[list[Posting]] = relationship(
        back_populates="transaction", order_by="Posting.id", lazy="selectin"
    )

    __table_args__ = (Index("ix_transactions_ref", "ref_type", "ref_id"),)

    def __repr__(self) -> str:
        return f"<Transaction {self.id} {self.kind} {self.idempotency_key!r}>"


class Posting(Base):
    """One leg of a transaction: a signed amount on one account."""

    __tablename__ = "postings"
    __table_args__ = (
        # The commodity is repeated here so the database itself can hold the
        # posting to its account's commodity and check balance per commodity.
        ForeignKeyConstraint(
            ["account_id", "commodity"],
            ["accounts.id", "accounts.commodity"],
            name="fk_postings_account_commodity",
        ),
        CheckConstraint("amount <> 0", name="non_zero"),
        Index("ix_postings_account_id_id", "account_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    transaction_id: Mapped[int] = mapped_column(BigId, ForeignKey("transactions.id"), index=True)
    account_id: Mapped[int] = mapped_column(BigId)
    commodity: Mapped[str] = mapped_column(String(8))
    amount: Mapped[int] = mapped_column(BigInteger)
    # NULL on derived-balance accounts, which keep no running balance.
    balance_after: Mapped[int | None] = mapped_column(BigInteger)

    transaction: Mapped[Transaction] = relationship(back_populates="postings")
    account: Mapped[Account] = relationship(
        foreign_keys=[account_id], primaryjoin="Posting.account_id == Account.id", lazy="joined"
    )

    def __repr__(self) -> str:
        return f"<Posting txn={self.transaction_id} account={self.account_id} {self.amount}>"


class Seal(Base):
    """A link of the hash chain over transactions (timebank/ledger/seal.py); append-only."""

    __tablename__ = "ledger_seals"

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    transaction_id: Mapped[int] = mapped_column(BigId, ForeignKey("transactions.id"), unique=True)
    previous_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    sealed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<Seal {self.seq} txn={self.transaction_id} {self.hash[:12]}>"


class Hold(Base):
    """An amount reserved on an account until it is captured, released or expires."""

    __tablename__ = "holds"
    __table_args__ = (
        CheckConstraint("amount > 0", name="positive"),
        CheckConstraint(
            "status IN ('open', 'captured', 'released', 'expired')", name="status"
        ),
        CheckConstraint(
            "captured_amount IS NULL OR (captured_amount > 0 AND captured_amount <= amount)",
            name="captured_within_amount",
        ),
        Index("ix_holds_status_expires_at", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(10), default=HoldStatus.OPEN.value)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    memo: Mapped[str | None] = mapped_column(Text)
    ref_type: Mapped[str | None] = mapped_column(String(32))
    ref_id: Mapped[int | None] = mapped_column(BigInteger)
    actor_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[int | None] = mapped_column(BigInteger)
    captured_amount: Mapped[int | None] = mapped_column(BigInteger)
    transaction_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("transactions.id"))

    account: Mapped[Account] = relationship(lazy="joined")

    def __repr__(self) -> str:
        return f"<Hold {self.id} {self.status} {self.amount} on {self.account_id}>"


__all__ = [
    "Account",
    "Commodity",
    "Hold",
    "HoldStatus",
    "Kind",
    "OwnerType",
    "Posting",
    "SYSTEM_ACTOR",
    "Seal",
    "Transaction",
]
