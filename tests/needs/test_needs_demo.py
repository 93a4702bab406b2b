"""The demo's residents and needs: every channel, colour and needs-side state, residents the programme cares most for."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from timebank.needs.models import Need, NeedEvent, Resident
from timebank.needs.services import is_overdue
from tests.conftest import NOW


@pytest.fixture
def db(demo_db):
    """A copy of the shared demo."""
    return demo_db[0]


def test_the_demo_has_needs_in_every_channel_colour_and_state_with_their_history(session, demo_db):
    needs = session.scalars(select(Need)).all()
    assert {n.channel for n in needs} == {"hotline", "home_visit", "micro_wish", "tea_stall", "grid", "online"}
    assert {n.colour for n in needs} == {"red", "yellow", "blue", "green"}
    assert {"recorded", "referred", "declined", "in_activity", "cancelled", "closed"} <= {n.status for n in needs}
    assert any(is_overdue(n, NOW) for n in needs), "some need waits past its deadline"
    recorded = {e.need_id for e in session.scalars(select(NeedEvent).where(NeedEvent.action == "recorded"))}
    assert recorded == {n.id for n in needs}
    assert "needs:" in demo_db[1] and "grid worker" in demo_db[1]


def test_the_demo_residents_include_the_old_living_alone_and_families_in_hardship(session):
    people = session.scalars(select(Resident)).all()
    today = NOW.date()
    assert any("living_alone" in r.group_list and r.birth_date and (today - r.birth_date) > dt.timedelta(days=80 * 365) for r in people)
    assert any("hardship" in r.group_list for r in people)
    assert any(r.person_id for r in people), "a volunteer who asks for help themself"
    assert all(r.consent_at for r in people)
