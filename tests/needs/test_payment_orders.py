"""Paying for services through the order loop's own services: told before booking, held at the claim, released on withdrawal."""

from __future__ import annotations

import pytest

from tests.conftest import NOW, SYSTEM
from tests.gifts.factories import fill_pool, fund
from tests.needs.order_world import World, world  # noqa: F401
from timebank import ledger
from timebank.gifts.eligibility import NotEnoughHours
from timebank.ledger import rules
from timebank.ledger.models import Commodity
from timebank.needs import orders, pool
from timebank.needs.models import Need


@pytest.fixture
def paying_resident(session, world: World, make_person):
    """张奶奶 also holds an account of her own, with 2 h of time credit."""
    elder = make_person(name="张奶奶", birth_date="1940-02-01")
    fund(session, elder, 120)
    world.resident.person_id = elder.id
    session.commit()
    return elder


def test_a_resident_short_of_hours_is_told_before_the_order_is_booked(session, world: World, paying_resident):
    with pytest.raises(NotEnoughHours) as refused:
        world.make_order(payer="resident", slots=2)  # 2 × 90 minutes
    assert str(refused.value) == "张奶奶 has 2 h of time credit available; 3 h are needed, 1 h missing."
    session.rollback()
    assert session.get(Need, world.need.id).status == "recorded"


def test_a_claimed_slot_holds_the_resident_s_hours_and_a_withdrawal_gives_them_back(session, world: World, paying_resident):
    order = world.make_order(payer="resident", open_for_claims=True)
    assignment = orders.claim(session, order.id, volunteer=world.volunteers[0], now=NOW)
    session.commit()
    account = rules.volunteer_code(paying_resident.id, Commodity.HOUR)
    assert assignment.hold_id is not None and ledger.balance(session, account) == ledger.Balance(posted=120, held=90)
    orders.withdraw(session, assignment.id, {"reason": "临时有事"}, actor=world.staff, now=NOW)
    session.commit()
    assert ledger.balance(session, account) == ledger.Balance(posted=120, held=0)


def test_a_pool_paid_order_draws_on_the_need_s_allocation(session, world: World, make_person, org_tree):
    east = org_tree["east"].id
    fill_pool(session, east, 120, donor=make_person(name="捐赠人"))
    pool.allocate(session, world.need.id, 90, actor=SYSTEM, now=NOW)
    session.commit()
    order = world.make_order(payer="pool", open_for_claims=True)
    orders.claim(session, order.id, volunteer=world.volunteers[0], now=NOW)
    session.commit()
    assert pool.set_aside(session, world.need.id) == 0
    assert pool.figures(session, east) == pool.PoolFigures(balance=120, held=90)
