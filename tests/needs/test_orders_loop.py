"""The order loop through its services: order, dispatch, accept/decline/time-out, claim, visit, approval, review."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from tests.conftest import NOW
from tests.needs.order_world import SECRET, WINDOW_END, WINDOW_START, World, world  # noqa: F401
from timebank import ledger
from timebank.domain import Conflict, InvalidInput, NotAllowed, NotFound
from timebank.events import review
from timebank.events.models import Attendance
from timebank.events.services import browse, volunteer_activity
from timebank.ledger import rules
from timebank.ledger.verify import verify
from timebank.needs import services as needs_services
from timebank.needs import cards, orders, ratings, visits
from timebank.needs.models import NeedEvent, Rating
from timebank.notices.models import Notice
from timebank.people.access import actor_for

AT_HOME = WINDOW_START + dt.timedelta(minutes=10)
DONE = AT_HOME + dt.timedelta(minutes=90)


def events_of(session, need_id: int) -> list[str]:
    return [e.action for e in needs_services.history(session, need_id)]


def serve(session, world: World, assignment, *, method: str = "card", start=AT_HOME, end=DONE):
    """The volunteer starts and ends the visit, the resident confirming with their card."""
    volunteer = actor_for(session, assignment.volunteer_id)
    code = cards.card_code(world.resident, SECRET)
    visits.confirm_step(session, assignment.id, "start", {"method": method, "code": code}, actor=volunteer, secret_key=SECRET, now=start)
    visits.confirm_step(session, assignment.id, "end", {"method": method, "code": code}, actor=volunteer, secret_key=SECRET, now=end)
    session.commit()
    return assignment


def test_an_order_moves_the_need_to_ordered_and_is_dated_and_attributed(session, world: World):
    order = world.make_order(slots=2, skills="陪诊")
    assert (order.status, order.slots, world.need.status) == ("dispatching", 2, "ordered")
    event = session.scalar(select(NeedEvent).where(NeedEvent.need_id == world.need.id))
    assert (event.action, event.actor_id, event.at, event.order_id) == ("ordered", world.social_worker.id, NOW, order.id)


def test_only_staff_of_the_needs_community_make_orders(session, world: World, make_person):
    elsewhere = actor_for(session, make_person("social_worker", org="west"))
    volunteer = actor_for(session, world.volunteers[0])
    data = {"category": "elderly", "window_start": WINDOW_START.isoformat(), "window_end": WINDOW_END.isoformat(), "expected_minutes": 60}
    with pytest.raises(NotFound):
        orders.create_order(session, world.need.id, data, actor=elsewhere, now=NOW)
    with pytest.raises(Exception) as refused:
        orders.create_order(session, world.need.id, data, actor=volunteer, now=NOW)
    assert refused.type.__name__ == "NotAllowed"


def test_an_order_needs_a_window_that_ends_after_it_starts(session, world: World):
    with pytest.raises(InvalidInput) as refused:
        world.make_order(window_end=WINDOW_START.isoformat())
    assert "window_end" in refused.value.errors


def test_dispatch_offers_slots_with_the_policy_deadline_and_tells_the_volunteer(session, world: World):
    order = world.make_order()
    [offer] = orders.dispatch(session, order.id, {"volunteer_ids": [world.volunteers[0].id]}, actor=world.staff, now=NOW)
    session.commit()
    assert (offer.status, offer.slot, offer.respond_by) == ("offered", 1, NOW + dt.timedelta(hours=24))
    kinds = session.scalars(select(Notice.kind).where(Notice.person_id == world.volunteers[0].id))
    assert "order_dispatched" in list(kinds)


def test_dispatching_more_volunteers_than_places_is_refused(session, world: World):
    order = world.make_order()
    with pytest.raises(InvalidInput):
        orders.dispatch(session, order.id, {"volunteer_ids": [v.id for v in world.volunteers[:2]]}, actor=world.staff, now=NOW)


def test_accepting_fills_the_order_and_a_decline_returns_the_slot_for_redispatch(session, world: World):
    order = world.make_order()
    [offer] = orders.dispatch(session, order.id, {"volunteer_ids": [world.volunteers[0].id]}, actor=world.staff, now=NOW)
    orders.decline(session, offer.id, {"reason": "那天要上班"}, volunteer=world.volunteers[0], now=NOW)
    session.commit()
    assert (offer.status, order.status) == ("declined", "dispatching")
    assert "order_offer_declined" in list(session.scalars(select(Notice.kind).where(Notice.person_id == world.social_worker.id)))
    [again] = orders.dispatch(session, order.id, {"volunteer_ids": [world.volunteers[1].id]}, actor=world.staff, now=NOW)
    orders.accept(session, again.id, volunteer=world.volunteers[1], now=NOW)
    session.commit()
    assert (again.slot, again.status, order.status) == (1, "accepted", "filled")
    assert events_of(session, world.need.id) == ["ordered", "dispatched", "declined", "dispatched", "accepted"]


def test_an_offer_not_answered_in_time_times_out_once_and_cannot_be_accepted(session, world: World):
    order = world.make_order()
    [offer] = orders.dispatch(session, order.id, {"volunteer_ids": [world.volunteers[0].id]}, actor=world.staff, now=NOW)
    session.commit()
    late = NOW + dt.timedelta(hours=25)
    assert orders.expire_offers(session, now=NOW + dt.timedelta(hours=1)) == 0
    assert orders.expire_offers(session, now=late) == 1
    assert orders.expire_offers(session, now=late) == 0
    session.commit()
    assert offer.status == "timed_out"
    with pytest.raises(Conflict):
        orders.accept(session, offer.id, volunteer=world.volunteers[0], now=late)


def test_someone_elses_offer_is_not_found(session, world: World):
    order = world.make_order()
    [offer] = orders.dispatch(session, order.id, {"volunteer_ids": [world.volunteers[0].id]}, actor=world.staff, now=NOW)
    with pytest.raises(NotFound):
        orders.accept(session, offer.id, volunteer=world.volunteers[1], now=NOW)


def test_claims_fill_the_slots_and_the_late_claim_is_told_kindly(session, world: World):
    order = world.make_order(open_for_claims=True)
    assert [o.id for o in orders.claimable(session, world.volunteers[0], now=NOW)] == [order.id]
    first = orders.claim(session, order.id, volunteer=world.volunteers[0], now=NOW)
    session.commit()
    assert (first.status, first.claimed, order.status) == ("accepted", True, "filled")
    assert orders.claimable(session, world.volunteers[1], now=NOW) == []
    with pytest.raises(orders.ClaimRefused) as refused:
        orders.claim(session, order.id, volunteer=world.volunteers[1], now=NOW)
    assert "taken" in str(refused.value)


def test_claiming_twice_is_refused(session, world: World):
    order = world.make_order(slots=2, open_for_claims=True)
    orders.claim(session, order.id, volunteer=world.volunteers[0], now=NOW)
    with pytest.raises(Conflict):
        orders.claim(session, order.id, volunteer=world.volunteers[0], now=NOW)


def test_an_order_for_a_team_is_claimed_only_by_its_members(session, world: World, make_person, org_tree):
    order = world.make_order(team_id=org_tree["east_team"].id)
    assert order.open_for_claims
    outsider, member = world.volunteers[0], make_person(org="east_team", name="周队员")
    assert orders.claimable(session, outsider, now=NOW) == []
    with pytest.raises(NotFound):
        orders.claim(session, order.id, volunteer=outsider, now=NOW)
    assert orders.claim(session, order.id, volunteer=member, now=NOW).status == "accepted"


def test_the_resident_or_staff_cancel_before_the_visit_and_the_slots_are_withdrawn(session, world: World):
    order = world.make_order()
    [offer] = orders.dispatch(session, order.id, {"volunteer_ids": [world.volunteers[0].id]}, actor=world.staff, now=NOW)
    orders.accept(session, offer.id, volunteer=world.volunteers[0], now=NOW)
    orders.cancel_order(session, order.id, {"reason": "家属已经安排"}, actor=world.staff, now=NOW)
    session.commit()
    assert (order.status, offer.status, world.need.status) == ("cancelled", "withdrawn", "recorded")
    assert session.scalar(select(Notice.kind).where(Notice.person_id == world.volunteers[0].id, Notice.kind == "order_withdrawn"))


def test_cancelling_an_ordered_need_from_its_page_withdraws_its_orders(session, world: World):
    order = world.make_order()
    [offer] = orders.dispatch(session, order.id, {"volunteer_ids": [world.volunteers[0].id]}, actor=world.staff, now=NOW)
    orders.accept(session, offer.id, volunteer=world.volunteers[0], now=NOW)
    needs_services.cancel_need(session, world.need.id, {"reason": "家属已经安排"}, actor=world.staff, now=NOW)
    session.commit()
    assert (world.need.status, order.status, offer.status) == ("cancelled", "cancelled", "withdrawn")
    assert "order_cancelled" in set(session.scalars(select(NeedEvent.action).where(NeedEvent.need_id == world.need.id)))


def test_an_ordered_need_is_not_cancelled_once_a_visit_has_started(session, world: World):
    order = world.make_order()
    [offer] = orders.dispatch(session, order.id, {"volunteer_ids": [world.volunteers[0].id]}, actor=world.staff, now=NOW)
    orders.accept(session, offer.id, volunteer=world.volunteers[0], now=NOW)
    code = cards.card_code(world.resident, SECRET)
    visits.confirm_step(session, offer.id, "start", {"method": "card", "code": code}, actor=actor_for(session, world.volunteers[0]), secret_key=SECRET, now=AT_HOME)
    with pytest.raises(Conflict):
        needs_services.cancel_need(session, world.need.id, {"reason": "不需要了"}, actor=world.staff, now=AT_HOME)
    assert (world.need.status, order.status, offer.status) == ("ordered", "serving", "started")


def test_cancelling_needs_a_reason_and_is_refused_once_a_visit_has_started(session, world: World):
    order = world.make_order()
    with pytest.raises(InvalidInput):
        orders.cancel_order(session, order.id, {}, actor=world.staff, now=NOW)
    [offer] = orders.dispatch(session, order.id, {"volunteer_ids": [world.volunteers[0].id]}, actor=world.staff, now=NOW)
    orders.accept(session, offer.id, volunteer=world.volunteers[0], now=NOW)
    code = cards.card_code(world.resident, SECRET)
    visits.confirm_step(session, offer.id, "start", {"method": "card", "code": code}, actor=actor_for(session, world.volunteers[0]), secret_key=SECRET, now=AT_HOME)
    with pytest.raises(Conflict):
        orders.cancel_order(session, order.id, {"reason": "不需要了"}, actor=world.staff, now=AT_HOME)


def test_a_visit_becomes_an_attendance_whose_approval_posts_hours_cert_and_points(session, world: World):
    order = world.make_order()
    [offer] = orders.dispatch(session, order.id, {"volunteer_ids": [world.volunteers[0].id]}, actor=world.staff, now=NOW)
    orders.accept(session, offer.id, volunteer=world.volunteers[0], now=NOW)
    serve(session, world, offer)
    assert (offer.status, order.status, world.need.status) == ("ended", "served", "served")
    attendance = session.get(Attendance, offer.attendance_id)
    assert (attendance.checked_in_at, attendance.checked_out_at, attendance.activity_id) == (AT_HOME, DONE, order.activity_id)
    assert "401" not in attendance.activity.address
    review.approve_attendance(session, attendance.id, actor=world.staff, now=DONE + dt.timedelta(hours=1))
    session.commit()
    assert (offer.status, order.status) == ("approved", "completed")
    volunteer_id = world.volunteers[0].id
    assert ledger.balance(session, rules.volunteer_code(volunteer_id, ledger.Commodity.HOUR)).posted == 90
    assert ledger.balance(session, rules.volunteer_code(volunteer_id, ledger.Commodity.CERT, "elderly")).posted == 90
    assert ledger.balance(session, rules.volunteer_code(volunteer_id, ledger.Commodity.PTS)).posted == 15
    assert list(verify(session)) == []


def test_the_order_activity_is_not_listed_to_volunteers_nor_run_as_a_venue(session, world: World, make_person):
    order = world.make_order()
    [offer] = orders.dispatch(session, order.id, {"volunteer_ids": [world.volunteers[0].id]}, actor=world.staff, now=NOW)
    orders.accept(session, offer.id, volunteer=world.volunteers[0], now=NOW)
    serve(session, world, offer, end=WINDOW_END - dt.timedelta(minutes=1))
    neighbour = world.volunteers[1]
    assert order.activity_id not in [a.id for a in browse(session, neighbour, now=AT_HOME)]
    with pytest.raises(NotFound):
        volunteer_activity(session, order.activity_id, person=neighbour)
    assert volunteer_activity(session, order.activity_id, person=world.volunteers[0]).id == order.activity_id


def test_a_visit_is_confirmed_only_by_this_residents_card_or_spoken_code(session, world: World, org_tree):
    from tests.needs.order_world import add_resident

    order = world.make_order()
    [offer] = orders.dispatch(session, order.id, {"volunteer_ids": [world.volunteers[0].id]}, actor=world.staff, now=NOW)
    orders.accept(session, offer.id, volunteer=world.volunteers[0], now=NOW)
    volunteer = actor_for(session, world.volunteers[0])
    someone_else = cards.card_code(add_resident(session, org_tree["east"].id, name="李爷爷"), SECRET)
    with pytest.raises(cards.CardError):
        visits.confirm_step(session, offer.id, "start", {"method": "card", "code": someone_else}, actor=volunteer, secret_key=SECRET, now=AT_HOME)
    with pytest.raises(cards.VisitCodeError):
        visits.confirm_step(session, offer.id, "start", {"method": "one_time_code", "code": "000000"}, actor=volunteer, secret_key=SECRET, now=AT_HOME)
    code, _ = cards.visit_code(offer.id, "start", SECRET, now=AT_HOME - dt.timedelta(minutes=5))
    visits.confirm_step(session, offer.id, "start", {"method": "one_time_code", "code": code}, actor=volunteer, secret_key=SECRET, now=AT_HOME)
    assert offer.confirm_method == "one_time_code"
    with pytest.raises(cards.VisitCodeError):  # the start code does not end the visit
        visits.confirm_step(session, offer.id, "end", {"method": "one_time_code", "code": code}, actor=volunteer, secret_key=SECRET, now=AT_HOME)
    stale, _ = cards.visit_code(offer.id, "end", SECRET, now=AT_HOME)
    with pytest.raises(cards.VisitCodeError):  # expired
        visits.confirm_step(session, offer.id, "end", {"method": "one_time_code", "code": stale}, actor=volunteer, secret_key=SECRET, now=AT_HOME + dt.timedelta(minutes=40))


def test_staff_confirm_for_a_resident_with_neither_code_nor_card(session, world: World):
    order = world.make_order()
    [offer] = orders.dispatch(session, order.id, {"volunteer_ids": [world.volunteers[0].id]}, actor=world.staff, now=NOW)
    orders.accept(session, offer.id, volunteer=world.volunteers[0], now=NOW)
    with pytest.raises(NotAllowed):  # the volunteer cannot confirm for the resident
        visits.confirm_step(session, offer.id, "start", {"method": "staff"}, actor=actor_for(session, world.volunteers[0]), secret_key=SECRET, now=AT_HOME)
    visits.confirm_step(session, offer.id, "start", {"method": "staff"}, actor=world.staff, secret_key=SECRET, now=AT_HOME)
    assert (offer.status, offer.confirmed_by) == ("started", world.social_worker.id)


def test_a_rejected_visit_gives_its_slot_back_without_credit(session, world: World):
    order = world.make_order()
    [offer] = orders.dispatch(session, order.id, {"volunteer_ids": [world.volunteers[0].id]}, actor=world.staff, now=NOW)
    orders.accept(session, offer.id, volunteer=world.volunteers[0], now=NOW)
    serve(session, world, offer)
    review.reject_attendance(session, offer.attendance_id, "居民说没有来", actor=world.staff, now=DONE + dt.timedelta(hours=1))
    session.commit()
    assert (offer.status, order.status, orders.free_slots(session, order)) == ("rejected", "dispatching", [1])
    assert ledger.balance(session, rules.volunteer_code(world.volunteers[0].id, ledger.Commodity.HOUR)).posted == 0


def test_a_no_show_frees_the_slot_once_the_window_has_begun(session, world: World):
    order = world.make_order()
    [offer] = orders.dispatch(session, order.id, {"volunteer_ids": [world.volunteers[0].id]}, actor=world.staff, now=NOW)
    orders.accept(session, offer.id, volunteer=world.volunteers[0], now=NOW)
    with pytest.raises(Conflict):
        orders.record_no_show(session, offer.id, {"reason": "没来"}, actor=world.staff, now=NOW)
    orders.record_no_show(session, offer.id, {"reason": "没来，电话不通"}, actor=world.staff, now=AT_HOME + dt.timedelta(hours=1))
    session.commit()
    assert (offer.status, order.status, orders.free_slots(session, order)) == ("no_show", "dispatching", [1])


def test_a_good_rating_of_every_visit_closes_the_need_green(session, world: World):
    order = world.make_order()
    [offer] = orders.dispatch(session, order.id, {"volunteer_ids": [world.volunteers[0].id]}, actor=world.staff, now=NOW)
    orders.accept(session, offer.id, volunteer=world.volunteers[0], now=NOW)
    serve(session, world, offer)
    review.approve_attendance(session, offer.attendance_id, actor=world.staff, now=DONE + dt.timedelta(hours=1))
    rating = ratings.rate(session, offer.id, {"stars": 5, "comment": "小伙子很耐心"}, actor=world.staff, now=DONE + dt.timedelta(hours=2))
    session.commit()
    assert (rating.stars, world.need.status, world.need.colour) == (5, "closed", "green")
    with pytest.raises(Conflict):
        ratings.rate(session, offer.id, {"stars": 4}, actor=world.staff, now=DONE + dt.timedelta(hours=3))


def test_a_low_rating_waits_for_the_social_workers_call_which_closes_the_need(session, world: World):
    order = world.make_order()
    [offer] = orders.dispatch(session, order.id, {"volunteer_ids": [world.volunteers[0].id]}, actor=world.staff, now=NOW)
    orders.accept(session, offer.id, volunteer=world.volunteers[0], now=NOW)
    serve(session, world, offer)
    rating = ratings.rate(session, offer.id, {"stars": 2, "comment": "迟到了一小时"}, actor=world.staff, now=DONE)
    session.commit()
    assert world.need.status == "served"
    assert [r.id for r in ratings.follow_ups(session, actor=world.staff)] == [rating.id]
    ratings.follow_up(session, rating.id, {"notes": "已回访，志愿者道歉，居民接受", "complaint_upheld": "yes"}, actor=world.staff, now=DONE + dt.timedelta(days=1))
    session.commit()
    assert (rating.complaint_upheld, world.need.status) == (True, "closed")
    assert ratings.follow_ups(session, actor=world.staff) == []


def test_a_visit_is_rated_only_after_it_ended_and_only_by_its_requesters_or_staff(session, world: World):
    order = world.make_order()
    [offer] = orders.dispatch(session, order.id, {"volunteer_ids": [world.volunteers[0].id]}, actor=world.staff, now=NOW)
    with pytest.raises(Conflict):
        ratings.rate(session, offer.id, {"stars": 5}, actor=world.staff, now=NOW)
    with pytest.raises(NotFound):
        ratings.rate(session, offer.id, {"stars": 1}, actor=actor_for(session, world.volunteers[1]), now=NOW)
    assert session.scalar(select(Rating.id)) is None
