"""A volunteer's balances as they see them: time credit, points, certified hours and star level.

Reads only. A volunteer whose accounts are not opened yet has zeros, not an error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from timebank.ledger import Balance, StatementPage, UnknownAccount, balance, statement
from timebank.ledger.models import Account, Commodity
from timebank.ledger.rules import TRAINING, volunteer_code
from timebank.orgs.policy import DEFAULTS

NOTHING = Balance(posted=0, held=0)
#: Statement pages a volunteer may ask for: one per spendable commodity.
STATEMENT_COMMODITIES = (Commodity.HOUR, Commodity.PTS)


@dataclass(frozen=True)
class VolunteerBalances:
    """What a volunteer holds: spendable hours and points, certified hours by category, star level."""

    hours: Balance  # minutes
    points: Balance
    certified_by_category: dict[str, int] = field(default_factory=dict)  # minutes
    star_level: int = 0
    star_minutes: int = 0  # certified minutes the current star needed (0 below one star)
    next_star_minutes: int | None = None  # certified minutes the next star needs; None at the top
    training_minutes: int = 0  # approved training: certified, but not service, so no star

    @property
    def certified_minutes(self) -> int:
        """All certified minutes, every category together."""
        return sum(self.certified_by_category.values())

    @property
    def minutes_to_next_star(self) -> int | None:
        """Certified minutes still missing for the next star; None at the top level."""
        return None if self.next_star_minutes is None else max(0, self.next_star_minutes - self.certified_minutes)

    @property
    def hours_to_next_star(self) -> float | None:
        """The same in hours."""
        missing = self.minutes_to_next_star
        return None if missing is None else missing / 60

    @property
    def star_progress(self) -> float:
        """How far from the current star to the next, 0.0 to 1.0 (1.0 at the top level)."""
        if self.next_star_minutes is None or self.next_star_minutes <= self.star_minutes:
            return 1.0
        return (self.certified_minutes - self.star_minutes) / (self.next_star_minutes - self.star_minutes)


def star_level(certified_minutes: int, thresholds_hours: Sequence[int | float]) -> int:
    """How many star thresholds (in hours) the certified minutes reach: 0 to 5 by default."""
    return sum(1 for hours in thresholds_hours if certified_minutes >= hours * 60)


def _balance_or_nothing(session: Session, code: str) -> Balance:
    try:
        return balance(session, code)
    except UnknownAccount:
        return NOTHING


def certified_by_category(session: Session, person_id: int) -> dict[str, int]:
    """Certified minutes per category, from the accounts `vol:<id>:CERT:<category>` (training included)."""
    prefix = f"vol:{person_id}:CERT:"
    rows = session.execute(
        select(Account.code, Account.balance)
        .where(Account.commodity == Commodity.CERT.value, Account.code.startswith(prefix, autoescape=True))
        .order_by(Account.code)
    ).all()
    return {code[len(prefix):]: amount for code, amount in rows}


def summary(session: Session, person_id: int, policy: Mapping[str, Any]) -> VolunteerBalances:
    """The volunteer's balances and star level under the organisation's policy."""
    thresholds_hours = sorted(policy.get("star_thresholds_hours") or DEFAULTS["star_thresholds_hours"])
    thresholds = [int(hours * 60) for hours in thresholds_hours]
    certified = certified_by_category(session, person_id)
    training = certified.pop(TRAINING, 0)
    level = star_level(sum(certified.values()), thresholds_hours)
    return VolunteerBalances(
        hours=_balance_or_nothing(session, volunteer_code(person_id, Commodity.HOUR)),
        points=_balance_or_nothing(session, volunteer_code(person_id, Commodity.PTS)),
        certified_by_category=certified,
        star_level=level,
        star_minutes=thresholds[level - 1] if level else 0,
        next_star_minutes=thresholds[level] if level < len(thresholds) else None,
        training_minutes=training,
    )


def history(
    session: Session, person_id: int, commodity: Commodity, *, before: int | None = None, limit: int = 20
) -> StatementPage:
    """A page of the volunteer's HOUR or PTS statement, newest first; empty if the account is not open yet."""
    if commodity not in STATEMENT_COMMODITIES:
        raise ValueError(f"no volunteer statement in {commodity}")
    try:
        return statement(session, volunteer_code(person_id, commodity), limit=limit, before=before)
    except UnknownAccount:
        return StatementPage(lines=[], next_before=None)
