"""Real concurrency on a SQLite file and on PostgreSQL: fifty claims of one place, and a cancellation racing an approval."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from tests.conftest import NOW
from tests.ledger.test_concurrency import kinds, race
from tests.needs.order_world import SECRET, WINDOW_START, World, world  # noqa: F401
from timebank import ledger
from timebank.domain import DomainError
from timebank.events import review
from timebank.ledger.models import Transaction
from timebank.needs import orders, visits
from timebank.needs.models import Assignment
from timebank.people.access import actor_for
from timebank.people.models import Person


def test_fifty_volunteers_claiming_one_place_at_once_leave_exactly_one_winner(db, session, world: World, make_person):
    order = world.make_order(open_for_claims=True)
    volunteers = [make_person(name="抢单志愿者").id for _ in range(50)]
    session.commit()  # the test's own session must not hold SQLite's write lock during the race

    results = race(db, 50, lambda s, i: orders.claim(s, order.id, volunteer=s.get(Person, volunteers[i]), now=NOW).status, (DomainError,))

    assert kinds(results) == {"str": 1, "ClaimRefused": 49}
    assert all("taken" in str(r) for r in results if not isinstance(r, str))
    session.expire_all()
    live = session.scalars(select(Assignment).where(Assignment.order_id == order.id, Assignment.status.in_(orders.LIVE_ASSIGNMENT))).all()
    assert [(a.slot, a.status) for a in live] == [(1, "accepted")]
    assert session.scalar(select(func.count()).select_from(Assignment)) == 1


def test_claims_for_three_places_fill_each_place_once(db, session, world: World, make_person):
    order = world.make_order(slots=3, open_for_claims=True)
    volunteers = [make_person(name="抢单志愿者").id for _ in range(12)]
    session.commit()

    results = race(db, 12, lambda s, i: orders.claim(s, order.id, volunteer=s.get(Person, volunteers[i]), now=NOW).slot, (DomainError,))

    assert sorted(r for r in results if isinstance(r, int)) == [1, 2, 3]
    assert kinds(results)["ClaimRefused"] == 9


def test_a_cancellation_racing_the_approval_of_a_served_order_loses_and_the_ledger_holds(db, session, world: World):
    order = world.make_order()
    [offer] = orders.dispatch(session, order.id, {"volunteer_ids": [world.volunteers[0].id]}, actor=world.staff, now=NOW)
    orders.accept(session, offer.id, volunteer=world.volunteers[0], now=NOW)
    for step, at in (("start", WINDOW_START), ("end", WINDOW_START + dt.timedelta(hours=1))):
        visits.confirm_step(session, offer.id, step, {"method": "staff"}, actor=world.staff, secret_key=SECRET, now=at)
    session.commit()
    attendance_id, later = offer.attendance_id, WINDOW_START + dt.timedelta(hours=2)
    requester = actor_for(session, world.social_worker)
    reviewer = world.staff
    session.commit()

    def work(s, i):
        if i == 0:
            return orders.cancel_order(s, order.id, {"reason": "家属取消"}, actor=requester, now=later).status
        return review.approve_attendance(s, attendance_id, actor=reviewer, now=later).status

    results = race(db, 2, work, (DomainError, ledger.LedgerError))

    assert kinds(results) == {"Conflict": 1, "str": 1} and results[1] == "approved"
    session.expire_all()
    assert session.get(Assignment, offer.id).status == "approved"
    assert orders.get_order(session, order.id).status == "completed"
    assert session.scalar(select(func.count()).select_from(Transaction).where(Transaction.kind == "service_credit")) == 1
    assert list(ledger.verify(session)) == []
