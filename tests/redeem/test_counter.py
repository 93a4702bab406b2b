"""The counter's rules, through the services: one basket redeems once, every refusal says why and leaves nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event, func, select

from timebank.auth.codes import MemberCodeExpired, MemberCodeRevoked, card_code, issue_new_card, phone_code
from timebank.ledger import balance, rules, verify
from timebank.ledger.models import Commodity, Transaction
from timebank.orgs.services import set_policies
from timebank.people.access import actor_for
from timebank.redeem import catalogue, counter, reports
from timebank.redeem.models import Redemption, StockMovement
from timebank.redeem.services import create_station
from timebank.domain import InvalidInput, NotAllowed
from tests.conftest import NOW, SECRET, SYSTEM
from tests.redeem.conftest import basket, visit_ticket


def points_of(session, person) -> int:
    return balance(session, rules.volunteer_code(person.id, Commodity.PTS)).posted


def test_redeeming_a_basket_moves_points_to_the_station_and_takes_stock(session, shop, make_person, fund):
    volunteer = make_person(name="张秀英")
    fund(volunteer, points=200)
    ticket = visit_ticket(session, shop, volunteer)
    redemption, new = counter.redeem(session, shop.counter(session), basket(ticket, (shop.rice, 2), (shop.haircut, 1)), SECRET, now=NOW)
    session.commit()
    assert new and redemption.points == 140 and redemption.minutes == 0
    assert redemption.number.startswith("DH20261120-")
    assert points_of(session, volunteer) == 60
    assert balance(session, rules.station_code(shop.station.id)).posted == 140
    assert catalogue.stock_level(session, shop.station.id, shop.rice.id) == 8
    assert session.get(Transaction, redemption.transaction_id).actor_id == shop.clerk.id
    assert [(line.item_name, line.quantity, line.amount) for line in redemption.lines] == [("大米 5kg", 2, 120), ("理发服务", 1, 20)]
    assert reports.reconcile(session, shop.station).agrees
    assert list(verify(session)) == []


def test_the_same_basket_key_twice_redeems_once_and_returns_the_first_redemption(session, shop, make_person, fund):
    volunteer = make_person()
    fund(volunteer, points=200)
    request = basket(visit_ticket(session, shop, volunteer), (shop.rice, 1), key="basket-double-tap")
    first, _ = counter.redeem(session, shop.counter(session), request, SECRET, now=NOW)
    session.commit()
    again, new = counter.redeem(session, shop.counter(session), request, SECRET, now=NOW + dt.timedelta(seconds=3))
    session.commit()
    assert not new and again.id == first.id
    assert points_of(session, volunteer) == 140
    assert session.scalar(select(func.count()).select_from(Redemption)) == 1


def test_a_basket_key_reused_for_other_items_is_refused(session, shop, make_person, fund):
    volunteer = make_person()
    fund(volunteer, points=200)
    ticket = visit_ticket(session, shop, volunteer)
    counter.redeem(session, shop.counter(session), basket(ticket, (shop.rice, 1), key="basket-reused"), SECRET, now=NOW)
    session.commit()
    with pytest.raises(counter.BasketKeyReused):
        counter.redeem(session, shop.counter(session), basket(ticket, (shop.haircut, 1), key="basket-reused"), SECRET, now=NOW)


def test_not_enough_points_says_how_many_are_missing_and_leaves_nothing(session, shop, make_person, fund):
    volunteer = make_person()
    fund(volunteer, points=50)
    ticket = visit_ticket(session, shop, volunteer)
    with pytest.raises(counter.NotEnoughPoints) as refused:
        counter.redeem(session, shop.counter(session), basket(ticket, (shop.rice, 1)), SECRET, now=NOW)
    session.rollback()
    assert refused.value.params == {"available": 50, "required": 60, "missing": 10}
    assert catalogue.stock_level(session, shop.station.id, shop.rice.id) == 10
    assert session.scalar(select(func.count()).select_from(Redemption)) == 0
    assert points_of(session, volunteer) == 50


def test_out_of_stock_names_the_item_and_what_is_left(session, shop, make_person, fund):
    catalogue.change_stock(session, shop.station.id, {"item_id": shop.rice.id, "change": -9, "reason": "adjusted", "note": "盘点"}, actor=SYSTEM, now=NOW)
    session.commit()
    volunteer = make_person()
    fund(volunteer, points=500)
    with pytest.raises(counter.OutOfStock) as refused:
        counter.redeem(session, shop.counter(session), basket(visit_ticket(session, shop, volunteer), (shop.rice, 2)), SECRET, now=NOW)
    assert refused.value.params == {"item": "大米 5kg", "left": 1, "wanted": 2}


def test_the_daily_limit_counts_what_was_redeemed_today_and_resets_tomorrow(session, shop, make_person, fund):
    volunteer = make_person()
    fund(volunteer, points=1000)
    ticket = visit_ticket(session, shop, volunteer)
    counter.redeem(session, shop.counter(session), basket(ticket, (shop.rice, 2)), SECRET, now=NOW)
    session.commit()
    with pytest.raises(counter.OverDailyLimit) as refused:
        counter.redeem(session, shop.counter(session), basket(ticket, (shop.rice, 1)), SECRET, now=NOW)
    session.rollback()
    assert refused.value.params == {"item": "大米 5kg", "limit": 2, "used": 2}
    tomorrow = NOW + dt.timedelta(days=1)
    counter.redeem(session, shop.counter(session), basket(visit_ticket(session, shop, volunteer, at=tomorrow), (shop.rice, 1)), SECRET, now=tomorrow)


def test_the_monthly_limit_holds_across_days(session, shop, make_person, fund):
    catalogue.update_item(session, shop.haircut.id, {"name": "理发服务", "price": 20, "limit_per_month": 1}, actor=SYSTEM, now=NOW)
    session.commit()
    volunteer = make_person()
    fund(volunteer, points=100)
    counter.redeem(session, shop.counter(session), basket(visit_ticket(session, shop, volunteer), (shop.haircut, 1)), SECRET, now=NOW)
    session.commit()
    later = NOW + dt.timedelta(days=5)
    with pytest.raises(counter.OverMonthlyLimit):
        counter.redeem(session, shop.counter(session), basket(visit_ticket(session, shop, volunteer, at=later), (shop.haircut, 1)), SECRET, now=later)


def test_spending_hours_needs_the_star_level_the_policy_asks_for(session, shop, make_person, fund, org_tree):
    set_policies(session, org_tree["east"].id, {"min_star_to_spend_hours": 1}, actor=SYSTEM, now=NOW)
    session.commit()
    volunteer = make_person()
    fund(volunteer, points=1, minutes=120)
    with pytest.raises(counter.NotEligible) as refused:
        counter.redeem(session, shop.counter(session), basket(visit_ticket(session, shop, volunteer), (shop.care, 1)), SECRET, now=NOW)
    assert refused.value.params == {"stars": 1, "level": 0}


def test_spending_hours_moves_minutes_to_the_station(session, shop, make_person, fund):
    volunteer = make_person()
    fund(volunteer, points=10, minutes=90)
    redemption, _ = counter.redeem(session, shop.counter(session), basket(visit_ticket(session, shop, volunteer), (shop.care, 1)), SECRET, now=NOW)
    session.commit()
    assert redemption.minutes == 60
    assert balance(session, rules.volunteer_code(volunteer.id, Commodity.HOUR)).posted == 30
    with pytest.raises(counter.NotEnoughHours) as refused:
        counter.redeem(session, shop.counter(session), basket(visit_ticket(session, shop, volunteer), (shop.care, 1)), SECRET, now=NOW)
    assert refused.value.params == {"available": "0.5", "required": "1", "missing": "0.5"}


def test_the_counter_refuses_outside_opening_hours(session, shop, make_person, fund):
    volunteer = make_person()
    evening = NOW.replace(hour=13)  # 21:00 in Shanghai
    with pytest.raises(counter.StationClosed) as refused:
        visit_ticket(session, shop, volunteer, at=evening)
    assert refused.value.params == {"hours": "每天 08:00–20:00"}


def test_an_expired_phone_code_and_a_replaced_card_are_refused(session, shop, make_person):
    volunteer = make_person()
    stale = phone_code(volunteer, SECRET, now=NOW - dt.timedelta(minutes=3))
    with pytest.raises(MemberCodeExpired):
        counter.start_visit(session, shop.counter(session), stale, SECRET, now=NOW)
    old_card = card_code(volunteer, SECRET)
    issue_new_card(session, volunteer, actor=SYSTEM, now=NOW)
    with pytest.raises(MemberCodeRevoked):
        counter.start_visit(session, shop.counter(session), old_card, SECRET, now=NOW)


def test_a_clerk_cannot_redeem_for_themself(session, shop):
    with pytest.raises(counter.SelfRedemption):
        visit_ticket(session, shop, shop.clerk)


def test_staff_of_another_station_cannot_open_this_counter(session, shop, make_person, org_tree):
    elsewhere = create_station(session, org_tree["west"].id, {"name": "西关爱心超市"}, actor=SYSTEM, now=NOW)
    session.commit()
    stranger = make_person("station_staff", org="west", station_id=elsewhere.id)
    with pytest.raises(NotAllowed):
        counter.open_counter(session, shop.station.id, actor=actor_for(session, stranger))


def test_a_visit_ticket_expires_and_is_bound_to_its_station(session, shop, make_person, fund):
    volunteer = make_person()
    fund(volunteer, points=100)
    ticket = visit_ticket(session, shop, volunteer)
    later = NOW + dt.timedelta(minutes=counter.VISIT_SECONDS // 60 + 1)
    with pytest.raises(counter.VisitExpired):
        counter.redeem(session, shop.counter(session), basket(ticket, (shop.haircut, 1)), SECRET, now=later)
    with pytest.raises(counter.VisitExpired):
        counter.redeem(session, shop.counter(session), basket(ticket + "x", (shop.haircut, 1)), SECRET, now=NOW)


def test_voiding_the_same_day_reverses_points_and_restores_stock(session, shop, make_person, fund):
    volunteer = make_person()
    fund(volunteer, points=100)
    redemption, _ = counter.redeem(session, shop.counter(session), basket(visit_ticket(session, shop, volunteer), (shop.rice, 1)), SECRET, now=NOW)
    session.commit()
    counter.void_redemption(session, redemption, shop.counter(session), {"reason": "扫错了"}, now=NOW + dt.timedelta(hours=2))
    session.commit()
    assert redemption.status == "voided" and redemption.void_reason == "扫错了"
    assert points_of(session, volunteer) == 100
    assert catalogue.stock_level(session, shop.station.id, shop.rice.id) == 10
    reasons = session.scalars(select(StockMovement.reason).order_by(StockMovement.id)).all()
    assert reasons == ["received", "redeemed", "voided"]
    assert reports.reconcile(session, shop.station).agrees
    assert reports.reconcile(session, shop.station, day=dt.date(2026, 11, 20)).agrees
    with pytest.raises(counter.AlreadyVoided):
        counter.void_redemption(session, redemption, shop.counter(session), {"reason": "again"}, now=NOW)


def test_a_void_puts_the_stock_back_before_it_touches_the_accounts_as_a_basket_takes_them(session, shop, make_person, fund):
    # A basket takes the stock rows, then the accounts; a void taking them the other way round could deadlock with
    # a basket of the same goods on PostgreSQL.
    volunteer = make_person()
    fund(volunteer, points=100)
    redemption, _ = counter.redeem(session, shop.counter(session), basket(visit_ticket(session, shop, volunteer), (shop.rice, 1)), SECRET, now=NOW)
    session.commit()
    here = shop.counter(session)
    writes: list[str] = []

    def seen(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("UPDATE"):
            writes.append(statement.split()[1])

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", seen)
    try:
        counter.void_redemption(session, redemption, here, {"reason": "扫错了"}, now=NOW)
        session.flush()
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert writes.index("station_stock") < writes.index("accounts"), writes


def test_after_the_day_only_a_coordinator_can_void(session, shop, make_person, fund):
    volunteer = make_person()
    fund(volunteer, points=100)
    redemption, _ = counter.redeem(session, shop.counter(session), basket(visit_ticket(session, shop, volunteer), (shop.haircut, 1)), SECRET, now=NOW)
    session.commit()
    next_day = NOW + dt.timedelta(days=1)
    with pytest.raises(counter.VoidTooLate):
        counter.void_redemption(session, redemption, shop.counter(session), {"reason": "退货"}, now=next_day)
    session.rollback()
    coordinator = actor_for(session, make_person("coordinator"))
    counter.void_redemption(session, redemption, counter.open_counter(session, shop.station.id, actor=coordinator), {"reason": "退货"}, now=next_day)
    session.commit()
    assert points_of(session, volunteer) == 100


def test_a_void_needs_a_reason(session, shop, make_person, fund):
    volunteer = make_person()
    fund(volunteer, points=100)
    redemption, _ = counter.redeem(session, shop.counter(session), basket(visit_ticket(session, shop, volunteer), (shop.haircut, 1)), SECRET, now=NOW)
    with pytest.raises(InvalidInput) as refused:
        counter.void_redemption(session, redemption, shop.counter(session), {"reason": ""}, now=NOW)
    assert "reason" in refused.value.errors


def test_a_retry_after_the_visit_ran_out_still_gets_the_first_receipt(session, shop, make_person, fund):
    volunteer = make_person()
    fund(volunteer, points=100)
    request = basket(visit_ticket(session, shop, volunteer), (shop.haircut, 1), key="basket-slow-network")
    first, _ = counter.redeem(session, shop.counter(session), request, SECRET, now=NOW)
    session.commit()
    much_later = NOW + dt.timedelta(hours=1)
    again, new = counter.redeem(session, shop.counter(session), request, SECRET, now=much_later)
    assert not new and again.id == first.id
    with pytest.raises(counter.VisitExpired):
        counter.redeem(session, shop.counter(session), {**request, "idempotency_key": "basket-another-one"}, SECRET, now=much_later)
