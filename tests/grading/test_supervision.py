"""Supervision sessions: recorded by a social worker for their subtree, each attendee's part a training line on their record."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.conftest import NOW
from timebank import ledger
from timebank.certify.records import service_record
from timebank.domain import InvalidInput, NotAllowed, OutOfReach
from timebank.grading import supervision
from timebank.ledger import rules
from timebank.people.access import actor_for


def held(**changes):
    return {"held_at": (NOW - dt.timedelta(days=1)).isoformat(), "minutes": 90, "topic": "助老服务沟通技巧", "notes": "角色扮演与案例讨论", **changes}


def test_a_session_is_a_training_line_on_each_attendees_record(session, make_person):
    worker = make_person("social_worker", name="李社工")
    first, second = make_person(name="张三"), make_person(name="李四")
    recorded = supervision.record_supervision(session, held(volunteer_ids=[first.id, second.id]), actor=actor_for(session, worker), now=NOW)
    assert supervision.attendees(session, [recorded.id]) == {recorded.id: [first.id, second.id]}
    record = service_record(session, first, dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    assert record.service == []
    [line] = record.training
    assert (line.activity, line.content, line.minutes, line.organising_unit, line.person_in_charge, line.date) == (
        "助老服务沟通技巧", "角色扮演与案例讨论", 90, "东城社区", "李社工", dt.date(2026, 11, 19))
    assert ledger.balance(session, rules.volunteer_code(first.id, ledger.Commodity.CERT, rules.TRAINING)).posted == 90
    assert ledger.balance(session, rules.volunteer_code(first.id, ledger.Commodity.HOUR)).posted == 0


def test_a_team_session_without_names_supervises_its_members(session, make_person, org_tree):
    worker = make_person("social_worker", name="李社工")
    members = [make_person(name=f"队员{i}", org="east_team") for i in range(2)]
    recorded = supervision.record_supervision(session, held(team_id=org_tree["east_team"].id), actor=actor_for(session, worker), now=NOW)
    assert (recorded.team_id, recorded.organisation_id) == (org_tree["east_team"].id, org_tree["east_team"].id)
    assert supervision.attendees(session, [recorded.id])[recorded.id] == sorted(m.id for m in members)


def test_volunteers_outside_the_subtree_are_refused_and_nothing_is_written(session, make_person):
    worker = make_person("social_worker", name="李社工")
    stranger = make_person(name="外人", org="west")
    with pytest.raises(InvalidInput) as refused:
        supervision.record_supervision(session, held(volunteer_ids=[stranger.id]), actor=actor_for(session, worker), now=NOW)
    assert "volunteer_ids" in refused.value.errors
    assert supervision.sessions_for(session, actor=actor_for(session, worker)) == []


@pytest.mark.parametrize("changes", [{"held_at": (NOW + dt.timedelta(hours=1)).isoformat()}, {"minutes": 0}, {"topic": "  "}])
def test_a_session_in_the_future_without_length_or_topic_is_refused(session, make_person, changes):
    worker = make_person("social_worker", name="李社工")
    volunteer = make_person(name="张三")
    with pytest.raises(InvalidInput):
        supervision.record_supervision(session, held(volunteer_ids=[volunteer.id], **changes), actor=actor_for(session, worker), now=NOW)


def test_only_a_social_worker_of_the_organisation_records_one(session, make_person, org_tree):
    volunteer = make_person(name="张三")
    coordinator = actor_for(session, make_person("coordinator", name="协调员"))
    with pytest.raises(NotAllowed):
        supervision.record_supervision(session, held(volunteer_ids=[volunteer.id]), actor=coordinator, now=NOW)
    west = actor_for(session, make_person("social_worker", org="west", name="西社工"))
    with pytest.raises(OutOfReach):
        supervision.record_supervision(session, held(volunteer_ids=[volunteer.id], organisation_id=org_tree["east"].id), actor=west, now=NOW)
