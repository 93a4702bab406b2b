"""The grading run over the records: each signal counted at its boundary, idempotent, overrides, follow-ups (both databases)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from tests.conftest import NOW
from timebank.audit.models import AuditEntry
from timebank.domain import NotAllowed, OutOfReach
from timebank.grading import services
from timebank.grading.models import Grade
from timebank.people.access import actor_for


def graded(session, person):
    services.grade_volunteers(session, now=NOW)
    return services.grade_of(session, person.id)


@pytest.mark.parametrize(("days_ago", "colour"), [(89, "blue"), (90, "blue"), (91, "yellow"), (181, "red")])
def test_the_last_service_days_ago_sets_the_colour(session, records, days_ago, colour):
    person = records.veteran()
    records.service(person, days_ago)
    grade = graded(session, person)
    assert grade.colour == grade.computed_colour == colour
    assert json.loads(grade.figures_json)["idle_days"] == days_ago


def test_a_new_volunteer_is_not_yellow_for_not_having_served_yet(session, records):
    assert graded(session, records.veteran(days=60)).colour == "blue"
    assert graded(session, records.veteran("老王", days=91)).colour == "yellow"


def test_three_recent_services_are_green_and_training_does_not_count(session, records):
    person = records.veteran()
    for days in (1, 20, 40):
        records.service(person, days)
    records.service(person, 2, category="training")
    grade = graded(session, person)
    assert grade.colour == "green"
    assert grade.explanation == "90 天内服务 3 次"


def test_a_rejected_attendance_is_no_service(session, records):
    person = records.veteran()
    records.service(person, 5, status="rejected")
    assert graded(session, person).colour == "red"


@pytest.mark.parametrize(("no_shows", "colour"), [(1, "green"), (2, "yellow")])
def test_signing_up_and_not_coming_is_a_no_show(session, records, no_shows, colour):
    person = records.veteran()
    for days in (1, 2, 3):
        records.service(person, days)
    for days in range(no_shows):
        records.no_show(person, 10 + days)
    grade = graded(session, person)
    assert grade.colour == colour
    assert f"爽约 {no_shows} 次" in grade.explanation


@pytest.mark.parametrize(("hours_before", "counted"), [(25, 0), (23, 1)])
def test_a_cancellation_later_than_24_hours_before_counts_as_a_no_show(session, records, hours_before, counted):
    person = records.veteran()
    records.service(person, 1)
    records.cancelled(person, 10, hours_before)
    assert json.loads(graded(session, person).figures_json)["no_shows"] == counted


def test_five_no_shows_in_a_year_with_order_no_shows_are_red(session, records):
    person = records.veteran()
    records.service(person, 1)
    for days in (100, 150, 200):
        records.no_show(person, days)
    records.assignment(person, 250, status="no_show")
    grade = graded(session, person)
    assert json.loads(grade.figures_json)["no_shows_year"] == 4
    assert grade.colour == "blue"
    records.assignment(person, 300, status="no_show")
    assert graded(session, person).colour == "red"


@pytest.mark.parametrize(("stars", "colour"), [((3, 2), "yellow"), ((3, 3), "green")])
def test_an_average_rating_below_three_is_yellow(session, records, stars, colour):
    person = records.veteran()
    for days in (1, 2, 3):
        records.service(person, days)
    for s in stars:
        records.rating(person, s)
    grade = graded(session, person)
    assert grade.colour == colour
    assert "平均评分" in grade.explanation


def test_an_upheld_complaint_is_yellow(session, records):
    person = records.veteran()
    for days in (1, 2, 3):
        records.service(person, days)
    records.rating(person, 4, upheld=True)
    assert graded(session, person).colour == "yellow"


def test_the_home_policy_grades_each_volunteer(session, records, org_tree):
    from timebank.orgs.services import set_policies
    from timebank.ledger.models import SYSTEM_ACTOR
    from timebank.people.access import Actor, Grant
    admin = Actor(SYSTEM_ACTOR, (Grant("admin", org_tree["county"].id, org_tree["county"].path),))
    set_policies(session, org_tree["west"].id, {"grade_yellow_idle_days": 30}, actor=admin, now=NOW)
    east, west = records.veteran("东"), records.veteran("西", org="west")
    records.service(east, 40)
    records.service(west, 40)
    services.grade_volunteers(session, now=NOW)
    assert services.grade_of(session, east.id).colour == "blue"
    assert services.grade_of(session, west.id).colour == "yellow"


def test_running_twice_leaves_the_same_rows(session, records):
    person = records.veteran()
    records.service(person, 100)
    first = services.grade_volunteers(session, now=NOW)
    rows = session.execute(select(Grade.id, Grade.colour, Grade.figures_json, Grade.graded_on)).all()
    second = services.grade_volunteers(session, now=NOW + dt.timedelta(hours=1))
    assert first == second
    assert session.execute(select(Grade.id, Grade.colour, Grade.figures_json, Grade.graded_on)).all() == rows


def test_a_new_row_starts_only_when_the_colour_changes(session, records):
    person = records.veteran()
    records.service(person, 80)
    services.grade_volunteers(session, now=NOW)
    services.grade_volunteers(session, now=NOW + dt.timedelta(days=5))  # idle 85: still blue, figures refreshed
    assert [g.colour for g in services.history(session, person.id)] == ["blue"]
    assert json.loads(services.grade_of(session, person.id).figures_json)["idle_days"] == 85
    services.grade_volunteers(session, now=NOW + dt.timedelta(days=11))  # idle 91: yellow from that day
    found = services.history(session, person.id)
    assert [(g.colour, g.graded_on) for g in found] == [("yellow", dt.date(2026, 12, 1)), ("blue", dt.date(2026, 11, 20))]


def test_teams_are_graded_from_their_members(session, records, org_tree):
    members = [records.veteran(f"队员{i}", org="east_team") for i in range(3)]
    for person in members[:2]:
        for days in (1, 2, 3):
            records.service(person, days)
    counts = services.grade_volunteers(session, organisation=org_tree["east"], now=NOW)
    assert counts["green"] == 2
    team = services.grade_of(session, org_tree["east_team"].id, subject_type="team")
    assert team.colour == "green"
    assert team.explanation == "成员 3 人：绿色 2、蓝色 0、黄色 0、红色 1"


def test_current_grades_count_the_subtree(session, records, org_tree):
    records.veteran("东")
    records.veteran("西", org="west")
    services.grade_volunteers(session, now=NOW)
    east = services.current_grades(session, [org_tree["east"].id])
    assert east == {"green": 0, "blue": 0, "yellow": 0, "red": 1}  # the activities' leader, a social worker, is not graded
    assert services.current_grades(session, [org_tree["west"].id]) == {"green": 0, "blue": 0, "yellow": 0, "red": 1}
    assert services.current_grades(session, [org_tree["street"].id])["red"] == 2


def test_an_override_is_audited_and_stands_until_the_computed_colour_changes(session, records, make_person):
    person = records.veteran()
    records.service(person, 100)
    services.grade_volunteers(session, now=NOW)
    coordinator = actor_for(session, make_person("coordinator", name="协调员"))
    grade = services.override_grade(session, "volunteer", person.id, "blue", "住院中，已电话回访", actor=coordinator, now=NOW)
    assert (grade.colour, grade.computed_colour, grade.overridden_by) == ("blue", "yellow", coordinator.id)
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "override_grade"))
    assert json.loads(entry.changes)["colour"] == ["yellow", "blue"]
    services.grade_volunteers(session, now=NOW + dt.timedelta(days=1))  # still yellow computed: the override stands
    assert services.grade_of(session, person.id).colour == "blue"
    services.grade_volunteers(session, now=NOW + dt.timedelta(days=81))  # 181 days: red, the override is gone
    current = services.grade_of(session, person.id)
    assert (current.colour, current.overridden_by) == ("red", None)


def test_only_a_coordinator_over_the_volunteer_overrides(session, records, make_person):
    person = records.veteran()
    services.grade_volunteers(session, now=NOW)
    worker = actor_for(session, make_person("social_worker", name="社工"))
    with pytest.raises(NotAllowed):
        services.override_grade(session, "volunteer", person.id, "green", "理由", actor=worker, now=NOW)
    elsewhere = actor_for(session, make_person("coordinator", org="west", name="西协调员"))
    with pytest.raises(OutOfReach):
        services.override_grade(session, "volunteer", person.id, "green", "理由", actor=elsewhere, now=NOW)


def test_the_follow_up_list_holds_yellow_and_red_oldest_first_until_called(session, records, make_person):
    red, yellow, green = records.veteran("红"), records.veteran("黄"), records.veteran("绿")
    records.service(yellow, 100)
    for days in (1, 2, 3):
        records.service(green, days)
    services.grade_volunteers(session, now=NOW - dt.timedelta(days=3))
    records.service(red, 1)  # red was blue three days ago...
    session.flush()
    worker = actor_for(session, make_person("social_worker", name="社工"))
    listed = services.follow_up_list(session, worker, now=NOW)
    assert [item.person.id for item in listed] == [red.id, yellow.id]
    services.record_follow_up(session, red.id, {"method": "phone", "outcome": "will_return", "notes": "下周来"}, actor=worker, now=NOW)
    assert [item.person.id for item in services.follow_up_list(session, worker, now=NOW)] == [yellow.id]
    elsewhere = actor_for(session, make_person("social_worker", org="west", name="西社工"))
    assert services.follow_up_list(session, elsewhere, now=NOW) == []


def test_staff_are_not_graded_as_volunteers(session, records, make_person):
    worker, volunteer = make_person("social_worker", name="社工"), records.veteran()
    services.grade_volunteers(session, now=NOW)
    assert services.grade_of(session, worker.id) is None
    assert services.grade_of(session, volunteer.id) is not None


def test_grading_counts_each_subject_once_per_day(session, records):
    records.veteran()
    services.grade_volunteers(session, now=NOW)
    services.grade_volunteers(session, now=NOW + dt.timedelta(minutes=5))
    assert session.scalar(select(func.count()).select_from(Grade).where(Grade.subject_type == "volunteer")) == len(
        set(session.scalars(select(Grade.subject_id).where(Grade.subject_type == "volunteer")))
    )
