"""Services paid with hours: the payer's checks, the hold at acceptance, and its capture, release or refund, each once."""

from __future__ import annotations

import datetime as dt

import pytest

from timebank import ledger
from timebank.gifts.eligibility import LinkNotConfirmed, NotEnoughHours, NotLinked, NotYetEligible
from timebank.ledger import rules
from timebank.ledger.models import Commodity, Hold, Transaction
from timebank.needs import payment, pool
from timebank.orgs.services import set_policies
from tests.conftest import NOW, SYSTEM
from tests.gifts.factories import fill_pool, fund, link_family, make_assignment, make_need, make_order, make_resident

LATER = NOW + dt.timedelta(days=1, hours=3)


def hour_balance(session, person_id):
    return ledger.balance(session, rules.volunteer_code(person_id, Commodity.HOUR))


@pytest.fixture
def people(make_person, session):
    """A resident who is also a volunteer (with 3 h), their son, a serving volunteer, and a coordinator."""
    elder = make_person(name="张奶奶", birth_date="1940-05-01")
    son = make_person(name="张小明")
    volunteer = make_person(name="李志愿")
    coordinator = make_person("coordinator", name="王协调")
    fund(session, elder, 180)
    fund(session, volunteer, 0 + 60)
    return elder, son, volunteer, coordinator


@pytest.fixture
def need(session, org_tree, people):
    elder = people[0]
    return make_need(session, make_resident(session, org_tree["east"].id, person=elder, born=dt.date(1940, 5, 1)))


def check(session, need, payer, minutes=60, **payer_ids):
    payment.check_payer(session, need=need, payer=payer, minutes=minutes, now=NOW, **payer_ids)


def test_an_order_not_paid_in_hours_needs_no_payer_and_holds_nothing(session, need, people):
    check(session, need, "none", minutes=10_000)
    assignment = make_assignment(session, make_order(session, need), people[2])
    assert payment.reserve(session, assignment, actor=1, now=NOW) is None
    assert payment.settle(session, assignment, 60, actor=1, now=LATER) is None
    assert payment.release(session, assignment, actor=1, now=LATER) is None


def test_a_resident_short_of_hours_is_told_the_balance_and_the_shortfall_before_anything_is_booked(session, need, people):
    with pytest.raises(NotEnoughHours) as refused:
        check(session, need, "resident", minutes=240)
    assert str(refused.value) == "张奶奶 has 3 h of time credit available; 4 h are needed, 1 h missing."
    assert session.query(Hold).count() == 0


def test_a_resident_without_an_account_of_their_own_cannot_pay(session, org_tree, people):
    need = make_need(session, make_resident(session, org_tree["east"].id, name="赵爷爷"))
    with pytest.raises(NotYetEligible, match="赵爷爷 has no time bank account of their own"):
        check(session, need, "resident")


def test_a_resident_under_the_policy_age_to_spend_is_told_the_age(session, org_tree, need):
    set_policies(session, org_tree["east"].id, {"min_age_to_spend_hours": 90}, actor=SYSTEM, now=NOW)
    with pytest.raises(NotYetEligible) as refused:
        check(session, need, "resident")
    assert str(refused.value) == "张奶奶 may spend hours from the age of 90, and is 86."


def test_a_payer_below_the_policy_star_level_is_told_the_level(session, org_tree, need):
    set_policies(session, org_tree["east"].id, {"min_star_to_spend_hours": 1}, actor=SYSTEM, now=NOW)
    with pytest.raises(NotYetEligible, match="from 1 stars on, and has 0 so far"):
        check(session, need, "resident")


def test_a_family_member_pays_only_along_a_confirmed_link(session, need, people):
    elder, son = people[0], people[1]
    fund(session, son, 120)
    with pytest.raises(NotLinked, match="张小明 and 张奶奶 are not linked as family"):
        check(session, need, "family", payer_person_id=son.id)
    link = link_family(session, elder, son, confirmed=False)
    with pytest.raises(LinkNotConfirmed):
        check(session, need, "family", payer_person_id=son.id)
    link.confirmed_at = NOW
    session.commit()
    check(session, need, "family", payer_person_id=son.id, minutes=120)
    with pytest.raises(NotEnoughHours, match="张小明 has 2 h"):
        check(session, need, "family", payer_person_id=son.id, minutes=150)


