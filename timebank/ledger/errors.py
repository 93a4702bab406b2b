"""One tree of ledger errors, rooted in LedgerError.

Each error keeps its message as an English template (the msgid the web layer
translates) and its parameters apart, so a view can say it in the user's
language without the ledger knowing about languages.
"""

from __future__ import annotations

from typing import Any


class LedgerError(Exception):
    """Anything the ledger refuses to do."""

    template = "The ledger refused the operation."

    def __init__(self, template: str | None = None, **params: Any) -> None:
        if template is not None:
            self.template = template
        self.params = params
        super().__init__(self.template % params if params else self.template)

    @property
    def message(self) -> str:
        """The English message with its parameters filled in."""
        return str(self)


class UnbalancedTransaction(LedgerError):
    """Legs do not sum to zero per commodity, or there are fewer than two."""

    template = "The transaction does not balance."


class InvalidAmount(LedgerError):
    """An amount that is not a non-zero whole number."""

    template = "Amounts must be non-zero whole numbers."


class MissingActor(LedgerError):
    """Every transaction records who made it; none was given."""

    template = "Every ledger transaction must record who made it."


class InsufficientBalance(LedgerError):
    """The posting would take a person's available balance below zero."""

    template = "Not enough balance on %(account)s: %(available)d available, %(required)d required."


class BalanceCapExceeded(LedgerError):
    """The posting would take a balance above the account's cap."""

    template = "The balance of %(account)s would exceed its cap of %(cap)d."


class AccountClosed(LedgerError):
    """The account is closed and takes no postings."""

    template = "Account %(account)s is closed."


class UnknownAccount(LedgerError):
    """No account has that code or id."""

    template = "Unknown account %(account)s."


class IdempotencyConflict(LedgerError):
    """The idempotency key was used before for different content."""

    template = "Idempotency key %(key)s was already used for a different transaction."


class AlreadyReversed(LedgerError):
    """A transaction is reversed at most once."""

    template = "Transaction %(transaction)d has already been reversed."


class HoldNotOpen(LedgerError):
    """The hold was already captured, released or has expired."""

    template = "Hold %(hold)d is %(status)s and can no longer change."
