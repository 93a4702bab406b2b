"""Orders paid in hours from the community pool: checked before booking, held at acceptance, paid at approval, released on cancellation."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.conftest import NOW
from tests.needs.order_world import SECRET, WINDOW_START, World, world  # noqa: F401
from timebank import ledger
from timebank.domain import DomainError
from timebank.events import review
from timebank.ledger import rules
from timebank.needs import orders, visits


def fill_pool(session, world: World, org_id: int, minutes: int) -> str:
    """The community pool with `minutes` donated by a volunteer."""
    donor = world.volunteers[2].id
    rules.open_system_accounts(session, now=NOW)
    rules.open_volunteer_accounts(session, donor, categories=("elderly",), now=NOW)
    rules.open_pool_account(session, org_id, now=NOW)
    ledger.post(session, rules.service_credit_legs(donor, minutes=minutes, category="elderly", points=0), kind="service_credit",
                idempotency_key="pool-test-credit", actor=1, now=NOW)
    ledger.post(session, rules.donation_legs(donor, org_id, minutes), kind="donation", idempotency_key="pool-test-gift", actor=1, now=NOW)
    session.commit()
    return rules.pool_code(org_id)


def test_a_pool_paid_visit_holds_at_acceptance_and_pays_the_volunteer_from_the_pool(session, world: World, org_tree):
    pool = fill_pool(session, world, org_tree["east"].id, 120)
    order = world.make_order(payer="pool")
    [offer] = orders.dispatch(session, order.id, {"volunteer_ids": [world.volunteers[0].id]}, actor=world.staff, now=NOW)
    orders.accept(session, offer.id, volunteer=world.volunteers[0], now=NOW)
    session.commit()
    assert offer.hold_id is not None and ledger.balance(session, pool).held == 90
    for step, at in (("start", WINDOW_START), ("end", WINDOW_START + dt.timedelta(minutes=90))):
        visits.confirm_step(session, offer.id, step, {"method": "staff"}, actor=world.staff, secret_key=SECRET, now=at)
    review.approve_attendance(session, offer.attendance_id, actor=world.staff, now=WINDOW_START + dt.timedelta(hours=3))
    session.commit()
    volunteer = world.volunteers[0].id
    assert ledger.balance(session, rules.volunteer_code(volunteer, ledger.Commodity.HOUR)).posted == 90
    assert ledger.balance(session, rules.volunteer_code(volunteer, ledger.Commodity.CERT, "elderly")).posted == 90
    assert ledger.balance(session, pool).posted == 30 and ledger.balance(session, pool).held == 0
    assert list(ledger.verify(session)) == []


def test_cancelling_a_pool_paid_order_releases_its_hold(session, world: World, org_tree):
    pool = fill_pool(session, world, org_tree["east"].id, 120)
    order = world.make_order(payer="pool")
    [offer] = orders.dispatch(session, order.id, {"volunteer_ids": [world.volunteers[0].id]}, actor=world.staff, now=NOW)
    orders.accept(session, offer.id, volunteer=world.volunteers[0], now=NOW)
    orders.cancel_order(session, order.id, {"reason": "家属安排了"}, actor=world.staff, now=NOW)
    session.commit()
    assert ledger.balance(session, pool).held == 0 and ledger.balance(session, pool).posted == 120


def test_a_pool_short_of_hours_is_refused_before_anything_is_booked(session, world: World, org_tree):
    fill_pool(session, world, org_tree["east"].id, 30)
    with pytest.raises(DomainError):
        world.make_order(payer="pool")
    session.rollback()
    assert world.need.status == "recorded"
