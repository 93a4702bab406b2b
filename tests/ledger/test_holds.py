"""Holds: reserve now, capture or release later, each resolved exactly once."""

from __future__ import annotations

import datetime as dt

import pytest

from timebank import ledger
from tests.conftest import ACTOR, NOW

HOUR1, HOUR2 = "vol:1:HOUR", "vol:2:HOUR"
LATER = NOW + dt.timedelta(days=1)


def reserve(session, amount=60, key="order-1", expires_at=LATER):
    """Hold `amount` minutes of volunteer 1's hours."""
    return ledger.hold(session, HOUR1, amount, actor=ACTOR, now=NOW, expires_at=expires_at, idempotency_key=key)


@pytest.fixture
def funded(ledger_setup, credit):
    """Volunteers 1 and 2, with 120 minutes on volunteer 1."""
    ledger_setup(volunteers=(1, 2))
    credit(1, minutes=120)


def test_a_hold_reduces_what_is_available_but_not_what_is_posted(session, funded):
    reserve(session, 90)
    session.commit()
    assert ledger.balance(session, HOUR1) == ledger.Balance(posted=120, held=90)
    assert ledger.balance(session, HOUR1).available == 30


def test_held_hours_cannot_be_spent_twice(session, funded):
    reserve(session, 90)
    with pytest.raises(ledger.InsufficientBalance) as refused:
        ledger.post(session, ledger.rules.family_transfer_legs(1, 2, 60), kind="transfer", idempotency_key="t", actor=ACTOR, now=NOW)
    assert refused.value.params["available"] == 30
    with pytest.raises(ledger.InsufficientBalance):
        reserve(session, 31, key="order-2")


def test_capturing_part_of_a_hold_posts_that_part_and_frees_the_rest(session, funded):
    held = reserve(session, 60)
    txn = ledger.capture(session, held, to=HOUR2, kind="service_purchase", actor=ACTOR, now=NOW, amount=45)
    session.commit()
    assert held.status == "captured" and held.captured_amount == 45 and held.transaction_id == txn.id
    assert ledger.balance(session, HOUR1) == ledger.Balance(posted=75, held=0)
    assert ledger.balance(session, HOUR2).posted == 45


def test_a_hold_resolves_once(session, funded):
    held = reserve(session)
    first = ledger.capture(session, held, to=HOUR2, kind="service_purchase", actor=ACTOR, now=NOW)
    assert ledger.capture(session, held, to=HOUR2, kind="service_purchase", actor=ACTOR, now=NOW).id == first.id
    with pytest.raises(ledger.IdempotencyConflict):
        ledger.capture(session, held, to=HOUR2, kind="service_purchase", actor=ACTOR, now=NOW, amount=30)
    with pytest.raises(ledger.HoldNotOpen):
        ledger.release(session, held, actor=ACTOR, now=NOW)
    session.commit()
    assert ledger.balance(session, HOUR1) == ledger.Balance(posted=60, held=0)


def test_releasing_frees_everything_and_posts_nothing(session, funded):
    held = reserve(session)
    ledger.release(session, held, actor=ACTOR, now=NOW)
    ledger.release(session, held, actor=ACTOR, now=NOW)  # harmless twice
    session.commit()
    assert ledger.balance(session, HOUR1) == ledger.Balance(posted=120, held=0)
    with pytest.raises(ledger.HoldNotOpen):
        ledger.capture(session, held, to=HOUR2, kind="service_purchase", actor=ACTOR, now=NOW)


def test_an_expired_hold_cannot_be_captured_and_the_sweep_frees_it(session, funded):
    held = reserve(session, expires_at=NOW + dt.timedelta(minutes=5))
    session.commit()
    after = NOW + dt.timedelta(minutes=6)
    with pytest.raises(ledger.HoldNotOpen, match="expired"):
        ledger.capture(session, held, to=HOUR2, kind="service_purchase", actor=ACTOR, now=after)
    session.rollback()
    swept = ledger.expire_holds(session, actor=ACTOR, now=after)
    session.commit()
    assert [h.id for h in swept] == [held.id] and held.status == "expired"
    assert ledger.balance(session, HOUR1) == ledger.Balance(posted=120, held=0)
    assert ledger.expire_holds(session, actor=ACTOR, now=after) == []


def test_a_retried_hold_returns_the_same_hold_and_reserves_once(session, funded):
    first = reserve(session, 60)
    again = reserve(session, 60)
    session.commit()
    assert again.id == first.id
    assert ledger.balance(session, HOUR1).held == 60
    with pytest.raises(ledger.IdempotencyConflict):
        reserve(session, 30)


@pytest.mark.parametrize(
    ("amount", "expires_at", "message"),
    [(0, LATER, "non-zero"), (-5, LATER, "positive"), (10, NOW, "future")],
)
def test_bad_holds_are_refused_and_nothing_is_reserved(session, funded, amount, expires_at, message):
    with pytest.raises(ledger.LedgerError, match=message):
        reserve(session, amount, expires_at=expires_at)
    session.rollback()
    assert ledger.balance(session, HOUR1).held == 0


def test_a_capture_larger_than_the_hold_is_refused(session, funded):
    held = reserve(session, 30)
    with pytest.raises(ledger.LedgerError, match="between 1 and 30"):
        ledger.capture(session, held, to=HOUR2, kind="service_purchase", actor=ACTOR, now=NOW, amount=31)