def test_the_pool_pays_only_what_it_has_with_the_need_s_allocation(session, org_tree, need, people):
    coordinator = people[3]
    with pytest.raises(payment.PoolShort) as refused:
        check(session, need, "pool", minutes=90)
    assert "has 0 h available (0 h of it set aside for this need); 1.5 h are needed, 1.5 h missing" in str(refused.value)
    fill_pool(session, org_tree["east"].id, 120, donor=people[1])
    pool.allocate(session, need.id, 90, actor=actor_of(session, coordinator), now=NOW)
    check(session, need, "pool", minutes=120)  # 90 set aside + 30 still available
    with pytest.raises(payment.PoolShort, match="1.5 h of it set aside"):
        check(session, need, "pool", minutes=121)
    with pytest.raises(payment.PaymentRefused, match="its own community's pool"):
        check(session, need, "pool", payer_organisation_id=org_tree["west"].id)


def actor_of(session, person):
    from timebank.people.access import actor_for
    return actor_for(session, person)


def test_acceptance_holds_the_expected_minutes_on_the_payer_once(session, need, people):
    elder, volunteer = people[0], people[2]
    assignment = make_assignment(session, make_order(session, need, payer="resident", minutes=90), volunteer)
    held = payment.reserve(session, assignment, actor=volunteer.id, now=NOW)
    assert payment.reserve(session, assignment, actor=volunteer.id, now=NOW).id == held.id
    session.commit()
    assert assignment.hold_id == held.id and held.amount == 90
    assert hour_balance(session, elder.id) == ledger.Balance(posted=180, held=90)


def test_approval_pays_the_served_minutes_to_the_volunteer_and_frees_the_rest_once(session, need, people):
    elder, volunteer = people[0], people[2]
    assignment = make_assignment(session, make_order(session, need, payer="resident", minutes=90), volunteer)
    payment.reserve(session, assignment, actor=volunteer.id, now=NOW)
    txn = payment.settle(session, assignment, 60, actor=1, now=LATER)
    assert payment.settle(session, assignment, 60, actor=1, now=LATER).id == txn.id
    session.commit()
    assert txn.kind == "service_purchase" and (txn.ref_type, txn.ref_id) == ("assignment", assignment.id)
    assert hour_balance(session, elder.id) == ledger.Balance(posted=120, held=0)
    assert hour_balance(session, volunteer.id).posted == 120
    with pytest.raises(payment.PaymentRefused, match="already paid"):
        payment.release(session, assignment, actor=1, now=LATER)


def test_settling_more_than_was_held_pays_only_what_was_held(session, need, people):
    volunteer = people[2]
    assignment = make_assignment(session, make_order(session, need, payer="resident", minutes=60), volunteer)
    payment.reserve(session, assignment, actor=volunteer.id, now=NOW)
    payment.settle(session, assignment, 120, actor=1, now=LATER)
    assert hour_balance(session, volunteer.id).posted == 120


def test_cancellation_gives_the_hold_back_once_and_then_nothing_can_be_paid(session, need, people):
    elder, volunteer = people[0], people[2]
    assignment = make_assignment(session, make_order(session, need, payer="resident"), volunteer)
    payment.reserve(session, assignment, actor=volunteer.id, now=NOW)
    first = payment.release(session, assignment, actor=1, now=LATER)
    assert payment.release(session, assignment, actor=1, now=LATER).id == first.id
    session.commit()
    assert first.status == "released"
    assert hour_balance(session, elder.id) == ledger.Balance(posted=180, held=0)
    with pytest.raises(payment.PaymentRefused, match="already given back"):
        payment.settle(session, assignment, 60, actor=1, now=LATER)


def test_a_correction_refunds_the_payment_once(session, need, people):
    elder, volunteer = people[0], people[2]
    assignment = make_assignment(session, make_order(session, need, payer="resident"), volunteer)
    payment.reserve(session, assignment, actor=volunteer.id, now=NOW)
    paid = payment.settle(session, assignment, 60, actor=1, now=LATER)
    refund = payment.refund(session, assignment, actor=2, now=LATER)
    assert payment.refund(session, assignment, actor=2, now=LATER).id == refund.id
    session.commit()
    assert refund.reverses_id == paid.id
    assert hour_balance(session, elder.id).posted == 180
    assert hour_balance(session, volunteer.id).posted == 60
    assert list(ledger.verify(session)) == []


