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
from timebank.redeem.models import Redemption, Station
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


def people_from_rows(session, scope) -> tuple[int, dict[str, int]]:
    """Active people homed in the scope, and those approved in each local month of the range, read row by row."""
    since, until = scope.bounds
    rows = session.execute(
        select(Person.approved_at).join(Organisation, Organisation.id == Person.home_organisation_id)
        .where(scope.below(Organisation.path), Person.status == "active")
    ).scalars().all()
    months = Counter(f"{local_day(at):%Y-%m}" for at in rows if at is not None and since <= at < until)
    return len(rows), {m: months.get(m, 0) for m in scope.months}


def redemptions_from_rows(session, scope) -> dict[str, tuple[int, int]]:
    """Completed redemptions at the scope's stations per local month of the range, read row by row."""
    since, until = scope.bounds
    found = {m: [0, 0] for m in scope.months}
    rows = session.execute(
        select(Redemption.created_at, Redemption.points).join(Station, Station.id == Redemption.station_id)
        .join(Organisation, Organisation.id == Station.organisation_id)
        .where(scope.below(Organisation.path), Redemption.status == "completed", Redemption.created_at >= since, Redemption.created_at < until)
    )
    for at, points in rows:
        found[f"{local_day(at):%Y-%m}"][0] += 1
        found[f"{local_day(at):%Y-%m}"][1] += points
    return {m: (count, points) for m, (count, points) in found.items()}


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
        assert figures.volunteer_counts(session, scope) == people_from_rows(session, scope), chosen
        assert figures.redemptions_by_month(session, scope) == redemptions_from_rows(session, scope), chosen
    scope = figures.programme_scope(session, actor=coordinator, now=NOW)
    assert sum(sum(m.values()) for m in figures.hours_by_month(session, scope).values()) > 0
    assert figures.grade_distribution(session, scope) == grades_from_history(session, scope)
    listed = Counter(item.grade.colour for item in follow_up_list(session, coordinator, now=NOW))
    assert services.flagged_volunteers(session, actor=coordinator, now=NOW) == {"yellow": listed["yellow"], "red": listed["red"]}
