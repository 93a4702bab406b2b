"""Social workers' continuing education: training hours per registration period against the policy, and who is short."""

from __future__ import annotations

import datetime as dt

import pytest

from timebank.certify.education import record_training, standings
from timebank.domain import InvalidInput
from timebank.orgs.services import set_policies
from timebank.people.access import actor_for
from tests.conftest import NOW, SYSTEM, send, signed_in, text


def test_the_page_lists_who_is_short_until_enough_training_is_recorded(app, make_person):
    worker = make_person("social_worker", name="孙文静")
    coordinator = signed_in(app, make_person("coordinator"))
    page = text(coordinator.get("/certify/continuing-education"))
    assert 'id="short"' in page and "孙文静" in page
    today = dt.date.today().isoformat()
    answer = send(coordinator, "/certify/continuing-education", person_id=worker.id, title="社会工作伦理", organiser="市社工协会", hours="90", taken_on=today)
    assert answer.status_code == 302, text(answer)[:500]
    page = text(coordinator.get("/certify/continuing-education"))
    assert 'id="nobody-short"' in page


def test_training_outside_the_period_or_of_a_non_social_worker_does_not_count(session, make_person, org_tree):
    worker, volunteer = make_person("social_worker"), make_person()
    coordinator = actor_for(session, make_person("coordinator"))
    set_policies(session, org_tree["county"].id, {"continuing_education_hours": 10, "continuing_education_period_years": 1}, actor=SYSTEM, now=NOW)
    record_training(session, {"person_id": worker.id, "title": "旧培训", "organiser": "区民政局", "hours": 8, "taken_on": "2025-06-01"}, actor=coordinator, now=NOW)
    record_training(session, {"person_id": worker.id, "title": "督导实务", "organiser": "区民政局", "hours": 6, "taken_on": "2026-06-01"}, actor=coordinator, now=NOW)
    [standing] = [s for s in standings(session, actor=coordinator, now=NOW) if s.person.id == worker.id]
    assert standing.minutes == 360 and standing.required_minutes == 600 and standing.short_minutes == 240
    for refused in ({"person_id": volunteer.id}, {"person_id": worker.id, "taken_on": "2027-01-01"}, {"person_id": worker.id, "hours": 0}):
        data = {"person_id": worker.id, "title": "x", "organiser": "y", "hours": 2, "taken_on": "2026-06-01", **refused}
        with pytest.raises(InvalidInput) as refusal:
            record_training(session, data, actor=coordinator, now=NOW)
        assert refusal.value.errors
