"""The 社工督导指数: each indicator at its boundary, weights renormalised over those with data, who sees whose index."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from tests.conftest import NOW
from timebank.certify.models import ContinuingEducation
from timebank.domain import NotAllowed, OutOfReach
from timebank.events.credit import add_working_days
from timebank.events.models import CorrectionRequest
from timebank.grading import index, services
from timebank.grading.index import Month
from timebank.grading.models import SupervisionSession
from timebank.localtime import LOCAL_TZ, local, local_day
from timebank.needs.models import Need
from timebank.people.access import actor_for

NOVEMBER = dt.date(2026, 11, 1)


@pytest.fixture
def worker(make_person):
    return make_person("social_worker", name="李社工")


def computed(session, worker):
    found = index.monthly_index(session, worker.id, NOVEMBER, now=NOW)
    return found, json.loads(found.indicators_json)


def only(indicators, name):
    """The indicator's entry, after checking every other one was left out."""
    assert all(v["score"] is None for k, v in indicators.items() if k not in (name, "supervision", "education")), indicators
    return indicators[name]


@pytest.mark.parametrize(("extra_days", "score"), [(0, 100), (1, 0)])
def test_approvals_count_as_on_time_up_to_the_tenth_working_day(session, records, worker, extra_days, score):
    attendance = records.service(records.veteran(), 30)
    due = add_working_days(local_day(attendance.checked_in_at), 10)
    attendance.decided_by = worker.id
    attendance.decided_at = dt.datetime.combine(due + dt.timedelta(days=extra_days), dt.time(15), dt.timezone.utc) - dt.timedelta(hours=8)
    assert local_day(attendance.decided_at).month == 11
    _found, indicators = computed(session, worker)
    entry = only(indicators, "approvals")
    assert entry["score"] == score
    assert ("每次审核都在期限内" in entry["text"]) == (score == 100)


@pytest.mark.parametrize(("working_days", "score"), [(5, 100), (6, 0)])
def test_correction_requests_answered_within_five_working_days_are_on_time(session, records, worker, working_days, score):
    attendance = records.service(records.veteran(), 30)
    created = NOW - dt.timedelta(days=15)
    answered_day = add_working_days(local_day(created), working_days)
    session.add(CorrectionRequest(attendance_id=attendance.id, volunteer_id=attendance.volunteer_id, message="时长不对", status="accepted",
                                  created_at=created, answered_by=worker.id, answered_at=services.day_start(answered_day) + dt.timedelta(hours=9)))
    session.flush()
    assert only(computed(session, worker)[1], "corrections")["score"] == score


@pytest.mark.parametrize(("minutes", "score"), [(24 * 60, 100), (24 * 60 + 1, 0)])
def test_a_red_need_is_triaged_in_time_within_24_hours(session, records, worker, minutes, score):
    order = records.order(12)
    need = session.get(Need, order.need_id)
    need.colour, need.triaged_by, need.triaged_at = "red", worker.id, need.recorded_at + dt.timedelta(minutes=minutes)
    session.flush()
    entry = only(computed(session, worker)[1], "needs")
    assert entry["score"] == score
    assert entry["figure"] == f"{score // 100} / 1 条需求在时限内研判"


@pytest.mark.parametrize(("late", "score"), [(dt.timedelta(0), 100), (dt.timedelta(minutes=1), 0)])
def test_a_yellow_need_has_five_working_days_to_the_same_time(session, records, worker, late, score):
    need = session.get(Need, records.order(15).need_id)
    due = add_working_days(local_day(need.recorded_at), 5)
    at = dt.datetime.combine(due, local(need.recorded_at).time(), LOCAL_TZ) + late
    need.colour, need.triaged_by, need.triaged_at = "yellow", worker.id, at.astimezone(dt.timezone.utc)
    session.flush()
    assert only(computed(session, worker)[1], "needs")["score"] == score


