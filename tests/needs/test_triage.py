"""社工介入: assessing a need and each decision on it; cancelling; what the requester reads; the history."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from timebank.domain import Conflict, InvalidInput, NotAllowed, NotFound
from timebank.events.models import Activity
from timebank.needs import resources, services, triage
from timebank.needs.models import NeedEvent
from timebank.notices.models import Notice
from timebank.people.access import actor_for
from tests.conftest import NOW, send, signed_in, text
from tests.needs.needs_fixtures import PHONE, place_need, staff  # noqa: F401  (fixtures)

LATER = NOW + dt.timedelta(hours=2)


@pytest.fixture
def online_need(session, org_tree, make_person):
    """A need a signed-in resident placed for themself, and that resident."""
    person = make_person(name="赵大爷")
    need = services.record_need(session, {"description": "想学用智能手机挂号", "contact_phone": person.phone, "privacy_consent": True},
                                actor=actor_for(session, person), now=NOW)
    session.commit()
    return need, person


def _actions(session, need_id):
    return [e.action for e in session.scalars(select(NeedEvent).where(NeedEvent.need_id == need_id).order_by(NeedEvent.id))]


def test_a_new_colour_sets_a_new_deadline_and_both_are_in_the_history(session, staff, place_need):
    need = place_need(colour="blue")
    triage.assess(session, need.id, {"assessment": "独居，行动不便", "category": "elderly", "difficulty": 2, "colour": "red"}, actor=staff["social"], now=LATER)
    assert need.due_at == LATER + dt.timedelta(hours=24)
    assert (need.category, need.difficulty, need.triaged_by) == ("elderly", 2, staff["social"].id)
    assert _actions(session, need.id) == ["recorded", "colour_changed", "assessed"]


def test_only_social_workers_or_coordinators_of_the_subtree_triage(session, staff, place_need):
    need = place_need()
    with pytest.raises(NotFound):
        triage.decline(session, need.id, {"reason": "不在服务范围"}, actor=staff["west_social"], now=LATER)
    with pytest.raises(NotAllowed):
        triage.decline(session, need.id, {"reason": "不在服务范围"}, actor=staff["grid"], now=LATER)


def test_folding_into_an_existing_activity_answers_the_need(session, staff, place_need, make_activity):
    activity = make_activity(starts_at=NOW + dt.timedelta(days=2), ends_at=NOW + dt.timedelta(days=2, hours=2))
    need = place_need()
    triage.fold_into_activity(session, need.id, {"activity_id": activity.id}, actor=staff["social"], now=LATER)
    assert (need.status, need.activity_id, need.due_at) == ("in_activity", activity.id, None)
    with pytest.raises(Conflict):
        triage.decline(session, need.id, {"reason": "x"}, actor=staff["social"], now=LATER)


def test_folding_into_a_new_activity_creates_a_draft_through_the_activities_service(session, org_tree, staff, place_need):
    need = place_need(category="elderly")
    details = {"title": "集中理发日", "address": "东城社区服务中心", "starts_at": "2026-11-25T09:00", "ends_at": "2026-11-25T11:00"}
    triage.fold_into_activity(session, need.id, details, actor=staff["social"], now=LATER)
    activity = session.get(Activity, need.activity_id)
    assert (activity.title, activity.status, activity.organisation_id, activity.category) == ("集中理发日", "draft", org_tree["east"].id, "elderly")


def test_an_activity_of_another_community_is_refused(session, staff, place_need, make_activity):
    elsewhere = make_activity(org="west")
    need = place_need()
    with pytest.raises((InvalidInput, NotFound)):
        triage.fold_into_activity(session, need.id, {"activity_id": elsewhere.id}, actor=staff["social"], now=LATER)


def test_a_referral_tells_the_requester_whom_to_expect(session, org_tree, staff, online_need):
    need, person = online_need
    resource = resources.create_resource(session, {"name": "幸福家政", "kind": "merchant", "offers": "上门维修、保洁", "contact_name": "刘经理",
                                                   "contact_phone": "0398-1234567", "organisation_id": org_tree["east"].id}, actor=staff["social"], now=NOW)
    triage.refer(session, need.id, {"resource_id": resource.id}, actor=staff["social"], now=LATER)
    assert (need.status, need.resource_id, need.due_at) == ("referred", resource.id, None)
    notice = session.scalars(select(Notice).where(Notice.person_id == person.id, Notice.kind == "need_referred")).one()
    assert "幸福家政" in notice.params_json and "0398-1234567" in notice.params_json


def test_an_inactive_resource_takes_no_referral(session, org_tree, staff, place_need):
    resource = resources.create_resource(session, {"name": "爱心车队", "kind": "charity", "offers": "接送就医", "organisation_id": org_tree["east"].id}, actor=staff["social"], now=NOW)
    resources.set_resource_active(session, resource.id, False, actor=staff["social"], now=NOW)
    with pytest.raises(InvalidInput):
        triage.refer(session, place_need().id, {"resource_id": resource.id}, actor=staff["social"], now=LATER)


def test_a_decline_needs_a_reason_and_the_requester_reads_it(app, session, staff, online_need):
    need, person = online_need
    with pytest.raises(InvalidInput):
        triage.decline(session, need.id, {"reason": ""}, actor=staff["social"], now=LATER)
    triage.decline(session, need.id, {"reason": "此类服务请联系社区卫生服务站"}, actor=staff["social"], now=LATER)
    assert session.scalars(select(Notice.kind).where(Notice.person_id == person.id)).all() == ["registration_approved", "need_declined"]
    session.commit()
    page = text(signed_in(app, person).get("/needs/mine"))
    assert "此类服务请联系社区卫生服务站" in page and "想学用智能手机挂号" in page


def test_the_requester_cancels_before_service_with_a_reason(session, online_need):
    need, person = online_need
    services.cancel_need(session, need.id, {"reason": "孩子回来了，可以帮我"}, actor=actor_for(session, person), now=LATER)
    assert (need.status, need.cancel_reason, need.cancelled_at, need.due_at) == ("cancelled", "孩子回来了，可以帮我", LATER, None)
    assert _actions(session, need.id) == ["recorded", "cancelled"]
    with pytest.raises(Conflict):
        services.cancel_need(session, need.id, {"reason": "again"}, actor=actor_for(session, person), now=LATER)


def test_a_stranger_cannot_cancel_and_a_social_worker_can(session, make_person, staff, place_need):
    need = place_need()
    with pytest.raises(NotFound):
        services.cancel_need(session, need.id, {"reason": "x"}, actor=actor_for(session, make_person()), now=LATER)
    services.cancel_need(session, need.id, {"reason": "重复登记"}, actor=staff["social"], now=LATER)
    assert need.status == "cancelled"


def test_a_declined_need_cannot_be_cancelled_and_an_answered_one_is_closed_green(session, staff, place_need, make_activity):
    declined = place_need()
    triage.decline(session, declined.id, {"reason": "重复"}, actor=staff["social"], now=LATER)
    with pytest.raises(Conflict):
        services.cancel_need(session, declined.id, {"reason": "x"}, actor=staff["social"], now=LATER)
    with pytest.raises(Conflict):
        triage.close(session, declined.id, actor=staff["social"], now=LATER)
    need = place_need()
    triage.fold_into_activity(session, need.id, {"activity_id": make_activity().id}, actor=staff["social"], now=LATER)
    triage.close(session, need.id, actor=staff["social"], now=LATER)
    assert (need.status, need.colour, need.closed_at, need.due_at) == ("closed", "green", LATER, None)
    assert _actions(session, need.id) == ["recorded", "in_activity", "closed"]


def test_the_triage_page_decides_through_forms_and_shows_the_history(app, session, staff, place_need, make_person):
    need = place_need()
    social = make_person("social_worker", name="吴社工")
    session.commit()
    client = signed_in(app, social)
    page = text(client.get(f"/needs/{need.id}"))
    assert "李奶奶" in page and "帮忙买菜" in page
    refused = send(client, f"/needs/{need.id}/decline", reason="")
    assert refused.status_code == 422
    answer = send(client, f"/needs/{need.id}/decline", reason="不在服务范围")
    assert answer.status_code == 302
    page = text(client.get(f"/needs/{need.id}"))
    assert "不在服务范围" in page and "吴社工" in page
