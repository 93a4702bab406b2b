"""The grade tallies the workbench reads stay what the grade history says, through gradings and overrides (both databases)."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter

import pytest

from sqlalchemy import and_, func, select

from tests.conftest import NOW
from timebank.grading import services, tallies
from timebank.grading.models import Grade, GradeTally
from timebank.people.access import actor_for


def tallied(session) -> dict[tuple[int, str], int]:
    """The tallies as kept, rows of nobody left out."""
    return {(o, c): n for o, c, n in session.execute(select(GradeTally.organisation_id, GradeTally.colour, GradeTally.volunteers)) if n}


def from_history(session) -> dict[tuple[int, str], int]:
    """Each volunteer's newest grade row (by day, not by the flag), counted per organisation and colour."""
    newest = select(Grade.subject_id, func.max(Grade.graded_on).label("day")).where(Grade.subject_type == "volunteer").group_by(Grade.subject_id).subquery()
    rows = session.execute(
        select(Grade.organisation_id, Grade.colour)
        .join(newest, and_(Grade.subject_id == newest.c.subject_id, Grade.graded_on == newest.c.day)).where(Grade.subject_type == "volunteer")
    )
    return dict(Counter((o, c) for o, c in rows))


def test_the_tallies_follow_gradings_recolourings_and_overrides(session, records, org_tree, make_person):
    east = [records.veteran(f"东{i}") for i in range(3)]
    west = records.veteran("西", org="west")
    records.service(east[0], 100)  # yellow
    records.service(west, 10)  # blue
    services.grade_volunteers(session, now=NOW)
    assert tallied(session) == from_history(session)
    coordinator = actor_for(session, make_person("coordinator", org="street", name="协调员"))
    services.override_grade(session, "volunteer", east[0].id, "green", "已回访，下周复诊后恢复服务", actor=coordinator, now=NOW)
    assert tallied(session) == from_history(session)
    for days in (1, 2, 3):
        records.service(east[1], days)  # green from the same day's second run: today's row recoloured
    services.grade_volunteers(session, now=NOW + dt.timedelta(minutes=5))
    assert tallied(session) == from_history(session)
    records.service(east[0], 5)  # the computed colour changes: the override gives way to a new row the next day
    services.grade_volunteers(session, now=NOW + dt.timedelta(days=1))
    assert tallied(session) == from_history(session)
    services.override_grade(session, "volunteer", west.id, "red", "联系不上", actor=coordinator, now=NOW + dt.timedelta(days=1))
    services.override_grade(session, "volunteer", west.id, "blue", "已联系上", actor=coordinator, now=NOW + dt.timedelta(days=1))  # back to computed
    assert tallied(session) == from_history(session)
    assert services.current_grades(session, [org_tree["street"].id]) == {
        colour: sum(n for (_o, c), n in from_history(session).items() if c == colour) for colour in ("green", "blue", "yellow", "red")
    }


def test_rebuilding_gives_the_tallies_the_grading_kept(session, records):
    for i, days in enumerate((1, 100, 200)):
        records.service(records.veteran(f"志愿者{i}"), days)
    services.grade_volunteers(session, now=NOW)
    kept = tallied(session)
    tallies.rebuild(session)
    assert tallied(session) == kept == from_history(session)


def test_the_call_back_count_is_the_follow_up_list_counted(session, records, make_person):
    yellow, red, called = records.veteran("黄"), records.veteran("红"), records.veteran("已回访")
    records.service(yellow, 100)
    records.service(called, 100)
    services.grade_volunteers(session, now=NOW)
    worker = actor_for(session, make_person("social_worker", name="李社工"))
    services.record_follow_up(session, called.id, {"method": "phone", "outcome": "reached"}, actor=worker, now=NOW)
    listed = Counter(item.grade.colour for item in services.follow_up_list(session, worker, now=NOW))
    assert services.follow_up_counts(session, worker, now=NOW) == {"yellow": listed["yellow"], "red": listed["red"]}
    assert listed["yellow"] == 1 and red.id in {item.person.id for item in services.follow_up_list(session, worker, now=NOW)}


# PostgreSQL only: on SQLite a write transaction holds the write lock from its start, so nothing can come between.
@pytest.mark.parametrize("db", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_a_grading_run_waits_for_an_override_in_flight_so_the_tallies_never_drift(db, session, records, make_person):
    # The scenario: the nightly run reads a volunteer's row as green while a coordinator's override of the same
    # row to red is not yet committed; the run then recolours the row and both move the tallies from green.
    volunteer = records.veteran("老周")
    records.service(volunteer, 1)  # green
    services.grade_volunteers(session, now=NOW)
    coordinator = actor_for(session, make_person("coordinator", org="street", name="协调员"))
    records.service(volunteer, 100)  # the second run's figures differ: it rewrites today's row
    records.service(volunteer, 101)
    session.commit()

    services.override_grade(session, "volunteer", volunteer.id, "red", "长期未联系", actor=coordinator, now=NOW)
    finished = threading.Event()

    def nightly_run() -> None:
        with db.session() as other:
            services.grade_volunteers(other, now=NOW + dt.timedelta(minutes=5))
            other.commit()
        finished.set()

    runner = threading.Thread(target=nightly_run)
    runner.start()
    assert not finished.wait(1.0), "the run went on while the override was in flight"
    session.commit()
    runner.join(30)
    assert finished.is_set()
    session.expire_all()
    assert tallied(session) == from_history(session)
