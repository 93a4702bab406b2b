"""Correcting a paid home visit corrects what the payer paid: refunded and paid again, in the correction's own transaction."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from tests.conftest import NOW, signed_in
from tests.gifts.factories import fill_pool, fund
from tests.needs import order_world
from tests.needs.order_world import SECRET, WINDOW_START, World
from timebank import ledger
from timebank.domain import DomainError
from timebank.events import review, writeoff
from timebank.events.models import Attendance
from timebank.ledger import rules
from timebank.ledger.models import Commodity, Transaction
from timebank.needs import orders, payment, pool_statement, visits
from timebank.people.access import actor_for

world = order_world.world  # the fixture
APPROVED_AT = WINDOW_START + dt.timedelta(hours=4)
LATER = APPROVED_AT + dt.timedelta(days=1)


def hour(session, person_id: int) -> int:
    return ledger.balance(session, rules.volunteer_code(person_id, Commodity.HOUR)).posted


@pytest.fixture
def paying_resident(session, world: World, make_person):
    """张奶奶 holds an account of her own with 4 h of time credit."""
    elder = make_person(name="张奶奶", birth_date="1940-02-01")
    fund(session, elder, 240)
    world.resident.person_id = elder.id
    session.commit()
    return elder


def served(session, world: World, *, payer: str, minutes: int = 120) -> Attendance:
    """A visit of `minutes`, paid by `payer` with 2 h set aside, approved by the social worker."""
    order = world.make_order(payer=payer, expected_minutes=120)
    [offer] = orders.dispatch(session, order.id, {"volunteer_ids": [world.volunteers[0].id]}, actor=world.staff, now=NOW)
    orders.accept(session, offer.id, volunteer=world.volunteers[0], now=NOW)
    for step, at in (("start", WINDOW_START), ("end", WINDOW_START + dt.timedelta(minutes=minutes))):
        visits.confirm_step(session, offer.id, step, {"method": "staff"}, actor=world.staff, secret_key=SECRET, now=at)
    attendance = review.approve_attendance(session, offer.attendance_id, actor=world.staff, now=APPROVED_AT)
    session.commit()
    return attendance


@pytest.fixture(params=["service", "http"])
def correct(request, session, world: World, monkeypatch):
    """Correct an attendance to `minutes` through the service (committing as a view does) or the JSON API; None, or the refusal's message."""
    if request.param == "service":
        def through_service(attendance_id: int, minutes: int) -> str | None:
            try:
                review.adjust_minutes(session, attendance_id, {"minutes": minutes, "reason": "更正时长"}, actor=world.staff, now=LATER)
            except DomainError as refused:
                session.rollback()
                return str(refused)
            session.commit()
            return None

        return through_service
    monkeypatch.setattr("timebank.events.api.now", lambda: LATER)
    client = signed_in(request.getfixturevalue("app"), world.social_worker)

    def through_http(attendance_id: int, minutes: int) -> str | None:
        session.commit()  # the test's own reads end before the request writes
        answer = client.post(f"/api/v1/attendances/{attendance_id}/adjust", json={"minutes": minutes, "reason": "更正时长"})
        session.expire_all()
        if answer.status_code == 200:
            return None
        assert answer.status_code == 409, answer.get_data(as_text=True)
        return answer.json["message"]

    return through_http


def correction_postings(session, attendance: Attendance) -> list[Transaction]:
    """The payments and refunds of the attendance's visit after its approval."""
    assignment = visits._visit_of(session, attendance)
    return list(session.scalars(select(Transaction).where(
        Transaction.ref_type == "assignment", Transaction.ref_id == assignment.id, Transaction.created_at == LATER,
    ).order_by(Transaction.id)))


def test_a_visit_corrected_down_gives_the_payer_the_difference_back(session, world: World, paying_resident, correct):
    attendance = served(session, world, payer="resident")
    volunteer = world.volunteers[0].id
    assert (hour(session, paying_resident.id), hour(session, volunteer)) == (120, 120)

    assert correct(attendance.id, 60) is None

    assert (hour(session, paying_resident.id), hour(session, volunteer)) == (180, 60)
    assert ledger.balance(session, rules.volunteer_code(volunteer, Commodity.CERT, "elderly")).posted == 60
    refund, paid = correction_postings(session, attendance)
    assert (refund.kind, paid.kind) == ("reversal", "service_purchase")
    assert {refund.actor_id, paid.actor_id} == {world.social_worker.id}
    assert list(ledger.verify(session)) == []


def test_a_visit_corrected_up_charges_the_payer_the_difference(session, world: World, paying_resident, correct):
    attendance = served(session, world, payer="resident", minutes=60)  # 2 h set aside, 1 h paid
    assert (hour(session, paying_resident.id), hour(session, world.volunteers[0].id)) == (180, 60)

    assert correct(attendance.id, 120) is None

    assert (hour(session, paying_resident.id), hour(session, world.volunteers[0].id)) == (120, 120)
    assert list(ledger.verify(session)) == []


