"""Star levels (星级志愿者): the level a volunteer holds, and the date each was reached, from the ledger.

The level is read from the certified service hours (training not counted)
against the thresholds of the volunteer's policy. Each time an approval or a
correction changes those hours, `sync_star_levels` records any level newly
reached, dated by the service that carried the hours over its threshold, and
marks as lost a level a correction took away.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from timebank.certify.models import StarLevelEvent
from timebank.certify.records import Credit, credits
from timebank.ledger.rules import TRAINING
from timebank.orgs.models import Organisation
from timebank.orgs.policy import DEFAULTS
from timebank.orgs.services import effective_policy
from timebank.people.models import Person


def thresholds_minutes(policy: dict) -> list[int]:
    """The star thresholds of a policy, in minutes, lowest first."""
    return [int(hours * 60) for hours in sorted(policy.get("star_thresholds_hours") or DEFAULTS["star_thresholds_hours"])]


def person_thresholds(session: Session, person: Person) -> list[int]:
    """The star thresholds (minutes) under the policy of the volunteer's home organisation."""
    return thresholds_minutes(effective_policy(session, session.get(Organisation, person.home_organisation_id)))


def reached(found: Sequence[Credit], thresholds: Sequence[int]) -> dict[int, dt.datetime]:
    """Level -> when the service that reached it was served, for each level held now.

    A level that a correction took away and a later service won back counts
    from the later service: the date is of the last time the total rose past it.
    """
    total, dates = 0, {}
    for credit in found:
        if credit.category == TRAINING:
            continue
        before, total = total, total + credit.minutes
        for level, needed in enumerate(thresholds, start=1):
            if before < needed <= total:
                dates[level] = credit.served_at
    return {level: at for level, at in dates.items() if total >= thresholds[level - 1]}


def sync_star_levels(session: Session, person_id: int, *, now: dt.datetime) -> list[StarLevelEvent]:
    """Record levels newly reached and mark levels lost; returns the events now standing, lowest first."""
    person = session.get(Person, person_id)
    if person is None:
        return []
    held = reached(credits(session, person_id), person_thresholds(session, person))
    standing = {
        event.level: event
        for event in session.scalars(
            select(StarLevelEvent).where(StarLevelEvent.person_id == person_id, StarLevelEvent.lost_at.is_(None))
        )
    }
    for level, event in standing.items():
        if level not in held:
            event.lost_at = now
    for level, at in held.items():
        if level not in standing:
            standing[level] = StarLevelEvent(person_id=person_id, level=level, reached_at=at, recorded_at=now)
            session.add(standing[level])
    session.flush()
    return [standing[level] for level in sorted(held)]


def star_events(session: Session, person_id: int) -> list[StarLevelEvent]:
    """Every level the volunteer reached (and any lost), in the order recorded."""
    stmt = select(StarLevelEvent).where(StarLevelEvent.person_id == person_id).order_by(StarLevelEvent.level, StarLevelEvent.id)
    return list(session.scalars(stmt))
