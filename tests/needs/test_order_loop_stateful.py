"""Random walks through the order loop (hypothesis stateful): whatever the order of dispatches, claims, answers,
time-outs, cancellations, visits, approvals, corrections and reviews, of orders free or paid from the resident's
hours, no place is held twice, nothing is paid twice, every hold resolves once, and the ledger verifies.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule, run_state_machine_as_test
from sqlalchemy import func, select

from tests.conftest import NOW
from tests.gifts.factories import fund
from tests.needs.order_world import SECRET, add_need, add_resident
from timebank import ledger
from timebank.domain import DomainError
from timebank.events import review
from timebank.events.models import Attendance
from timebank.ledger.models import Hold, Transaction
from timebank.needs import orders, payment, ratings, visits
from timebank.needs.models import LIVE_ASSIGNMENT, Assignment, Order
from timebank.people.access import actor_for

pick = st.integers(min_value=0, max_value=1000)


def machine(session, staff, volunteers, organisation_id, make_payer):
    """The state machine over one database session, with a fresh resident (paying with hours of their own) and need per example."""

    class OrderLoop(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.now = NOW
            resident = add_resident(session, organisation_id, person_id=make_payer().id)
            self.need = add_need(session, resident, recorded_by=staff.id)
            session.commit()
            self.orders: list[int] = []

        # -- helpers ----------------------------------------------------------------------

        def attempt(self, action) -> None:
            """Run one step: a refusal rolls back and changes nothing."""
            try:
                action()
                session.commit()
            except (DomainError, ledger.LedgerError):
                session.rollback()

        def order(self, n: int) -> Order | None:
            return session.get(Order, self.orders[n % len(self.orders)]) if self.orders else None

        def assignment(self, n: int, *statuses: str) -> Assignment | None:
            """One of this example's assignments, among those in `statuses` (mostly) so the walk goes somewhere."""
            stmt = select(Assignment).join(Order).where(Order.need_id == self.need.id).order_by(Assignment.id)
            if statuses and n % 5:  # now and then any assignment, to try steps out of turn
                stmt = stmt.where(Assignment.status.in_(statuses))
            found = list(session.scalars(stmt))
            return found[n % len(found)] if found else None

        def tick(self, minutes: int) -> None:
            self.now += dt.timedelta(minutes=minutes)

        # -- rules ------------------------------------------------------------------------------

        @initialize(slots=st.integers(min_value=1, max_value=3), claims=st.booleans(), payer=st.sampled_from(("none", "resident")))
        def first_order(self, slots: int, claims: bool, payer: str) -> None:
            self.make_order(slots, claims, payer)

        @initialize(n=pick)
        def a_paid_visit_approved(self, n: int) -> None:
            """Every walk starts with an approved visit paid from the resident's hours, for `correct_paid` to work on."""
            self.make_order(1, False, "resident")
            if self.orders:
                self.serve(n, True)

        @rule(slots=st.integers(min_value=1, max_value=3), claims=st.booleans(), payer=st.sampled_from(("none", "resident")))
        def make_order(self, slots: int, claims: bool, payer: str) -> None:
            data = {"category": "elderly", "slots": slots, "open_for_claims": claims, "expected_minutes": 60, "payer": payer,
                    "window_start": (self.now + dt.timedelta(hours=1)).isoformat(), "window_end": (self.now + dt.timedelta(hours=8)).isoformat()}

            def make() -> None:
                self.orders.append(orders.create_order(session, self.need.id, data, actor=staff, now=self.now).id)

            self.attempt(make)

        @rule(n=pick, v=pick)
        def dispatch(self, n: int, v: int) -> None:
            order = self.order(n)
            if order is not None:
                volunteer = volunteers[v % len(volunteers)]
                self.attempt(lambda: orders.dispatch(session, order.id, {"volunteer_ids": [volunteer.id]}, actor=staff, now=self.now))

        @rule(n=pick, v=pick)
        def claim(self, n: int, v: int) -> None:
            order = self.order(n)
            if order is not None:
                self.attempt(lambda: orders.claim(session, order.id, volunteer=volunteers[v % len(volunteers)], now=self.now))

        @rule(n=pick, yes=st.booleans())
        def answer(self, n: int, yes: bool) -> None:
            a = self.assignment(n, "offered")
            if a is not None:
                volunteer = a.volunteer
                if yes:
                    self.attempt(lambda: orders.accept(session, a.id, volunteer=volunteer, now=self.now))
                else:
                    self.attempt(lambda: orders.decline(session, a.id, {}, volunteer=volunteer, now=self.now))

        @rule(minutes=st.sampled_from((10, 60, 240, 25 * 60)))
        def time_passes(self, minutes: int) -> None:
            self.tick(minutes)
            self.attempt(lambda: orders.expire_offers(session, now=self.now))

        @rule(n=pick, approve=st.booleans())
        def serve(self, n: int, approve: bool) -> None:
            """The whole way to an ended (or approved) visit in one step, so walks reach approval and corrections often enough."""
            order = self.order(n)
            if order is None:
                return
            volunteer = volunteers[n % len(volunteers)]

            def go() -> None:
                [offer] = orders.dispatch(session, order.id, {"volunteer_ids": [volunteer.id]}, actor=staff, now=self.now)
                orders.accept(session, offer.id, volunteer=volunteer, now=self.now)
                start = max(self.now, order.window_start)
                visits.confirm_step(session, offer.id, "start", {"method": "staff"}, actor=staff, secret_key=SECRET, now=start)
                self.now = start + dt.timedelta(minutes=45 + n % 60)
                visits.confirm_step(session, offer.id, "end", {"method": "staff"}, actor=staff, secret_key=SECRET, now=self.now)
                if approve:
                    self.now = max(self.now, order.window_end) + dt.timedelta(minutes=5)
                    review.approve_attendance(session, offer.attendance_id, actor=staff, now=self.now)

            self.attempt(go)

        @precondition(lambda self: self.orders)
        @rule(n=pick)
        def cancel(self, n: int) -> None:
            order = self.order(n)
            if order is not None:
                self.attempt(lambda: orders.cancel_order(session, order.id, {"reason": "不需要了"}, actor=staff, now=self.now))

        @rule(n=pick, step=st.sampled_from(("start", "end")))
        def visit(self, n: int, step: str) -> None:
            a = self.assignment(n, "accepted" if step == "start" else "started")
            if a is not None:
                if step == "start" and a.status == "accepted":
                    self.now = max(self.now, a.order.window_start)
                self.tick(30)
                self.attempt(lambda: visits.confirm_step(session, a.id, step, {"method": "staff"}, actor=staff, secret_key=SECRET, now=self.now))

        @rule(n=pick)
        def no_show(self, n: int) -> None:
            a = self.assignment(n, "accepted")
            if a is not None:
                self.attempt(lambda: orders.record_no_show(session, a.id, {"reason": "没来"}, actor=staff, now=self.now))

        @rule(n=pick, approve=st.booleans())
        def decide(self, n: int, approve: bool) -> None:
            a = self.assignment(n, "ended")
            if a is not None and a.attendance_id is not None:
                self.tick(5)
                if approve:
                    self.attempt(lambda: review.approve_attendance(session, a.attendance_id, actor=staff, now=self.now))
                else:
                    self.attempt(lambda: review.reject_attendance(session, a.attendance_id, "未服务", actor=staff, now=self.now))

        @rule(n=pick, minutes=st.integers(min_value=0, max_value=240))
        def correct(self, n: int, minutes: int) -> None:
            a = self.assignment(n, "approved", "ended")
            if a is not None and a.attendance_id is not None:
                self.attempt(lambda: review.adjust_minutes(session, a.attendance_id, {"minutes": minutes, "reason": "核对"}, actor=staff, now=self.now))

        @rule(n=pick, minutes=st.integers(min_value=0, max_value=400))
        def correct_paid(self, n: int, minutes: int) -> None:
            """Correct an approved visit paid from the resident's hours: refunded and paid again, or refused whole."""
            stmt = (select(Assignment).join(Order).where(Order.need_id == self.need.id, Order.payer != "none",
                                                          Assignment.status == "approved").order_by(Assignment.id))
            found = list(session.scalars(stmt))
            if found:
                a = found[n % len(found)]
                self.tick(5)
                self.attempt(lambda: review.adjust_minutes(session, a.attendance_id, {"minutes": minutes, "reason": "核对"}, actor=staff, now=self.now))

        @rule(n=pick, stars=st.integers(min_value=1, max_value=5))
        def rate(self, n: int, stars: int) -> None:
            a = self.assignment(n, "ended", "approved", "rejected")
            if a is not None:
                self.attempt(lambda: ratings.rate(session, a.id, {"stars": stars}, actor=staff, now=self.now))

        # -- what always holds --------------------------------------------------------------

        @invariant()
        def no_place_is_held_twice(self) -> None:
            live = list(session.execute(select(Assignment.order_id, Assignment.slot, Assignment.volunteer_id)
                                        .where(Assignment.status.in_(LIVE_ASSIGNMENT))))
            assert len({(o, s) for o, s, _ in live}) == len(live)
            assert len({(o, v) for o, _, v in live}) == len(live)
            for order in session.scalars(select(Order)):
                assert all(1 <= a.slot <= order.slots for a in order.assignments)
            session.commit()

        @invariant()
        def nothing_is_paid_twice(self) -> None:
            for attendance in session.scalars(select(Attendance).where(Attendance.transaction_id.is_not(None))):
                credits = session.scalar(select(func.count()).select_from(Transaction).where(
                    Transaction.ref_type == "attendance", Transaction.ref_id == attendance.id, Transaction.kind == "service_credit"))
                reversals = session.scalar(select(func.count()).select_from(Transaction).where(
                    Transaction.kind == "reversal", Transaction.reverses_id.in_(
                        select(Transaction.id).where(Transaction.ref_type == "attendance", Transaction.ref_id == attendance.id))))
                assert credits - reversals == 1  # exactly one standing credit per credited visit
            approved = session.scalars(select(Assignment).where(Assignment.status == "approved"))
            assert all(session.get(Attendance, a.attendance_id).status == "approved" for a in approved)
            for a in session.scalars(select(Assignment).join(Order).where(Order.need_id == self.need.id, Assignment.hold_id.is_not(None))):
                payments = list(session.scalars(select(Transaction).where(
                    Transaction.ref_type == "assignment", Transaction.ref_id == a.id, Transaction.kind == "service_purchase")))
                refunds = session.scalar(select(func.count()).select_from(Transaction).where(
                    Transaction.reverses_id.in_([p.id for p in payments])))
                standing = payment.current_payment(session, a)
                assert len(payments) - refunds == (standing is not None)  # at most one standing payment per visit
                if standing is not None:  # and it pays no more than the visit's credited minutes
                    paid = -min(p.amount for p in standing.postings)
                    assert a.status == "approved" and paid <= session.get(Attendance, a.attendance_id).credited_minutes
            session.commit()

        @invariant()
        def every_hold_resolves_once(self) -> None:
            for a in session.scalars(select(Assignment).where(Assignment.hold_id.is_not(None))):
                hold = session.get(Hold, a.hold_id)
                assert (hold.status == "open") == (a.status in ("accepted", "started", "ended"))
            session.commit()

        @invariant()
        def the_ledger_verifies(self) -> None:
            assert list(ledger.verify(session)) == []
            session.commit()

    return OrderLoop


@pytest.mark.slow
def test_random_walks_through_the_order_loop_keep_every_rule(session, make_person, org_tree):
    staff_person = make_person("social_worker", name="王社工")
    volunteers = [make_person(name=name, service_categories=["elderly"]) for name in ("赵志愿", "钱志愿", "孙志愿", "李志愿")]
    staff = actor_for(session, staff_person)
    session.commit()

    def make_payer():
        """A resident of 86 with 5 h of their own: enough for some visits and corrections, not for every one."""
        person = make_person(name="张奶奶", birth_date="1940-02-01")
        fund(session, person, 300)
        return person

    run_state_machine_as_test(
        machine(session, staff, volunteers, org_tree["east"].id, make_payer),
        settings=settings(max_examples=4, stateful_step_count=20, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]),
    )
