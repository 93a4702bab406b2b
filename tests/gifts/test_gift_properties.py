"""Property test: random gifts, donations, allocations and returns keep the ledger verified and nobody below zero.

A small model predicts, for every step, whether it must succeed; the services
must agree, and after every example each balance and hold equals the model's
and `verify` finds nothing.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from timebank import ledger
from timebank.domain import DomainError
from timebank.gifts import services
from timebank.ledger import rules
from timebank.ledger.models import Account, Commodity
from timebank.needs import pool
from timebank.needs.models import PoolAllocation
from timebank.orgs.services import set_policies
from timebank.people.access import actor_for
from tests.conftest import NOW, SYSTEM
from tests.gifts.factories import fund, link_family, make_need, make_resident

CAP = 600
PEOPLE = 3
NEEDS = 3
#: Who may give to whom: 0–1 and 1–2 are confirmed family, 0–2 only asked.
LINKED = {frozenset((0, 1)), frozenset((1, 2))}
keys = itertools.count()

person = st.integers(0, PEOPLE - 1)
need = st.integers(0, NEEDS - 1)
minutes = st.integers(1, 400)
operations = st.one_of(
    st.tuples(st.just("give"), person, person, minutes),
    st.tuples(st.just("donate"), person, minutes),
    st.tuples(st.just("allocate"), need, minutes),
    st.tuples(st.just("return"), need),
    st.tuples(st.just("fund"), person, st.integers(1, 300)),
    st.tuples(st.just("retry"),),
)


@pytest.fixture
def world(session, org_tree, make_person):
    """Three relatives, a coordinator, three needs in east, and a 600-minute cap."""
    people = [make_person(name=f"家人{i}") for i in range(PEOPLE)]
    link_family(session, people[0], people[1])
    link_family(session, people[1], people[2])
    link_family(session, people[0], people[2], confirmed=False)
    set_policies(session, org_tree["east"].id, {"hour_cap_minutes": CAP}, actor=SYSTEM, now=NOW)
    for p in people:
        fund(session, p, 120)
    rules.open_pool_account(session, org_tree["east"].id, now=NOW)
    needs = [make_need(session, make_resident(session, org_tree["east"].id, name=f"居民{i}")) for i in range(NEEDS)]
    session.commit()
    return org_tree["east"].id, people, needs, actor_for(session, make_person("coordinator"))


def hours_of(session, person_id: int) -> tuple[int, int]:
    row = session.execute(select(Account.balance, Account.held).where(Account.code == rules.volunteer_code(person_id, Commodity.HOUR))).one()
    return row.balance, row.held


def snapshot(session, east, people, needs) -> dict:
    """The state the model starts an example from: the database's, as the last example left it."""
    allocations = {a.need_id: a for a in session.scalars(select(PoolAllocation))}
    return {
        "people": {i: hours_of(session, p.id)[0] for i, p in enumerate(people)},
        "pool": pool.figures(session, east).balance,
        "allocated": {k: (allocations[n.id].minutes if n.id in allocations and allocations[n.id].status == "open" else 0) for k, n in enumerate(needs)},
    }


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(operations, min_size=5, max_size=20))
def test_random_gifts_donations_and_allocations_keep_the_ledger_whole(session, world, steps):
    east, people, needs, coordinator = world
    model = snapshot(session, east, people, needs)
    last = None  # the last successful gift or donation, to retry

    def attempt(expected: bool, call):
        try:
            result = call()
        except DomainError as refused:
            session.rollback()
            assert not expected, f"refused unexpectedly: {refused}"
            return None
        session.commit()
        assert expected, "went through but the model says it must be refused"
        return result

    for op in steps:
        held = sum(model["allocated"].values())
        if op[0] == "give":
            _, a, b, m = op
            ok = a != b and frozenset((a, b)) in LINKED and model["people"][a] >= m and CAP - model["people"][b] >= m
            key = f"g{next(keys)}"
            call = lambda a=a, b=b, m=m, key=key: services.give(session, people[b].id, m, actor=actor_for(session, people[a]), now=NOW, key=key)  # noqa: E731
            if a == b:
                with pytest.raises(DomainError):
                    call()
                session.rollback()
                continue
            if attempt(ok, call):
                model["people"][a] -= m
                model["people"][b] += m
                last = call
        elif op[0] == "donate":
            _, a, m = op
            key = f"d{next(keys)}"
            call = lambda a=a, m=m, key=key: services.donate(session, m, actor=actor_for(session, people[a]), now=NOW, key=key)  # noqa: E731
            if attempt(model["people"][a] >= m, call):
                model["people"][a] -= m
                model["pool"] += m
                last = call
        elif op[0] == "allocate":
            _, k, m = op
            current = model["allocated"][k]
            ok = current == m or (current == 0 and model["pool"] - held >= m)
            if attempt(ok, lambda: pool.allocate(session, needs[k].id, m, actor=coordinator, now=NOW)):
                model["allocated"][k] = m
        elif op[0] == "return":
            _, k = op
            allocation = session.scalar(select(PoolAllocation).where(PoolAllocation.need_id == needs[k].id))
            if allocation is not None:
                attempt(True, lambda: pool.return_allocation(session, allocation.id, actor=coordinator, now=NOW))
                model["allocated"][k] = 0
        elif op[0] == "fund":
            _, a, m = op
            fund(session, people[a], m)
            model["people"][a] += m
        elif op[0] == "retry" and last is not None:
            first = last()
            session.commit()
            assert first is not None  # the same key: the first transaction again, nothing more moved

    for i, p in enumerate(people):
        balance, held = hours_of(session, p.id)
        assert (balance, held) == (model["people"][i], 0) and balance >= 0
    figures = pool.figures(session, east)
    assert figures == pool.PoolFigures(model["pool"], sum(model["allocated"].values()))
    assert figures.available >= 0
    assert [str(b) for b in ledger.verify(session)] == []
