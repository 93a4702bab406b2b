"""The `volunteer_categories` index kept in step with people: whoever writes a person's categories, home or sign-in calls it.

Dispatch suggestions read it to walk "who offers this category under this
community, most recently active first" without reading the street's every
person (see `needs.suggestions`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from timebank.orgs.models import Organisation
from timebank.people.models import ANY_CATEGORY, NEVER_ACTIVE, Person, VolunteerCategory

CHUNK = 500


def index_people(session: Session, person_ids: Iterable[int]) -> None:
    """Rewrite these people's rows from their record as it stands: each category (and "any") under their home and every organisation above."""
    table = VolunteerCategory.__table__
    ids = sorted(set(person_ids))
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        session.execute(delete(table).where(table.c.person_id.in_(chunk)))
        people = session.execute(
            select(Person.id, Person.service_categories, Person.last_sign_in_at, Organisation.path)
            .join(Organisation, Organisation.id == Person.home_organisation_id).where(Person.id.in_(chunk))
        )
        rows = [
            {"person_id": person_id, "category": category, "organisation_id": int(organisation_id), "active_at": seen or NEVER_ACTIVE}
            for person_id, categories, seen, path in people
            for category in dict.fromkeys([ANY_CATEGORY, *(c for c in (categories or "").split(",") if c)])
            for organisation_id in path.strip("/").split("/")
        ]
        if rows:
            session.execute(insert(table), rows)


def mark_active(session: Session, person_id: int, *, at: dt.datetime) -> None:
    """The person was active at `at` (signed in): their rows move to the front of every walk."""
    table = VolunteerCategory.__table__
    session.execute(update(table).where(table.c.person_id == person_id).values(active_at=at))