@pytest.mark.parametrize(("held", "score"), [(0, 0), (1, 50), (2, 100), (3, 100)])
def test_supervision_sessions_count_against_the_monthly_target(session, org_tree, worker, held, score):
    for n in range(held):
        session.add(SupervisionSession(social_worker_id=worker.id, organisation_id=org_tree["east"].id, held_at=NOW - dt.timedelta(days=n),
                                       minutes=60, topic="督导", created_at=NOW, created_by=worker.id))
    session.flush()
    assert computed(session, worker)[1]["supervision"]["score"] == score


def test_ratings_of_the_services_dispatched_score_their_average(session, records, worker):
    volunteer = records.veteran()
    records.rating(volunteer, 3, created_by=worker.id)
    records.rating(volunteer, 2, created_by=worker.id)
    records.rating(volunteer, 5)  # another's dispatch
    entry = only(computed(session, worker)[1], "ratings")
    assert (entry["score"], entry["figure"]) == (38, "2 次评价平均 2.50 星")


def test_the_share_of_green_volunteers_in_the_subtree(session, records, worker):
    green = records.veteran("绿")
    for days in (1, 2, 3):
        records.service(green, days)
    records.veteran("新", days=10)  # blue: new
    services.grade_volunteers(session, now=NOW)
    entry = only(computed(session, worker)[1], "green")
    assert entry["figure"] == "2 名志愿者中 1 名为绿色"
    assert entry["score"] == 50


def test_continuing_education_progress_against_the_period_requirement(session, worker):
    session.add(ContinuingEducation(person_id=worker.id, title="伦理", organiser="民政局", minutes=45 * 60, taken_on=dt.date(2026, 6, 1),
                                    recorded_by=worker.id, recorded_at=NOW))
    session.flush()
    assert computed(session, worker)[1]["education"]["score"] == 50


def test_indicators_without_data_are_left_out_and_the_weights_renormalised(session, worker):
    found, indicators = computed(session, worker)
    assert indicators["approvals"] == {"figure": None, "score": None, "weight": 0, "text": "本月无数据，未计入，其余权重按比例放大。"}
    assert indicators["supervision"]["weight"] == pytest.approx(15 / 25, abs=1e-4)
    assert indicators["education"]["weight"] == pytest.approx(10 / 25, abs=1e-4)
    assert found.score == 0


def test_the_index_is_stored_once_per_month_and_recomputed_in_place(session, org_tree, worker):
    first = index.monthly_index(session, worker.id, NOVEMBER, now=NOW)
    session.add(SupervisionSession(social_worker_id=worker.id, organisation_id=org_tree["east"].id, held_at=NOW, minutes=60, topic="督导",
                                   created_at=NOW, created_by=worker.id))
    session.flush()
    again = index.monthly_index(session, worker.id, dt.date(2026, 11, 20), now=NOW)
    assert again.id == first.id and again.score == round(0.6 * 50)
    assert [i.month for i in index.index_history(session, worker.id)] == [NOVEMBER]


def test_months_step_back_across_the_year():
    assert Month.of(dt.date(2026, 2, 14)).back(3).first == dt.date(2025, 11, 1)
    assert Month(NOVEMBER).last == dt.date(2026, 11, 30)


def test_a_social_worker_sees_only_their_own_index_and_a_coordinator_those_below(session, make_person, worker):
    other = make_person("social_worker", name="赵社工")
    me = actor_for(session, worker)
    assert index.visible_social_worker(session, worker.id, actor=me) == worker
    with pytest.raises(OutOfReach):
        index.visible_social_worker(session, other.id, actor=me)
    volunteer = actor_for(session, make_person(name="志愿者"))
    with pytest.raises(NotAllowed):
        index.visible_social_worker(session, worker.id, actor=volunteer)
    coordinator = actor_for(session, make_person("coordinator", org="street", name="街道协调员"))
    assert {p.id for p in index.social_workers(session, actor=coordinator)} >= {worker.id, other.id}
    elsewhere = actor_for(session, make_person("coordinator", org="west", name="西协调员"))
    with pytest.raises(OutOfReach):
        index.visible_social_worker(session, worker.id, actor=elsewhere)
    assert [p.id for p in index.social_workers(session, actor=me)] == [worker.id]
