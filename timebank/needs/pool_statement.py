"""A community pool's statement: every movement of its hours, in words, with the figures a coordinator reports.

Everything here is read from the ledger: postings on the pool's account (what
came in and went out) and holds on it (what allocations and visits set aside),
so the figures are the ledger's, never a second bookkeeping.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from timebank.ledger.models import Account, Hold, HoldStatus, Kind, OwnerType, Posting, Transaction
from timebank.ledger.rules import pool_code
from timebank.localtime import local
from timebank.needs.models import PoolAllocation
from timebank.needs.pool import PoolFigures, figures
from timebank.orgs.models import Organisation
from timebank.orgs.services import get_organisation
from timebank.people.access import MANAGERS, Actor
from timebank.people.models import Person

#: What a posting on a pool is, from its transaction's kind and direction; each with its label msgid.
MOVEMENTS = {
    "donation": "Donated",
    "over_cap": "Above a volunteer's storage cap",
    "spent": "Paid for a service",
    "correction": "Correction",
    "other": "Other",
}
EXPORT_HEADINGS = ("日期时间", "类别", "志愿者", "分钟", "小时", "结余（分钟）", "交易号", "说明")
EXPORT_WORDS = {"donation": "捐赠", "over_cap": "超出存储上限转入", "spent": "支付服务", "correction": "更正", "other": "其他"}


@dataclass(frozen=True)
class PoolLine:
    """One posting on the pool, in words."""

    posting_id: int
    transaction_id: int
    movement: str  # a MOVEMENTS key
    who: str  # the donor, the volunteer paid or over the cap; "" when nobody
    amount: int  # minutes, signed
    balance_after: int
    at: dt.datetime
    memo: str | None


@dataclass(frozen=True)
class PoolStatement:
    """A pool's figures and a page of its lines, newest first."""

    organisation: Organisation
    figures: PoolFigures
    totals: dict[str, int]  # minutes per movement, signed
    allocated: int  # minutes open allocations set aside now
    held_for_visits: int  # minutes accepted visits set aside now
    returned: int  # minutes coordinators gave back from allocations
    lines: list[PoolLine] = field(default_factory=list)
    next_before: int | None = None


def statement(session: Session, organisation_id: int, *, actor: Actor, before: int | None = None, limit: int = 50) -> PoolStatement:
    """The pool's figures and a page of its movements, for a coordinator over its organisation."""
    organisation = get_organisation(session, organisation_id)
    actor.require(MANAGERS, organisation)
    code = pool_code(organisation.id)
    totals = dict.fromkeys(MOVEMENTS, 0)
    for kind, sign, minutes in session.execute(
        select(Transaction.kind, Posting.amount > 0, func.sum(Posting.amount))
        .join(Posting, Posting.transaction_id == Transaction.id)
        .join(Account, Account.id == Posting.account_id)
        .where(Account.code == code)
        .group_by(Transaction.kind, Posting.amount > 0)
    ):
        totals[movement(kind, int(minutes))] += int(minutes)
    held = dict(session.execute(
        select(Hold.ref_type, func.sum(Hold.amount))
        .join(Account, Account.id == Hold.account_id)
        .where(Account.code == code, Hold.status == HoldStatus.OPEN.value)
        .group_by(Hold.ref_type)
    ).all())
    returned = session.scalar(
        select(func.coalesce(func.sum(Hold.amount), 0))
        .join(PoolAllocation, PoolAllocation.hold_id == Hold.id)
        .where(PoolAllocation.organisation_id == organisation.id, PoolAllocation.status == "returned")
    )
    lines, next_before = page(session, code, before=before, limit=limit)
    return PoolStatement(
        organisation=organisation, figures=figures(session, organisation.id), totals=totals,
        allocated=int(held.get("pool_allocation") or 0), held_for_visits=int(held.get("assignment") or 0),
        returned=int(returned or 0), lines=lines, next_before=next_before,
    )


def movement(kind: str, amount: int) -> str:
    """What a posting of this transaction kind and sign is to a pool."""
    if kind == Kind.DONATION.value:
        return "donation"
    if kind == Kind.SERVICE_CREDIT.value or (kind == Kind.SERVICE_PURCHASE.value and amount > 0):
        return "over_cap"
    if kind == Kind.SERVICE_PURCHASE.value:
        return "spent"
    if kind == Kind.REVERSAL.value:
        return "correction"
    return "other"


def page(session: Session, code: str, *, before: int | None = None, limit: int = 50) -> tuple[list[PoolLine], int | None]:
    """A page of the pool's lines, newest first, and the posting id to read on from (None at the end)."""
    rows = list(_lines(session, code, newest_first=True, before=before, limit=limit + 1))
    return rows[:limit], (rows[limit - 1].posting_id if len(rows) > limit else None)


def export_rows(session: Session, organisation_id: int, actor: Actor) -> Iterator[Sequence[Any]]:
    """The whole statement for a workbook, oldest first: headings, then one row per posting (the right checked first)."""
    organisation = get_organisation(session, organisation_id)
    actor.require(MANAGERS, organisation)
    yield EXPORT_HEADINGS
    for line in _lines(session, pool_code(organisation.id), newest_first=False):
        yield (local(line.at).strftime("%Y-%m-%d %H:%M"), EXPORT_WORDS[line.movement], line.who, line.amount,
               round(line.amount / 60, 2), line.balance_after, line.transaction_id, line.memo or "")


def _lines(session: Session, code: str, *, newest_first: bool, before: int | None = None, limit: int | None = None) -> Iterator[PoolLine]:
    """The pool's postings in words: the other side is the person whose HOUR account moved in the same transaction."""
    other, person_posting = aliased(Account), aliased(Posting)
    who = (
        select(Person.real_name)
        .join(other, (other.owner_id == Person.id) & (other.owner_type == OwnerType.VOLUNTEER.value))
        .join(person_posting, person_posting.account_id == other.id)
        .where(person_posting.transaction_id == Posting.transaction_id, other.commodity == "HOUR")
        .limit(1)
        .scalar_subquery()
    )
    stmt = (
        select(Posting.id, Posting.transaction_id, Transaction.kind, who, Posting.amount, Posting.balance_after,
               Transaction.event_at, Transaction.memo)
        .join(Transaction, Transaction.id == Posting.transaction_id)
        .join(Account, Account.id == Posting.account_id)
        .where(Account.code == code)
        .order_by(Posting.id.desc() if newest_first else Posting.id)
    )
    if before is not None:
        stmt = stmt.where(Posting.id < before)
    if limit is not None:
        stmt = stmt.limit(limit)
    for row in session.execute(stmt).yield_per(500):
        yield PoolLine(row[0], row[1], movement(row[2], row[4]), row[3] or "", row[4], row[5], row[6], row[7])
