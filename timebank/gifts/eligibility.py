"""Who may spend time credit, and on whose hours: the checks gifts, donations and paid services share.

Each refusal says why in the words a volunteer at a counter would understand:
which rule, and what the person holds or lacks. Amounts are said in hours
("1.5"), as people count them; the ledger keeps minutes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Mapping

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from timebank import ledger
from timebank.domain import Conflict
from timebank.ledger.models import Commodity
from timebank.ledger.rules import volunteer_code
from timebank.localtime import local_day
from timebank.people.balances import summary
from timebank.people.models import FamilyLink, Person


class SpendingRefused(Conflict):
    """Hours cannot be spent (given, donated or paid) as asked; the message says why."""

    template = "These hours cannot be spent."


class NotYetEligible(SpendingRefused):
    """The person's policy does not let them spend hours yet (star level, age, or the switch is off)."""

    template = "%(name)s may not spend hours yet."


class NotEnoughHours(SpendingRefused):
    """The account holds less than asked."""

    template = "%(name)s has %(available)s h of time credit available; %(required)s h are needed, %(missing)s h missing."


class NotLinked(SpendingRefused):
    """No family link between the two people."""

    template = "%(giver)s and %(receiver)s are not linked as family. Link each other on the “My family” page first."


class LinkNotConfirmed(SpendingRefused):
    """A family link that is asked for but not yet confirmed."""

    template = "The family link between %(giver)s and %(receiver)s is not confirmed yet. It works once the other side (or a coordinator) confirms it."


def hours(minutes: int) -> str:
    """Minutes as hours, as people say them: `2`, `1.5`, `0.25`."""
    text = f"{minutes / 60:.2f}".rstrip("0").rstrip(".")
    return text or "0"


def age_on(born: dt.date, day: dt.date) -> int:
    """Whole years of age on `day`."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def require_may_spend(session: Session, person: Person, policy: Mapping[str, Any], *, now: dt.datetime) -> None:
    """NotYetEligible unless the person's star level and age meet their policy's minimums to spend hours."""
    stars, age = int(policy.get("min_star_to_spend_hours") or 0), int(policy.get("min_age_to_spend_hours") or 0)
    if stars:
        level = summary(session, person.id, policy).star_level
        if level < stars:
            raise NotYetEligible(
                "%(name)s may spend hours from %(stars)d stars on, and has %(level)d so far.",
                name=person.real_name, stars=stars, level=level,
            )
    if age:
        if person.birth_date is None:
            raise NotYetEligible(
                "%(name)s may spend hours from the age of %(age)d, and no birth date is recorded to show it. A coordinator can add it.",
                name=person.real_name, age=age,
            )
        years = age_on(person.birth_date, local_day(now))
        if years < age:
            raise NotYetEligible(
                "%(name)s may spend hours from the age of %(age)d, and is %(years)d.", name=person.real_name, age=age, years=years
            )


def available_minutes(session: Session, person_id: int) -> int:
    """The person's time credit less what open holds set aside; 0 without an account."""
    try:
        return ledger.balance(session, volunteer_code(person_id, Commodity.HOUR)).available
    except ledger.UnknownAccount:
        return 0


def require_hours(session: Session, person: Person, minutes: int) -> None:
    """NotEnoughHours unless the person has `minutes` of time credit available."""
    available = available_minutes(session, person.id)
    if available < minutes:
        raise short_of_hours(person, available, minutes)


def short_of_hours(person: Person, available: int, required: int) -> NotEnoughHours:
    """The refusal naming the person's balance and the shortfall."""
    return NotEnoughHours(
        name=person.real_name, available=hours(available), required=hours(required), missing=hours(required - available)
    )


def require_family(session: Session, giver: Person, receiver: Person) -> FamilyLink:
    """The confirmed family link between two people, either direction; NotLinked or LinkNotConfirmed otherwise."""
    link = session.scalar(
        select(FamilyLink).where(
            or_(
                and_(FamilyLink.person_id == giver.id, FamilyLink.relative_id == receiver.id),
                and_(FamilyLink.person_id == receiver.id, FamilyLink.relative_id == giver.id),
            )
        )
    )
    names = {"giver": giver.real_name, "receiver": receiver.real_name}
    if link is None:
        raise NotLinked(**names)
    if link.confirmed_at is None:
        raise LinkNotConfirmed(**names)
    return link
