"""Recording needs (点单): by the resident signed out or in, by family, on a resident's behalf (代点单); consent; deadlines."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from timebank.domain import InvalidInput, NotFound
from timebank.needs import services
from timebank.needs.models import Need, NeedEvent, Resident
from timebank.notices.models import Notice
from timebank.orgs.services import set_policies
from timebank.people.access import actor_for
from timebank.people.models import Person, RoleGrant
from timebank.people.services import confirm_family_link, request_family_link, revoke_role
from tests.conftest import NOW, SYSTEM

PHONE = "13700000001"
ASK = {"description": "水管漏水，需要人帮忙看看", "wanted_when": "周三上午", "contact_phone": PHONE, "privacy_consent": True}


def test_a_signed_out_resident_is_found_or_recorded_by_phone_within_the_community(session, org_tree):
    first = services.record_need(session, {**ASK, "organisation_id": org_tree["east"].id}, actor=None, now=NOW)
    again = services.record_need(session, {**ASK, "organisation_id": org_tree["east"].id, "description": "想找人陪同去医院"}, actor=None, now=NOW)
    elsewhere = services.record_need(session, {**ASK, "organisation_id": org_tree["west"].id}, actor=None, now=NOW)
    session.commit()
    assert first.resident_id == again.resident_id != elsewhere.resident_id
    resident = session.get(Resident, first.resident_id)
    assert (resident.phone, resident.person_id, resident.consent_recorded_by) == (PHONE, None, None)
    assert resident.consent_version and resident.consent_at == NOW
    assert (first.channel, first.colour, first.status, first.recorded_by) == ("online", "blue", "recorded", None)


def test_a_need_without_consent_is_refused_and_nothing_is_kept(session, org_tree):
    with pytest.raises(InvalidInput) as refused:
        services.record_need(session, {**ASK, "privacy_consent": False, "organisation_id": org_tree["east"].id}, actor=None, now=NOW)
    assert "privacy_consent" in refused.value.errors
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Resident)) == 0


def test_only_what_help_and_a_phone_are_required(session, org_tree):
    with pytest.raises(InvalidInput) as refused:
        services.record_need(session, {"privacy_consent": True, "organisation_id": org_tree["east"].id}, actor=None, now=NOW)
    assert set(refused.value.errors) == {"description", "contact_phone"}


def test_a_signed_in_person_recording_for_themself_links_their_resident_record(session, org_tree, make_person):
    person = make_person(name="赵大爷")
    # A staff member recorded them before by phone: that record is the one linked, not a second one.
    earlier = services.record_need(session, {**ASK, "contact_phone": person.phone, "organisation_id": org_tree["east"].id}, actor=None, now=NOW)
    need = services.record_need(session, {**ASK, "contact_phone": person.phone}, actor=actor_for(session, person), now=NOW)
    session.commit()
    assert need.resident_id == earlier.resident_id
    assert session.get(Resident, need.resident_id).person_id == person.id
    assert need.recorded_by == person.id and services.my_needs(session, actor_for(session, person), now=NOW) == [need, earlier]


def test_family_places_a_need_for_a_relative_only_along_a_confirmed_link(session, org_tree, make_person):
    child, parent = make_person(name="王小明"), make_person(name="王奶奶")
    link = request_family_link(session, child.id, parent.phone, "parent", actor=actor_for(session, child), now=NOW)
    data = {**ASK, "relative_id": parent.id}
    with pytest.raises(InvalidInput) as refused:
        services.record_need(session, data, actor=actor_for(session, child), now=NOW)
    assert "relative_id" in refused.value.errors
    confirm_family_link(session, link.id, actor=actor_for(session, parent), now=NOW)
    need = services.record_need(session, data, actor=actor_for(session, child), now=NOW)
    session.commit()
    assert session.get(Resident, need.resident_id).person_id == parent.id
    assert need.recorded_by == child.id
    assert services.my_needs(session, actor_for(session, child), now=NOW) == [need] == services.my_needs(session, actor_for(session, parent), now=NOW)


def test_a_grid_worker_records_on_a_residents_behalf_and_a_red_need_tells_the_communitys_social_workers(session, org_tree, staff, place_need):
    need = place_need(colour="red", channel=None)
    assert (need.channel, need.recorded_by, need.colour) == ("grid", staff["grid"].id, "red")
    resident = session.get(Resident, need.resident_id)
    assert resident.real_name == "李奶奶" and resident.consent_recorded_by == staff["grid"].id
    told = set(session.scalars(select(Notice.person_id).where(Notice.kind == "need_urgent")))
    assert staff["social"].id in told and staff["west_social"].id not in told


def test_a_grid_worker_speaks_for_the_needs_they_recorded_only_while_they_are_staff_there(session, org_tree, staff, place_need, make_person):
    need = place_need(colour="red")  # more pressing than any need of their own: first in their list
    assert services.my_needs(session, staff["grid"], now=NOW) == [need]
    assert services.visible_need(session, need.id, actor=staff["grid"]) == need
    grant = session.scalar(select(RoleGrant).where(RoleGrant.person_id == staff["grid"].id, RoleGrant.role == "grid_worker"))
    revoke_role(session, grant.id, actor=actor_for(session, make_person("coordinator", name="陈协调")), now=NOW)
    session.commit()
    former = actor_for(session, session.get(Person, staff["grid"].id))
    assert services.my_needs(session, former, now=NOW) == []
    # Their own need as a resident still shows, however many they recorded for others before it.
    own = services.record_need(session, {**ASK, "contact_phone": session.get(Person, former.id).phone}, actor=former, now=NOW)
    session.commit()
    assert services.my_needs(session, former, now=NOW, limit=1) == [own]
    with pytest.raises(NotFound):
        services.visible_need(session, need.id, actor=former)
    assert not services.may_cancel(need, former)


def test_staff_record_only_within_their_subtree(session, org_tree, staff):
    with pytest.raises(NotFound):
        services.record_need(session, {**ASK, "real_name": "李奶奶", "organisation_id": org_tree["west"].id, "channel": "hotline"}, actor=staff["grid"], now=NOW)


def test_a_social_worker_records_for_a_known_resident_by_hotline(session, staff, place_need):
    first = place_need()
    need = services.record_need(session, {**ASK, "resident_id": first.resident_id, "channel": "hotline"}, actor=staff["social"], now=NOW)
    assert (need.resident_id, need.channel) == (first.resident_id, "hotline")
    outsider = services.record_need
    with pytest.raises(InvalidInput):
        outsider(session, {**ASK, "resident_id": first.resident_id, "channel": "hotline"}, actor=staff["west_social"], now=NOW)


def test_each_colour_has_its_deadline_in_hours_or_working_days(session, staff, place_need):
    friday = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.timezone.utc)  # Friday 10:00 in Shanghai
    red, yellow, blue = (place_need(colour=c, at=friday) for c in ("red", "yellow", "blue"))
    assert red.due_at == friday + dt.timedelta(hours=24)
    assert yellow.due_at == dt.datetime(2026, 11, 27, 2, 0, tzinfo=dt.timezone.utc)  # five working days: the next Friday
    assert blue.due_at == dt.datetime(2026, 12, 4, 2, 0, tzinfo=dt.timezone.utc)  # ten working days


def test_a_policy_override_changes_the_deadline(session, org_tree, staff, place_need):
    set_policies(session, org_tree["east"].id, {"need_blue_response_working_days": 3, "need_red_response_hours": 4}, actor=SYSTEM, now=NOW)
    session.commit()
    assert place_need(colour="blue").due_at == dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.timezone.utc)  # Fri + 3 working days: Wed
    assert place_need(colour="red").due_at == NOW + dt.timedelta(hours=4)


def test_recording_leaves_a_dated_attributed_history_row(session, staff, place_need):
    need = place_need()
    rows = session.scalars(select(NeedEvent).where(NeedEvent.need_id == need.id)).all()
    assert [(e.action, e.actor_id, e.at) for e in rows] == [("recorded", staff["grid"].id, NOW)]
    assert session.get(Need, need.id).due_at is not None


def test_the_ask_for_help_page_works_signed_out_and_says_who_will_call(client, session, org_tree):
    from tests.conftest import send, text

    page = text(client.get("/needs/new"))
    assert "东城社区" in page and 'name="privacy_consent"' in page and "个人信息处理告知" in page
    refused = send(client, "/needs/new", description="想请人帮忙换灯泡", contact_phone=PHONE, organisation_id=org_tree["east"].id)
    assert refused.status_code == 422 and "请同意个人信息处理告知" in text(refused)
    answer = send(client, "/needs/new", description="想请人帮忙换灯泡", contact_phone=PHONE, organisation_id=org_tree["east"].id, privacy_consent="1")
    assert answer.status_code == 200 and "东城社区" in text(answer) and PHONE in text(answer)
    assert session.scalar(select(func.count()).select_from(Need)) == 1


def test_a_grid_worker_records_through_the_page_and_lands_on_the_need(app, session, org_tree, make_person):
    from tests.conftest import send, signed_in

    worker = make_person("grid_worker", name="网格员小王")
    client = signed_in(app, worker)
    answer = send(client, "/needs/new", description="独居老人家中断电", contact_phone=PHONE, organisation_id=org_tree["east"].id,
                  real_name="钱爷爷", channel="grid", colour="red", privacy_consent="1")
    assert answer.status_code == 302 and "/needs/" in answer.location
    need = session.scalars(select(Need)).one()
    assert (need.channel, need.colour, need.recorded_by) == ("grid", "red", worker.id)