def test_a_refund_the_volunteer_already_spent_is_refused_in_words(session, need, people):
    volunteer = people[2]
    assignment = make_assignment(session, make_order(session, need, payer="resident"), volunteer)
    payment.reserve(session, assignment, actor=volunteer.id, now=NOW)
    payment.settle(session, assignment, 60, actor=1, now=LATER)
    rules.open_pool_account(session, 999, now=NOW)
    ledger.post(session, rules.donation_legs(volunteer.id, 999, 90), kind="donation", idempotency_key="spend", actor=volunteer.id, now=LATER)
    with pytest.raises(payment.RefundRefused) as refused:
        payment.refund(session, assignment, actor=2, now=LATER)
    assert str(refused.value).startswith("李志愿 has already spent the time credit from this visit: 0.5 h of the 1 h")


def test_a_pool_paid_visit_draws_on_the_need_s_allocation_and_the_rest_stays_set_aside(session, org_tree, need, people):
    east, volunteer = org_tree["east"].id, people[2]
    fill_pool(session, east, 120, donor=people[1])
    allocation = pool.allocate(session, need.id, 100, actor=actor_of(session, people[3]), now=NOW)
    assignment = make_assignment(session, make_order(session, need, payer="pool", minutes=60), volunteer)
    held = payment.reserve(session, assignment, actor=volunteer.id, now=NOW)
    session.commit()
    assert held.account.code == rules.pool_code(east) and held.amount == 60
    assert allocation.status == "open" and pool.set_aside(session, need.id) == 40
    assert pool.figures(session, east) == pool.PoolFigures(balance=120, held=100)
    payment.settle(session, assignment, 45, actor=1, now=LATER)
    session.commit()
    assert pool.figures(session, east) == pool.PoolFigures(balance=75, held=40)
    assert hour_balance(session, volunteer.id).posted == 105


def test_a_visit_taking_the_whole_allocation_spends_it(session, org_tree, need, people):
    fill_pool(session, org_tree["east"].id, 120, donor=people[1])
    allocation = pool.allocate(session, need.id, 60, actor=actor_of(session, people[3]), now=NOW)
    assignment = make_assignment(session, make_order(session, need, payer="pool", minutes=90), people[2])
    payment.reserve(session, assignment, actor=people[2].id, now=NOW)
    assert allocation.status == "spent" and pool.set_aside(session, need.id) == 0
    assert pool.figures(session, org_tree["east"].id) == pool.PoolFigures(balance=120, held=90)


@pytest.mark.parametrize("to_pool", [False, True])
def test_settling_respects_the_volunteer_s_storage_cap_as_deposits_do(session, org_tree, need, people, to_pool):
    elder, volunteer = people[0], people[2]
    set_policies(session, org_tree["east"].id, {"hour_cap_minutes": 90, "hours_over_cap_to_pool": to_pool}, actor=SYSTEM, now=NOW)
    assignment = make_assignment(session, make_order(session, need, payer="resident", minutes=60), volunteer)
    payment.reserve(session, assignment, actor=volunteer.id, now=NOW)
    payment.settle(session, assignment, 60, actor=1, now=LATER)
    session.commit()
    assert hour_balance(session, volunteer.id).posted == 90  # 60 + 30 under the cap
    assert hour_balance(session, elder.id).posted == (120 if to_pool else 150)
    assert pool.figures(session, org_tree["east"].id).balance == (30 if to_pool else 0)


def test_a_volunteer_at_the_cap_is_not_paid_and_the_payer_keeps_the_hours(session, org_tree, need, people):
    elder, volunteer = people[0], people[2]
    set_policies(session, org_tree["east"].id, {"hour_cap_minutes": 60}, actor=SYSTEM, now=NOW)
    assignment = make_assignment(session, make_order(session, need, payer="resident"), volunteer)
    payment.reserve(session, assignment, actor=volunteer.id, now=NOW)
    assert payment.settle(session, assignment, 60, actor=1, now=LATER) is None
    session.commit()
    assert hour_balance(session, elder.id) == ledger.Balance(posted=180, held=0)
    assert session.query(Transaction).filter_by(kind="service_purchase").count() == 0
