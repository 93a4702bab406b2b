"""The demo's month of orders: every state of the loop is there to look at, and what it posted verifies."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from timebank import ledger
from timebank.needs.models import Assignment, Need, Order, Rating


@pytest.fixture
def db(demo_db):
    """These tests read the shared demo (tests/conftest.py), each from a copy of its own."""
    return demo_db[0]


def test_the_demo_has_orders_in_every_state_and_a_low_rating_followed_up(session, demo_db):
    assert demo_db[1].count("orders:") == 1
    order_states = set(session.scalars(select(Order.status)))
    assert {"dispatching", "filled", "served", "completed", "cancelled"} <= order_states
    slot_states = set(session.scalars(select(Assignment.status)))
    assert {"offered", "accepted", "ended", "approved", "timed_out", "withdrawn", "no_show"} <= slot_states
    low = session.scalars(select(Rating).where(Rating.stars <= 2)).all()
    assert low and all(r.followed_up_at is not None for r in low)
    assert "closed" in set(session.scalars(select(Need.status)))
    assert list(ledger.verify(session)) == []
