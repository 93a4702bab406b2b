"""On the demo, the figures read from the roll-up are those summed afresh from the attendances and grade history."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from sqlalchemy import and_, func, select

from timebank.events.models import Activity, Attendance
from timebank.grading.models import Grade
from timebank.grading.services import follow_up_list
from timebank.localtime import local_day
from timebank.orgs.models import Organisation
from timebank.people.access import Actor, Grant
from timebank.people.models import Person
from timebank.workbench import programme as figures, services
from tests.conftest import NOW


@pytest.fixture
def db(demo_db):
    """A copy of the shared demo of this test's own."""
    return demo_db[0]


def hours_from_attendances(session, scope) -> dict[str, dict[str, int]]:
    """Approved credited minutes per local month and category, summed over every attendance."""
    since, until = scope.bounds
    found: dict[str, dict[str, int]] = {m: {} for m in scope.months}
    rows = session.execute(
        select(Activity.starts_at, Activity.category, Attendance.credited_minutes)
        .join(Attendance, and_(Attendance.activity_id == Activity.id, Attendance.status == "approved"))
        .join(Organisation, Organisation.id == Activity.organisation_id)
        .where(scope.below(Organisation.path), Activity.starts_at >= since, Activity.starts_at < until)
    )
    for starts_at, category, minutes in rows:
        month = found.setdefault(f"{local_day(starts_at):%Y-%m}", {})
        month[category] = month.get(category, 0) + (minutes or 0)
    return found


def active_from_attendances(session, scope) -> int:
    """Volunteers homed in the scope with an approved check-in in the range, counted from the attendances."""
    since, until = scope.bounds
    return session.scalar(
        select(func.count(func.distinct(Attendance.volunteer_id)))
        .join(Person, Person.id == Attendance.volunteer_id).join(Organisation, Organisation.id == Person.home_organisation_id)
        .where(scope.below(Organisation.path), Attendance.status == "approved", Attendance.checked_in_at >= since, Attendance.checked_in_at < until)
    )


def grades_from_history(session, scope) -> dict[str, int]:
    """Each volunteer's newest grade row, counted by colour."""
    newest = select(Grade.subject_id, func.max(Grade.graded_on).label("day")).where(Grade.subject_type == "volunteer").group_by(Grade.subject_id).subquery()
    colours = session.execute(
        select(Grade.colour).join(newest, and_(Grade.subject_id == newest.c.subject_id, Grade.graded_on == newest.c.day))
        .join(Organisation, Organisation.id == Grade.organisation_id).where(Grade.subject_type == "volunteer", scope.below(Organisation.path))
    ).scalars()
    return {"green": 0, "blue": 0, "yellow": 0, "red": 0} | dict(Counter(colours))


def test_the_demo_workbench_shows_what_the_attendances_and_grades_say_for_any_range(session):
    roots = session.scalars(select(Organisation).where(Organisation.parent_id.is_(None))).all()
    coordinator = Actor(0, tuple(Grant("coordinator", o.id, o.path) for o in roots))
    today = local_day(NOW)
    ranges = [
        {},  # the default: the last twelve months, to today
        {"start": today - dt.timedelta(days=20), "end": today - dt.timedelta(days=6)},  # in the past, mid-month to mid-month
        {"start": today - dt.timedelta(days=3), "end": today - dt.timedelta(days=3)},  # one day
    ]
    for chosen in ranges:
        scope = figures.programme_scope(session, actor=coordinator, now=NOW, **chosen)
        assert figures.hours_by_month(session, scope) == hours_from_attendances(session, scope), chosen
        assert figures.active_volunteers(session, scope) == active_from_attendances(session, scope), chosen
    scope = figures.programme_scope(session, actor=coordinator, now=NOW)
    assert sum(sum(m.values()) for m in figures.hours_by_month(session, scope).values()) > 0
    assert figures.grade_distribution(session, scope) == grades_from_history(session, scope)
    listed = Counter(item.grade.colour for item in follow_up_list(session, coordinator, now=NOW))
    assert services.flagged_volunteers(session, actor=coordinator, now=NOW) == {"yellow": listed["yellow"], "red": listed["red"]}
