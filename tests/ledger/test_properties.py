"""Property tests: random histories of credits, spends, transfers, holds and reversals.

A plain in-memory model says, for every step, whether it must succeed or be
refused (and with which error); the ledger must agree at every step, and at
the end every balance equals the model and the sum of its postings, and
`verify` finds nothing.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from timebank import ledger
from timebank.ledger import Leg, Posting, rules
from tests.conftest import ACTOR, NOW

VOLUNTEERS = 3
CAP = 600  # minutes on each volunteer's HOUR account
LATER = NOW.replace(year=NOW.year + 1)
examples = itertools.count()

volunteer = st.integers(0, VOLUNTEERS - 1)
operations = st.one_of(
    st.tuples(st.just("credit"), volunteer, st.integers(1, 300), st.integers(0, 50)),
    st.tuples(st.just("spend"), volunteer, st.integers(1, 60)),
    st.tuples(st.just("transfer"), volunteer, volunteer, st.integers(1, 200)),
    st.tuples(st.just("reverse"), st.integers(0, 30), st.booleans()),
    st.tuples(st.just("hold"), volunteer, st.integers(1, 200)),
    st.tuples(st.just("capture"), st.integers(0, 10), volunteer, st.integers(1, 100)),
    st.tuples(st.just("release"), st.integers(0, 10)),
    st.tuples(st.just("retry"), st.integers(0, 30)),
)


@dataclass
class HoldEntry:
    """A hold as the model knows it."""

    id: int
    code: str
    amount: int
    state: str = "open"
    capture: tuple[str, int, int] | None = None  # target, amount, transaction id


@dataclass
class Model:
    """What the balances must be, and what each step must do."""

    base: int
    steps: int = 0
    balances: dict[str, int] = field(default_factory=dict)
    held: dict[str, int] = field(default_factory=dict)
    posted: list[tuple[str, list[Leg], int]] = field(default_factory=list)  # key, legs, txn id
    reversed: set[int] = field(default_factory=set)
    reversals: set[int] = field(default_factory=set)
    captures: set[int] = field(default_factory=set)
    holds: list[HoldEntry] = field(default_factory=list)

    def vol(self, v: int) -> int:
        return self.base + v

    def refusal(self, legs: list[Leg]) -> type[ledger.LedgerError] | None:
        """The error these legs must meet, or None if they must post."""
        moved: dict[str, int] = {}
        for leg in legs:
            moved[leg.code] = moved.get(leg.code, 0) + leg.amount
        for code, delta in sorted(moved.items()):
            if code.startswith("sys:"):
                continue
            after = self.balances.get(code, 0) + delta
            if after - self.held.get(code, 0) < 0:
                return ledger.InsufficientBalance
            if code.endswith(":HOUR") and code.startswith("vol:") and after > CAP:
                return ledger.BalanceCapExceeded
        return None

    def apply(self, legs: list[Leg]) -> None:
        for leg in legs:
            self.balances[leg.code] = self.balances.get(leg.code, 0) + leg.amount


def run_step(session, model: Model, op: tuple) -> None:
    """Do one operation on the ledger and check the outcome against the model."""
    name = op[0]
    model.steps += 1
    key = f"prop:{model.base}:{model.steps}:{name}"

    def attempt(legs: list[Leg], call) -> None:
        expected = model.refusal(legs)
        event(f"{name}: {expected.__name__ if expected else 'posted'}")
        if expected is None:
            txn = call()
            session.commit()
            model.apply(legs)
            model.posted.append((txn.idempotency_key, legs, txn.id))
        else:
            with pytest.raises(expected):
                call()
            session.rollback()

    if name == "credit":
        _, v, minutes, points = op
        legs = rules.service_credit_legs(model.vol(v), minutes=minutes, category="elderly", points=points)
        attempt(legs, lambda: ledger.post(session, legs, kind="service_credit", idempotency_key=key, actor=ACTOR, now=NOW))
    elif name == "spend":
        _, v, points = op
        legs = rules.redemption_legs(model.vol(v), model.base, points)
        attempt(legs, lambda: ledger.post(session, legs, kind="redemption", idempotency_key=key, actor=ACTOR, now=NOW))
    elif name == "transfer":
        _, a, b, minutes = op
        if a == b:
            return
        legs = rules.family_transfer_legs(model.vol(a), model.vol(b), minutes)
        attempt(legs, lambda: ledger.post(session, legs, kind="transfer", idempotency_key=key, actor=ACTOR, now=NOW))
    elif name == "reverse" and model.posted:
        _, index, second_reviewer = op
        _, legs, txn_id = model.posted[index % len(model.posted)]
        undo = [Leg(leg.code, -leg.amount) for leg in legs]
        call = lambda: ledger.reverse(session, txn_id, actor=ACTOR, now=NOW, idempotency_key=f"{key}:{second_reviewer}")  # noqa: E731
        if txn_id in model.reversals:
            with pytest.raises(ledger.LedgerError, match="itself a reversal"):
                call()
            session.rollback()
        elif txn_id in model.reversed:
            with pytest.raises(ledger.AlreadyReversed):
                call()
            session.rollback()
        else:
            before = len(model.posted)
            attempt(undo, call)
            if len(model.posted) > before:
                model.reversed.add(txn_id)
                model.reversals.add(model.posted[-1][2])
    elif name == "hold":
        _, v, minutes = op
        code = rules.volunteer_code(model.vol(v), ledger.Commodity.HOUR)
        if model.balances.get(code, 0) - model.held.get(code, 0) < minutes:
            with pytest.raises(ledger.InsufficientBalance):
                ledger.hold(session, code, minutes, actor=ACTOR, now=NOW, expires_at=LATER, idempotency_key=key)
            session.rollback()
            return
        held = ledger.hold(session, code, minutes, actor=ACTOR, now=NOW, expires_at=LATER, idempotency_key=key)
        session.commit()
        model.held[code] = model.held.get(code, 0) + minutes
        model.holds.append(HoldEntry(held.id, code, minutes))
    elif name == "capture" and model.holds:
        _, index, to, amount = op
        entry = model.holds[index % len(model.holds)]
        target = rules.volunteer_code(model.vol(to), ledger.Commodity.HOUR)
        amount = min(amount, entry.amount)
        call = lambda: ledger.capture(session, entry.id, to=target, kind="service_purchase", actor=ACTOR, now=NOW, amount=amount)  # noqa: E731
        if entry.state == "captured":
            if entry.capture[:2] == (target, amount):
                assert call().id == entry.capture[2]  # a retry of the same capture
            else:
                with pytest.raises(ledger.IdempotencyConflict):
                    call()
            session.rollback()
            return
        if entry.state == "released":
            with pytest.raises(ledger.HoldNotOpen):
                call()
            session.rollback()
            return
        legs = [Leg(entry.code, -amount), Leg(target, amount)]
        model.held[entry.code] -= entry.amount  # the capture frees the whole hold
        expected = None if target == entry.code else model.refusal(legs)
        event(f"capture: {expected.__name__ if expected else 'posted'}")
        if expected is None:
            txn = call()
            session.commit()
            model.apply(legs)
            model.posted.append((txn.idempotency_key, legs, txn.id))
            model.captures.add(txn.id)
            entry.state, entry.capture = "captured", (target, amount, txn.id)
        else:
            model.held[entry.code] += entry.amount
            with pytest.raises(expected):
                call()
            session.rollback()
    elif name == "release" and model.holds:
        entry = model.holds[op[1] % len(model.holds)]
        if entry.state == "open":
            ledger.release(session, entry.id, actor=ACTOR, now=NOW)
            session.commit()
            model.held[entry.code] -= entry.amount
            entry.state = "released"
    elif name == "retry" and model.posted:
        first_key, legs, txn_id = model.posted[op[1] % len(model.posted)]
        if txn_id in model.reversals | model.captures:
            return  # retried through reverse() and capture(), covered above
        kind = session.get(ledger.Transaction, txn_id).kind
        again = ledger.post(session, legs, kind=kind, idempotency_key=first_key, actor=ACTOR, now=NOW)
        session.commit()
        assert again.id == txn_id


def check_against_model(session, model: Model) -> None:
    """Every balance equals the model and the sum of its postings.

    The issuance accounts are shared by every example, so only `verify` speaks for them.
    """
    for code, expected in model.balances.items():
        if code.startswith("sys:"):
            continue
        account = ledger.get_account(session, code)
        assert ledger.balance(session, code).posted == expected, code
        total = session.scalar(select(func.coalesce(func.sum(Posting.amount), 0)).where(Posting.account_id == account.id))
        assert total == expected, code
    for code, held in model.held.items():
        assert ledger.balance(session, code).held == held, code


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(operations, min_size=8, max_size=40))
def test_random_histories_keep_every_invariant(session, steps):
    model = Model(base=1000 * (next(examples) + 1))
    rules.open_system_accounts(session, now=NOW)
    ledger.open_account(session, rules.station_code(model.base), commodity="PTS", owner_type="station", now=NOW)
    for v in range(VOLUNTEERS):
        rules.open_volunteer_accounts(session, model.vol(v), categories=("elderly",), max_hour_balance=CAP, now=NOW)
    session.commit()
    for op in steps:
        run_step(session, model, op)
    check_against_model(session, model)
    assert [str(b) for b in ledger.verify(session)] == []