def test_a_correction_past_the_hours_set_aside_charges_the_payer_no_more_than_approval_would(
    session, world: World, paying_resident, correct
):
    # The payer agreed to 2 h: a visit approved at 2.5 h pays 2 h, and so does one corrected to 2.5 h or 3 h.
    attendance = served(session, world, payer="resident", minutes=150)
    volunteer = world.volunteers[0].id
    assert (hour(session, paying_resident.id), hour(session, volunteer)) == (120, 120)

    assert correct(attendance.id, 180) is None

    assert (hour(session, paying_resident.id), hour(session, volunteer)) == (120, 120)
    assert ledger.balance(session, rules.volunteer_code(volunteer, Commodity.CERT, "elderly")).posted == 180
    assert list(ledger.verify(session)) == []


def test_a_correction_up_beyond_the_payer_s_hours_is_refused_naming_the_payer_and_nothing_changes(
    session, world: World, paying_resident, correct
):
    attendance = served(session, world, payer="resident", minutes=60)
    rules.open_pool_account(session, world.need.organisation_id, now=LATER)
    ledger.post(session, rules.donation_legs(paying_resident.id, world.need.organisation_id, 150), kind="donation",
                idempotency_key="gave-it", actor=paying_resident.id, now=LATER)
    session.commit()
    before = session.scalar(select(Transaction.id).order_by(Transaction.id.desc()).limit(1))

    refused = correct(attendance.id, 120)

    assert refused in (
        "张奶奶 has 0.5 h of time credit available; correcting this visit to 2 h takes 1 h more from them, 0.5 h missing. Nothing was changed.",
        "张奶奶 的可用时间为 0.5 小时；把这次服务更正为 2 小时要再从其账户支付 1 小时，还差 0.5 小时。未作任何改动。",
    ), refused
    session.expire_all()
    assert session.scalar(select(Transaction.id).order_by(Transaction.id.desc()).limit(1)) == before
    assert session.get(Attendance, attendance.id).credited_minutes == 60
    assert (hour(session, paying_resident.id), hour(session, world.volunteers[0].id)) == (30, 60)
    assert list(ledger.verify(session)) == []


def test_a_visit_corrected_to_zero_pays_everything_back(session, world: World, paying_resident, correct):
    attendance = served(session, world, payer="resident")

    assert correct(attendance.id, 0) is None

    assert (hour(session, paying_resident.id), hour(session, world.volunteers[0].id)) == (240, 0)
    assert [t.kind for t in correction_postings(session, attendance)] == ["reversal"]
    assert payment.current_payment(session, visits._visit_of(session, attendance)) is None
    assert list(ledger.verify(session)) == []


def test_a_pool_paid_visit_corrected_down_shows_on_the_pool_statement(session, world: World, org_tree, make_person, correct):
    east = org_tree["east"].id
    fill_pool(session, east, 180, donor=make_person(name="捐赠人"))
    attendance = served(session, world, payer="pool")

    assert correct(attendance.id, 60) is None

    coordinator = actor_for(session, make_person("coordinator", name="王协调"))
    statement = pool_statement.statement(session, east, actor=coordinator)
    assert statement.figures.balance == 120 and hour(session, world.volunteers[0].id) == 60
    assert [(line.movement, line.amount) for line in statement.lines[:2]] == [("spent", -60), ("correction", 120)]
    assert list(ledger.verify(session)) == []


def test_corrected_twice_each_correction_has_its_own_keys(session, world: World, paying_resident):
    attendance = served(session, world, payer="resident")
    for minutes in (60, 90):
        review.adjust_minutes(session, attendance.id, {"minutes": minutes, "reason": "更正"}, actor=world.staff, now=LATER)
    session.commit()
    keys = [t.idempotency_key for t in correction_postings(session, attendance)]
    assignment = visits._visit_of(session, attendance).id
    assert keys == [f"assignment:{assignment}:refund:v1", f"assignment:{assignment}:pay:v1",
                    f"assignment:{assignment}:refund:v2", f"assignment:{assignment}:pay:v2"]
    assert (hour(session, paying_resident.id), hour(session, world.volunteers[0].id)) == (150, 90)
    assert list(ledger.verify(session)) == []


def test_hours_the_volunteer_spent_are_refused_and_a_coordinator_writes_them_off(session, world: World, paying_resident, make_person):
    attendance = served(session, world, payer="resident")
    volunteer = world.volunteers[0].id
    rules.open_pool_account(session, world.need.organisation_id, now=LATER)
    ledger.post(session, rules.donation_legs(volunteer, world.need.organisation_id, 90), kind="donation",
                idempotency_key="spent-it", actor=volunteer, now=LATER)
    session.commit()

    with pytest.raises(review.CreditSpent) as refused:
        review.adjust_minutes(session, attendance.id, {"minutes": 0, "reason": "未服务"}, actor=world.staff, now=LATER)
    session.rollback()
    assert refused.value.params["short_minutes"] == 90

    coordinator = actor_for(session, make_person("coordinator", name="王协调"))
    _, written_off = writeoff.write_off_and_correct(session, attendance.id, {"minutes": 0, "reason": "未服务，时间已捐出"},
                                                    actor=coordinator, now=LATER)
    session.commit()
    assert written_off.actor_id == coordinator.id
    assert (hour(session, paying_resident.id), hour(session, volunteer)) == (240, 0)
    assert list(ledger.verify(session)) == []
