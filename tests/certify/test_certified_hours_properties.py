"""Certified hours are the approved service, by category, whatever corrections and spending come between (hypothesis)."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from timebank import ledger
from timebank.certify.records import credits
from timebank.events.models import Attendance, AttendanceStatus
from timebank.events.review import CreditSpent, adjust_minutes
from timebank.ledger import rules
from timebank.people.balances import certified_by_category
from tests.conftest import NOW

CATEGORIES = ("elderly", "children", "emergency", "training")
STATION = 9_000_001
keys = itertools.count()

operations = st.one_of(
    st.tuples(st.just("serve"), st.sampled_from(CATEGORIES), st.integers(min_value=15, max_value=600)),
    st.tuples(st.just("correct"), st.integers(min_value=0, max_value=50), st.integers(min_value=0, max_value=600)),
    st.tuples(st.just("spend_points"), st.integers(min_value=1, max_value=200)),
    st.tuples(st.just("give_hours"), st.integers(min_value=1, max_value=300)),
)


def _spend(session, legs, kind) -> None:
    """Spend as a station or a family transfer would; refused spending leaves nothing behind."""
    try:
        ledger.post(session, legs, kind=kind, idempotency_key=f"spend:{next(keys)}", actor=1, now=NOW)
        session.commit()
    except ledger.InsufficientBalance:
        session.rollback()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(operations, min_size=3, max_size=8))
@pytest.mark.slow
def test_certified_hours_are_the_approved_minutes_by_category_through_corrections_and_spending(session, make_person, serve, reviewer, steps):
    volunteer, relative = make_person(), make_person()
    ledger.open_account(session, rules.station_code(STATION), commodity="PTS", owner_type="station", owner_id=STATION, now=NOW)
    rules.open_volunteer_accounts(session, relative.id, now=NOW)
    session.commit()
    served: list[int] = []
    for step in steps:
        if step[0] == "serve":
            served.append(serve(volunteer, category=step[1], minutes=step[2], days_ago=30 - len(served)).id)
        elif step[0] == "correct" and served:
            attendance_id = served[step[1] % len(served)]
            try:
                adjust_minutes(session, attendance_id, {"minutes": step[2], "reason": "核对后更正"}, actor=reviewer, now=NOW)
                session.commit()
            except CreditSpent:  # more was spent than the correction takes back: a coordinator decides, nothing changes
                session.rollback()
        elif step[0] == "spend_points" and served:
            _spend(session, rules.redemption_legs(volunteer.id, STATION, step[1]), "redemption")
        elif step[0] == "give_hours" and served:
            _spend(session, rules.family_transfer_legs(volunteer.id, relative.id, step[1]), "transfer")

    approved = session.query(Attendance).filter(Attendance.volunteer_id == volunteer.id, Attendance.status == AttendanceStatus.APPROVED.value).all()
    expected = Counter()
    for attendance in approved:
        expected[attendance.activity.category] += attendance.credited_minutes or 0
    expected = {category: minutes for category, minutes in expected.items()}
    ledger_view = {category: minutes for category, minutes in certified_by_category(session, volunteer.id).items() if minutes}
    assert ledger_view == {c: m for c, m in expected.items() if m}
    netted = Counter()
    for credit in credits(session, volunteer.id):
        netted[credit.category] += credit.minutes
    assert dict(netted) == {c: m for c, m in expected.items() if m}
    assert certified_by_category(session, relative.id) == {}  # CERT never moves between people
    session.rollback()
