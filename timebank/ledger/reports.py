"""Figures across the whole ledger."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from timebank.ledger.models import Account, Commodity, HoldStatus, Hold, OwnerType, Posting, Transaction
from timebank.ledger.rules import ISSUANCE


@dataclass(frozen=True)
class LedgerTotals:
    """How big the ledger is and how much it has issued and how much people hold."""

    accounts: int
    transactions: int
    postings: int
    open_holds: int
    issued: dict[str, int]
    held_by_volunteers: dict[str, int]


def totals(session: Session) -> LedgerTotals:
    """Counts, the amount issued per commodity, and what volunteers hold now."""
    issued = dict.fromkeys((c.value for c in Commodity), 0)
    rows = session.execute(
        select(Account.commodity, func.sum(Posting.amount))
        .join(Posting, Posting.account_id == Account.id)
        .where(Account.code.in_(ISSUANCE.values()))
        .group_by(Account.commodity)
    )
    for commodity, total in rows:
        issued[commodity] = -int(total or 0)
    held = dict.fromkeys((c.value for c in Commodity), 0)
    rows = session.execute(
        select(Account.commodity, func.sum(Account.balance))
        .where(Account.owner_type == OwnerType.VOLUNTEER.value)
        .group_by(Account.commodity)
    )
    for commodity, total in rows:
        held[commodity] = int(total or 0)
    return LedgerTotals(
        accounts=session.scalar(select(func.count()).select_from(Account)) or 0,
        transactions=session.scalar(select(func.count()).select_from(Transaction)) or 0,
        postings=session.scalar(select(func.count()).select_from(Posting)) or 0,
        open_holds=session.scalar(
            select(func.count()).select_from(Hold).where(Hold.status == HoldStatus.OPEN.value)
        )
        or 0,
        issued=issued,
        held_by_volunteers=held,
    )
