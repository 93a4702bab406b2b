"""Social workers' own continuing education: training hours against the requirement of each registration period.

The requirement (hours, over how many years) is a policy of the social
worker's organisation; the period is the years up to today.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from timebank.audit.services import record
from timebank.certify.models import ContinuingEducation
from timebank.certify.schemas import TrainingSchema
from timebank.domain import InvalidInput
from timebank.localtime import local_day
from timebank.orgs.models import Organisation
from timebank.orgs.services import effective_policy, get_organisation
from timebank.people.access import MANAGERS, Actor
from timebank.people.models import Person, Role, RoleGrant
from timebank.people.services import get_person, load


@dataclass(frozen=True)
class Standing:
    """A social worker's training in the current period against what the policy asks."""

    person: Person
    level: str | None
    minutes: int
    required_minutes: int
    since: dt.date

    @property
    def short_minutes(self) -> int:
        return max(0, self.required_minutes - self.minutes)

    @property
    def short(self) -> bool:
        return self.short_minutes > 0


def _social_worker_grant(session: Session, person_id: int) -> RoleGrant | None:
    return session.scalar(
        select(RoleGrant).where(RoleGrant.person_id == person_id, RoleGrant.role == Role.SOCIAL_WORKER.value, RoleGrant.revoked_at.is_(None)).limit(1)
    )


def record_training(session: Session, data: Mapping[str, Any], *, actor: Actor, now: dt.datetime) -> ContinuingEducation:
    """A coordinator records a training a social worker of their organisation took."""
    values = load(TrainingSchema(), data)
    person = get_person(session, values["person_id"])
    actor.require(MANAGERS, get_organisation(session, person.home_organisation_id))
    if _social_worker_grant(session, person.id) is None:
        raise InvalidInput(errors={"person_id": ["Choose a social worker."]})
    if values["taken_on"] > local_day(now):
        raise InvalidInput(errors={"taken_on": ["The training cannot be in the future."]})
    entry = ContinuingEducation(
        person_id=person.id, title=values["title"], organiser=values["organiser"], minutes=round(values["hours"] * 60),
        taken_on=values["taken_on"], recorded_by=actor.id, recorded_at=now,
    )
    session.add(entry)
    session.flush()
    record(session, actor=actor.id, action="record_continuing_education", target=("person", person.id), changes={"minutes": [None, entry.minutes]}, now=now)
    return entry


def period_start(today: dt.date, years: int) -> dt.date:
    """The first day of the registration period that ends today."""
    try:
        return today.replace(year=today.year - years) + dt.timedelta(days=1)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28) + dt.timedelta(days=1)


def trained_minutes(session: Session, person_id: int, since: dt.date, until: dt.date) -> int:
    """A social worker's continuing-education minutes taken from `since` to `until` (inclusive)."""
    return int(session.scalar(
        select(func.coalesce(func.sum(ContinuingEducation.minutes), 0)).where(
            ContinuingEducation.person_id == person_id, ContinuingEducation.taken_on >= since, ContinuingEducation.taken_on <= until
        )
    ) or 0)


def standings(session: Session, *, actor: Actor, now: dt.datetime) -> list[Standing]:
    """Every social worker in the actor's subtrees, those short of the requirement first."""
    paths = actor.paths(MANAGERS)
    if not paths:
        return []
    grants = session.execute(
        select(RoleGrant.person_id, RoleGrant.certificate_level)
        .join(Person, Person.id == RoleGrant.person_id)
        .join(Organisation, Organisation.id == Person.home_organisation_id)
        .where(RoleGrant.role == Role.SOCIAL_WORKER.value, RoleGrant.revoked_at.is_(None), or_(*[Organisation.path.startswith(p) for p in paths]))
    ).all()
    levels: dict[int, str | None] = {}
    for person_id, level in grants:
        levels.setdefault(person_id, level)
    today = local_day(now)
    found = []
    policies: dict[int, dict[str, Any]] = {}
    for person in session.scalars(select(Person).where(Person.id.in_(levels)).order_by(Person.real_name, Person.id)):
        if person.home_organisation_id not in policies:
            policies[person.home_organisation_id] = effective_policy(session, get_organisation(session, person.home_organisation_id))
        policy = policies[person.home_organisation_id]
        since = period_start(today, int(policy["continuing_education_period_years"]))
        minutes = trained_minutes(session, person.id, since, today)
        found.append(Standing(person, levels[person.id], minutes, int(policy["continuing_education_hours"] * 60), since))
    return sorted(found, key=lambda s: (not s.short, s.person.real_name))


def trainings_of(session: Session, person_id: int, *, limit: int = 50) -> list[ContinuingEducation]:
    """A social worker's recorded trainings, newest first."""
    stmt = select(ContinuingEducation).where(ContinuingEducation.person_id == person_id).order_by(ContinuingEducation.taken_on.desc()).limit(limit)
    return list(session.scalars(stmt))
