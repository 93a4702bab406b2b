"""Residents: who reads an address (can_see_address), and staff recording and editing residents."""

from __future__ import annotations

import datetime as dt

import pytest

from timebank.domain import Conflict, InvalidInput, NotFound
from timebank.needs import residents
from timebank.needs.models import Assignment, Order, Resident
from timebank.people.access import actor_for
from tests.conftest import NOW, send, signed_in, text
from tests.needs.needs_fixtures import place_need, staff  # noqa: F401  (fixtures)

RESIDENT = {"real_name": "钱奶奶", "phone": "13700000009", "address": "幸福路8号院3单元201", "birth_date": "1940-05-01",
            "groups": ["living_alone", "old_age"], "privacy_consent": True}


def _assign(session, need, volunteer, status: str) -> Assignment:
    """An order on the need with the volunteer on its one slot, in `status`."""
    order = Order(need_id=need.id, organisation_id=need.organisation_id, category="elderly", slots=1, window_start=NOW,
                  window_end=NOW + dt.timedelta(hours=2), expected_minutes=60, created_by=1, created_at=NOW)
    session.add(order)
    session.flush()
    assignment = Assignment(order_id=order.id, slot=1, volunteer_id=volunteer.id, status=status, offered_at=NOW)
    session.add(assignment)
    session.flush()
    return assignment


def test_staff_of_the_subtree_the_resident_and_assigned_volunteers_see_the_address(session, staff, place_need, make_person):
    need = place_need()
    resident = session.get(Resident, need.resident_id)
    volunteer, other = make_person(name="志愿者甲"), make_person(name="志愿者乙")
    assert all(residents.can_see_address(session, staff[k], resident) for k in ("grid", "social", "coordinator"))
    assert not residents.can_see_address(session, staff["west_social"], resident)
    assert not residents.can_see_address(session, None, resident)
    assert not residents.can_see_address(session, actor_for(session, volunteer), resident)
    assignment = _assign(session, need, volunteer, "accepted")
    assert residents.can_see_address(session, actor_for(session, volunteer), resident)
    assert not residents.can_see_address(session, actor_for(session, other), resident)
    assignment.status = "withdrawn"
    session.flush()
    assert not residents.can_see_address(session, actor_for(session, volunteer), resident)
    resident.person_id = other.id
    assert residents.can_see_address(session, actor_for(session, other), resident)


def test_staff_record_a_resident_with_consent_and_one_phone_per_community(session, org_tree, staff):
    with pytest.raises(InvalidInput) as refused:
        residents.create_resident(session, {**RESIDENT, "privacy_consent": False, "organisation_id": org_tree["east"].id}, actor=staff["grid"], now=NOW)
    assert "privacy_consent" in refused.value.errors
    resident = residents.create_resident(session, {**RESIDENT, "organisation_id": org_tree["east"].id}, actor=staff["grid"], now=NOW)
    assert resident.group_list == ["living_alone", "old_age"] and resident.consent_recorded_by == staff["grid"].id
    assert residents.age(resident, dt.date(2026, 11, 20)) == 86
    with pytest.raises(Conflict):
        residents.create_resident(session, {**RESIDENT, "organisation_id": org_tree["east"].id}, actor=staff["social"], now=NOW)
    with pytest.raises(NotFound):
        residents.create_resident(session, {**RESIDENT, "organisation_id": org_tree["east"].id}, actor=staff["west_social"], now=NOW)
    with pytest.raises(InvalidInput):
        residents.create_resident(session, {**RESIDENT, "organisation_id": org_tree["street"].id}, actor=staff["grid"], now=NOW)


def test_editing_changes_only_what_was_sent_and_outsiders_get_not_found(session, org_tree, staff):
    resident = residents.create_resident(session, {**RESIDENT, "organisation_id": org_tree["east"].id}, actor=staff["grid"], now=NOW)
    residents.update_resident(session, resident.id, {"groups": ["hardship"], "address": "新地址"}, actor=staff["social"], now=NOW)
    assert (resident.groups, resident.address, resident.real_name) == ("hardship", "新地址", "钱奶奶")
    with pytest.raises(NotFound):
        residents.update_resident(session, resident.id, {"address": "x"}, actor=staff["west_social"], now=NOW)
    assert [r.id for r in residents.find_residents(session, actor=staff["grid"], query="钱")] == [resident.id]
    assert residents.find_residents(session, actor=staff["west_social"], query="钱") == []


def test_the_residents_pages_record_a_resident_and_show_their_needs(app, session, org_tree, make_person, place_need):
    worker = make_person("grid_worker", name="网格员小李")
    need = place_need()
    session.commit()
    client = signed_in(app, worker)
    answer = send(client, "/needs/residents/new", organisation_id=org_tree["east"].id, **{k: v for k, v in RESIDENT.items() if k != "groups"},
                  groups="living_alone")
    assert answer.status_code == 302, text(answer)[:300]
    assert "幸福路8号院" in text(client.get(answer.location))
    page = text(client.get(f"/needs/residents/{need.resident_id}"))
    assert "帮忙买菜" in page
    assert "钱奶奶" in text(client.get("/needs/residents?q=钱"))
