"""Real concurrency: many threads, each with its own connection, on a file SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from timebank import ledger
from timebank.db import Database
from timebank.ledger import Transaction, rules
from tests.conftest import ACTOR, NOW


def race(
    db: Database,
    attempts: int,
    work: Callable[[Session, int], object],
    refusals: tuple[type[Exception], ...] = (ledger.LedgerError,),
) -> list[object]:
    """Run `work(session, i)` in `attempts` threads released at once; each commits or rolls back.

    Returns each attempt's result, or the refusal (by default a ledger error) it raised.
    """
    gate = threading.Barrier(attempts)

    def attempt(i: int) -> object:
        with db.session() as session:
            gate.wait()
            try:
                result = work(session, i)
                session.commit()
                return result
            except refusals as refused:
                session.rollback()
                return refused

    with ThreadPoolExecutor(max_workers=attempts) as pool:
        return list(pool.map(attempt, range(attempts)))


def kinds(results: list[object]) -> Counter[str]:
    """How many attempts ended in each way."""
    return Counter(type(r).__name__ for r in results)


@pytest.fixture
def funded(db: Database, session, ledger_setup, credit):
    """Volunteers 1..8; volunteer 1 has 10 points and 600 minutes, volunteer 2 has 600 minutes."""
    ledger_setup(volunteers=range(1, 9))
    credit(1, minutes=600, points=10)
    credit(2, minutes=600, points=0)
    return db


def test_fifty_spends_against_a_balance_of_ten_exactly_ten_succeed(funded, session):
    def spend_one_point(s: Session, i: int) -> Transaction:
        return ledger.post(s, rules.redemption_legs(1, 7, 1), kind="redemption", idempotency_key=f"spend-{i}", actor=ACTOR, now=NOW)

    results = race(funded, 50, spend_one_point)
    assert kinds(results) == {"Transaction": 10, "InsufficientBalance": 40}
    assert ledger.balance(session, "vol:1:PTS").posted == 0
    assert ledger.balance(session, "station:7:PTS").posted == 10
    assert list(ledger.verify(session)) == []


def test_opposite_transfers_at_once_neither_deadlock_nor_lose_an_update(funded, session):
    def transfer(s: Session, i: int) -> Transaction:
        giver, receiver = (1, 2) if i % 2 else (2, 1)
        return ledger.post(s, rules.family_transfer_legs(giver, receiver, 5), kind="transfer", idempotency_key=f"t-{i}", actor=ACTOR, now=NOW)

    results = race(funded, 40, transfer)
    assert kinds(results) == {"Transaction": 40}
    assert ledger.balance(session, "vol:1:HOUR").posted == 600
    assert ledger.balance(session, "vol:2:HOUR").posted == 600
    assert list(ledger.verify(session)) == []


def test_the_same_request_sent_twenty_times_at_once_posts_once(funded, session):
    def same_basket(s: Session, i: int) -> int:
        return ledger.post(s, rules.redemption_legs(1, 7, 3), kind="redemption", idempotency_key="basket-42", actor=ACTOR, now=NOW).id

    results = race(funded, 20, same_basket)
    assert len(set(results)) == 1 and isinstance(results[0], int)
    assert session.scalar(select(func.count()).select_from(Transaction).where(Transaction.kind == "redemption")) == 1
    assert ledger.balance(session, "vol:1:PTS").posted == 7


def test_two_reviewers_reversing_at_once_reverse_once(funded, session):
    original = session.scalars(select(Transaction).where(Transaction.kind == "service_credit")).first()
    session.commit()

    def reverse(s: Session, i: int) -> Transaction:
        return ledger.reverse(s, original.id, actor=ACTOR + i, now=NOW, idempotency_key=f"reviewer-{i}")

    results = race(funded, 8, reverse)
    assert kinds(results) == {"Transaction": 1, "AlreadyReversed": 7}
    assert list(ledger.verify(session)) == []


def test_capturing_one_hold_from_many_requests_posts_once(funded, session):
    held = ledger.hold(session, "vol:2:HOUR", 60, actor=ACTOR, now=NOW, expires_at=NOW.replace(year=2027), idempotency_key="order")
    session.commit()

    def capture(s: Session, i: int) -> int:
        return ledger.capture(s, held.id, to="vol:3:HOUR", kind="service_purchase", actor=ACTOR, now=NOW).id

    results = race(funded, 10, capture)
    assert len(set(results)) == 1 and isinstance(results[0], int)
    assert ledger.balance(session, "vol:2:HOUR") == ledger.Balance(posted=540, held=0)
    assert ledger.balance(session, "vol:3:HOUR").posted == 60


def test_credits_for_different_volunteers_all_land_beside_each_other(funded, session):
    def approve(s: Session, i: int) -> Transaction:
        volunteer = 1 + i % 8
        legs = rules.service_credit_legs(volunteer, minutes=30, category="elderly", points=5)
        return ledger.post(s, legs, kind="service_credit", idempotency_key=f"att-{i}", actor=ACTOR, now=NOW)

    results = race(funded, 32, approve)
    assert kinds(results) == {"Transaction": 32}
    assert ledger.balance(session, "sys:issuance:HOUR").posted == -(1200 + 32 * 30)
    assert list(ledger.verify(session)) == []
