"""Orders (派单): made from a need, dispatched to named volunteers or opened for claims (抢单), accepted or
declined by a deadline, withdrawn, cancelled, or missed (no-show).

No slot is ever held twice: each live assignment takes a slot number, and the
partial unique index on (order, slot) over live assignments is the database's
own rule. A claim tries the lowest free slot inside a savepoint; when another
claim took it in the same instant the insert fails and the next free slot is
tried, until none is left. On SQLite the write lock taken at BEGIN IMMEDIATE
already lines claims up; on PostgreSQL the index decides. Nothing holds a
lock longer than one short transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from timebank.audit.services import record
from timebank.domain import Conflict, InvalidInput, NotAllowed, NotFound
from timebank.events.services import neighbourhood_paths
from timebank.grading.models import Grade
from timebank.needs import order_notices, payment
from timebank.needs.services import CANCEL_HOOKS, record_event, requesters
from timebank.needs.models import (
    LIVE_ASSIGNMENT,
    Assignment,
    AssignmentStatus,
    Need,
    NeedStatus,
    Order,
    OrderStatus,
)
from timebank.needs.order_schemas import DeclineSchema, DispatchSchema, OrderSchema, OrderReasonSchema
from timebank.orgs.models import Organisation
from timebank.orgs.services import effective_policy, get_organisation
from timebank.people.access import CARERS, Actor
from timebank.people.models import Person, Role, Status
from timebank.people.services import load

#: Who makes, dispatches and cancels orders, confirms visits for residents without a code, and records no-shows.
STAFF = (Role.SOCIAL_WORKER, Role.COORDINATOR, Role.ADMIN)
#: Assignments that have not yet reached the home: they may still be withdrawn.
BEFORE_SERVICE = (AssignmentStatus.OFFERED.value, AssignmentStatus.ACCEPTED.value)
#: Needs an order can be made from.
ORDERABLE = (NeedStatus.RECORDED.value, NeedStatus.ORDERED.value)


class ClaimRefused(Conflict):
    """A claim that came too late, or from someone who may not claim."""

    template = "Sorry, every place on this order has just been taken. Thank you for offering; other orders are waiting."


# -- payment in hours (timebank/needs/payment.py) --------------------------------------------


def paid(order: Order) -> bool:
    """True when the order's hours come from a payer, not from issuance."""
    return order.payer != "none"


# -- finding orders and assignments -------------------------------------------------------


def get_order(session: Session, order_id: int, *, lock: bool = False) -> Order:
    """The order, or NotFound; `lock` holds its row until the transaction ends."""
    order = session.get(Order, order_id, with_for_update={"of": Order} if lock else None) if order_id else None
    if order is None:
        raise NotFound("Unknown order.")
    return order


def organisation_of(session: Session, order: Order) -> Organisation:
    """The community the order serves."""
    return get_organisation(session, order.organisation_id)


def managed_order(session: Session, order_id: int, *, actor: Actor, lock: bool = False) -> Order:
    """The order, if the actor is a social worker, coordinator or admin over its community."""
    order = get_order(session, order_id, lock=lock)
    actor.require(STAFF, organisation_of(session, order))
    return order


def manages(session: Session, order: Order, *, actor: Actor) -> bool:
    """Whether the actor runs the order's community (what `managed_order` requires)."""
    return actor.may(STAFF, organisation_of(session, order))


def get_assignment(session: Session, assignment_id: int, *, lock: bool = False) -> Assignment:
    """The assignment, or NotFound."""
    found = session.get(Assignment, assignment_id, with_for_update={"of": Assignment} if lock else None) if assignment_id else None
    if found is None:
        raise NotFound("Unknown assignment.")
    return found


def own_assignment(session: Session, assignment_id: int, *, volunteer_id: int, lock: bool = False) -> Assignment:
    """The volunteer's own assignment (anyone else's answers NotFound)."""
    found = get_assignment(session, assignment_id, lock=lock)
    if found.volunteer_id != volunteer_id:
        raise NotFound("Unknown assignment.")
    return found


def live(order: Order) -> list[Assignment]:
    """The assignments holding a slot of the order."""
    return [a for a in order.assignments if a.status in LIVE_ASSIGNMENT]


def free_slots(session: Session, order: Order) -> list[int]:
    """The order's slot numbers no live assignment holds, lowest first (read from the database, not the loaded list)."""
    taken = set(session.scalars(select(Assignment.slot).where(Assignment.order_id == order.id, Assignment.status.in_(LIVE_ASSIGNMENT))))
    return [s for s in range(1, order.slots + 1) if s not in taken]


def address_of(order: Order) -> str | None:
    """Where the service takes place: the need's own address, else the resident's."""
    return order.need.address or order.need.resident.address


# -- making an order ------------------------------------------------------------------------


def accept_hours(session: Session, order: Order) -> int:
    """How long a volunteer has to answer an offer (policy `order_accept_hours`)."""
    return int(effective_policy(session, organisation_of(session, order))["order_accept_hours"])


def create_order(session: Session, need_id: int, data: Mapping[str, Any], *, actor: Actor, now: dt.datetime) -> Order:
    """An order from a need: what, when, how many volunteers, paid how; the need moves to `ordered`."""
    need = session.get(Need, need_id, with_for_update={"of": Need}) if need_id else None
    if need is None:
        raise NotFound("Unknown need.")
    actor.require(STAFF, get_organisation(session, need.organisation_id))
    if need.status not in ORDERABLE:
        raise Conflict("This need is no longer waiting for an order.")
    values = load(OrderSchema(), data)
    if values["window_end"] <= now:
        raise InvalidInput(errors={"window_end": ["The window has already passed."]})
    team_id = values.get("team_id")
    if team_id is not None:
        team = session.get(Organisation, team_id)
        if team is None or team.level != "team" or not actor.may(STAFF, team):
            raise InvalidInput(errors={"team_id": ["Choose a team."]})
    order = Order(
        need_id=need.id, organisation_id=need.organisation_id, category=values["category"],
        skills=(values.get("skills") or "").strip() or None, slots=values["slots"],
        recurrence=(values.get("recurrence") or "").strip() or None,
        window_start=values["window_start"], window_end=values["window_end"],
        expected_minutes=values["expected_minutes"],
        open_for_claims=bool(values["open_for_claims"] or team_id), team_id=team_id,
        status=OrderStatus.DISPATCHING.value, payer=values["payer"], created_by=actor.id, created_at=now,
    )
    _set_payer(session, order, need, values)
    # A resident whose hours are short is told before anything is booked.
    payment.check_payer(session, need=need, payer=order.payer, payer_person_id=order.payer_person_id,
                        payer_organisation_id=order.payer_organisation_id, minutes=order.expected_minutes * order.slots, now=now)
    session.add(order)
    session.flush()
    need.status = NeedStatus.ORDERED.value
    need.due_at = None
    need.category = need.category or order.category
    record_event(session, need, "ordered", actor=actor, now=now, order=order)
    record(session, actor=actor.id, action="create_order", target=("order", order.id), now=now)
    return order


def _set_payer(session: Session, order: Order, need: Need, values: Mapping[str, Any]) -> None:
    """Who pays an order paid in hours: the resident's own account, a family member, or the community's pool."""
    if order.payer == "resident":
        if need.resident.person_id is None:
            raise InvalidInput(errors={"payer": ["This resident has no account of their own to pay from."]})
        order.payer_person_id = need.resident.person_id
    elif order.payer == "family":
        order.payer_person_id = values["payer_person_id"]
    elif order.payer == "pool":
        order.payer_organisation_id = need.organisation_id


# -- dispatch (派单) and claims (抢单) -----------------------------------------------------------


def _red(session: Session, volunteer_ids: Iterable[int]) -> set[int]:
    """Volunteers whose current grade (the newest row) is red: they are not sent orders."""
    ids = list(volunteer_ids)
    if not ids:
        return set()
    newest = (
        select(Grade.subject_id, func.max(Grade.graded_on).label("day"))
        .where(Grade.subject_type == "volunteer", Grade.subject_id.in_(ids))
        .group_by(Grade.subject_id)
        .subquery()
    )
    rows = session.execute(
        select(Grade.subject_id).join(newest, (newest.c.subject_id == Grade.subject_id) & (newest.c.day == Grade.graded_on))
        .where(Grade.subject_type == "volunteer", Grade.colour == "red")
    )
    return {row[0] for row in rows}


def _open_for_assignment(order: Order, now: dt.datetime) -> None:
    if order.status not in (OrderStatus.DISPATCHING.value, OrderStatus.FILLED.value):
        raise Conflict("This order is no longer taking volunteers.")
    if order.window_end <= now:
        raise Conflict("This order's window has passed.")


def _take_slot(session: Session, order: Order, volunteer_id: int, *, status: str, now: dt.datetime, **fields: Any) -> Assignment | None:
    """Insert a live assignment on the lowest free slot; None when no slot is left. Raises Conflict if the volunteer already holds one."""
    for slot in free_slots(session, order):
        assignment = Assignment(order_id=order.id, slot=slot, volunteer_id=volunteer_id, status=status, offered_at=now, **fields)
        try:
            with session.begin_nested():
                session.add(assignment)
                session.flush()
        except IntegrityError:
            if session.scalar(select(Assignment.id).where(Assignment.order_id == order.id, Assignment.volunteer_id == volunteer_id,
                                                          Assignment.status.in_(LIVE_ASSIGNMENT))) is not None:
                raise Conflict("You already have a place on this order.") from None
            continue  # someone took this slot in the same instant: try the next
        session.expire(order, ["assignments"])
        return assignment
    return None


def dispatch(session: Session, order_id: int, data: Mapping[str, Any], *, actor: Actor, now: dt.datetime) -> list[Assignment]:
    """Offer the order's free slots to named volunteers; each answers by the policy's deadline."""
    order = managed_order(session, order_id, actor=actor)
    _open_for_assignment(order, now)
    wanted = list(dict.fromkeys(load(DispatchSchema(), data)["volunteer_ids"]))
    if not wanted:
        raise InvalidInput(errors={"volunteer_ids": ["Choose volunteers."]})
    people = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(wanted)))}
    red = _red(session, wanted)
    problems = [i for i in wanted if i not in people or people[i].status != Status.ACTIVE.value or i in red
                or i == order.need.resident.person_id]
    if problems:
        raise InvalidInput(errors={"volunteer_ids": ["Some chosen volunteers cannot be sent this order (inactive, graded red, or the resident themself)."]})
    if len(wanted) > len(free_slots(session, order)):
        raise InvalidInput(errors={"volunteer_ids": ["More volunteers chosen than places left."]})
    respond_by = now + dt.timedelta(hours=accept_hours(session, order))
    offered = []
    for volunteer_id in wanted:
        assignment = _take_slot(session, order, volunteer_id, status=AssignmentStatus.OFFERED.value, now=now,
                                offered_by=actor.id, respond_by=respond_by)
        if assignment is None:
            raise Conflict("The order's places were taken while you chose; look again.")
        offered.append(assignment)
        record_event(session, order.need, "dispatched", actor=actor, now=now, order=order, assignment=assignment)
        order_notices.dispatched(session, assignment, now=now)
    _refresh(session, order, now=now)
    return offered


def may_claim(session: Session, order: Order, person: Person) -> bool:
    """Whether the person sees the order among those they may claim: open, in their neighbourhood (or their team's)."""
    if not order.open_for_claims or person.status != Status.ACTIVE.value or person.id == order.need.resident.person_id:
        return False
    if order.team_id is not None:
        return person.home_organisation_id == order.team_id
    ancestors, around = neighbourhood_paths(session, person)
    organisation = organisation_of(session, order)
    return organisation.path.startswith(around) or organisation.id in ancestors


def claimable(session: Session, person: Person, *, now: dt.datetime, limit: int = 100) -> list[Order]:
    """Open orders the person may claim, with a free slot, soonest first."""
    ancestors, around = neighbourhood_paths(session, person)
    live_count = (
        select(func.count()).where(Assignment.order_id == Order.id, Assignment.status.in_(LIVE_ASSIGNMENT)).scalar_subquery()
    )
    mine = select(Assignment.order_id).where(Assignment.volunteer_id == person.id, Assignment.status.in_(LIVE_ASSIGNMENT))
    stmt = (
        select(Order)
        .join(Organisation, Organisation.id == Order.organisation_id)
        .where(
            Order.open_for_claims.is_(True),
            Order.status == OrderStatus.DISPATCHING.value,
            Order.window_end > now,
            live_count < Order.slots,
            Order.id.not_in(mine),
            or_(Order.team_id == person.home_organisation_id,
                Order.team_id.is_(None) & or_(Organisation.path.startswith(around), Order.organisation_id.in_(ancestors))),
        )
        .order_by(Order.window_start, Order.id)
        .limit(limit)
    )
    return [o for o in session.scalars(stmt) if o.need.resident.person_id != person.id]


def claim(session: Session, order_id: int, *, volunteer: Person, now: dt.datetime) -> Assignment:
    """Take a free slot of an open order (抢单): the first claims win; a claim is an acceptance."""
    order = get_order(session, order_id)
    if not may_claim(session, order, volunteer):
        raise NotFound("Unknown order.")
    _open_for_assignment(order, now)
    if _red(session, [volunteer.id]):
        raise ClaimRefused("Your volunteer grade does not allow taking orders at the moment; your social worker will be in touch.")
    assignment = _take_slot(session, order, volunteer.id, status=AssignmentStatus.ACCEPTED.value, now=now,
                            claimed=True, responded_at=now)
    if assignment is None:
        raise ClaimRefused()
    _reserve(session, assignment, actor_id=volunteer.id, now=now)
    record_event(session, order.need, "claimed", actor=volunteer.id, now=now, order=order, assignment=assignment)
    _refresh(session, order, now=now)
    return assignment


# -- the volunteer's answer -----------------------------------------------------------------------


def _reserve(session: Session, assignment: Assignment, *, actor_id: int, now: dt.datetime) -> None:
    """Hold the payer's hours for a paid order's accepted slot."""
    if paid(assignment.order):
        payment.reserve(session, assignment, actor=actor_id, now=now)


def _release(session: Session, assignment: Assignment, *, actor_id: int | None, now: dt.datetime) -> None:
    """Free a slot's hold, if one was taken (once: release is idempotent on the payment side)."""
    if assignment.hold_id is not None:
        payment.release(session, assignment, actor=actor_id or assignment.volunteer_id, now=now)


def accept(session: Session, assignment_id: int, *, volunteer: Person, now: dt.datetime) -> Assignment:
    """Accept an offer before its deadline; a paid order's hours are held now."""
    assignment = own_assignment(session, assignment_id, volunteer_id=volunteer.id, lock=True)
    if assignment.status == AssignmentStatus.ACCEPTED.value:
        return assignment
    if assignment.status != AssignmentStatus.OFFERED.value:
        raise Conflict("This offer is no longer open.")
    if assignment.respond_by is not None and assignment.respond_by <= now:
        raise Conflict("The time to answer this offer has passed; the order may be offered to someone else.")
    order = assignment.order
    if order.status == OrderStatus.CANCELLED.value:
        raise Conflict("This order was cancelled.")
    assignment.status, assignment.responded_at = AssignmentStatus.ACCEPTED.value, now
    _reserve(session, assignment, actor_id=volunteer.id, now=now)
    record_event(session, order.need, "accepted", actor=volunteer.id, now=now, order=order, assignment=assignment)
    _refresh(session, order, now=now)
    return assignment


def decline(session: Session, assignment_id: int, data: Mapping[str, Any], *, volunteer: Person, now: dt.datetime) -> Assignment:
    """Turn an offer down: the slot goes back for dispatch."""
    assignment = own_assignment(session, assignment_id, volunteer_id=volunteer.id, lock=True)
    reason = (load(DeclineSchema(), data).get("reason") or "").strip() or None
    if assignment.status == AssignmentStatus.DECLINED.value:
        return assignment
    if assignment.status != AssignmentStatus.OFFERED.value:
        raise Conflict("This offer is no longer open.")
    assignment.status, assignment.responded_at, assignment.reason = AssignmentStatus.DECLINED.value, now, reason
    order = assignment.order
    record_event(session, order.need, "declined", actor=volunteer.id, now=now, order=order, assignment=assignment, note=reason)
    order_notices.slot_returned(session, assignment, now=now)
    _refresh(session, order, now=now)
    return assignment


def expire_offers(session: Session, *, now: dt.datetime) -> int:
    """Offers past their deadline time out and their slots go back for dispatch; how many (run again: none)."""
    stmt = (
        select(Assignment)
        .where(Assignment.status == AssignmentStatus.OFFERED.value, Assignment.respond_by <= now)
        .order_by(Assignment.id)
        .with_for_update(of=Assignment, skip_locked=True)
    )
    count = 0
    for assignment in session.scalars(stmt):
        assignment.status, assignment.responded_at = AssignmentStatus.TIMED_OUT.value, now
        order = assignment.order
        record_event(session, order.need, "timed_out", actor=None, now=now, order=order, assignment=assignment)
        order_notices.slot_returned(session, assignment, now=now)
        _refresh(session, order, now=now)
        count += 1
    return count


# -- taking people off, cancelling, no-shows --------------------------------------------------------


def withdraw(session: Session, assignment_id: int, data: Mapping[str, Any], *, actor: Actor, now: dt.datetime) -> Assignment:
    """Take a volunteer off an order before the visit (staff), with a reason; the slot goes back for dispatch."""
    assignment = get_assignment(session, assignment_id, lock=True)
    order = managed_order(session, assignment.order_id, actor=actor)
    reason = load(OrderReasonSchema(), data)["reason"].strip()
    if assignment.status not in BEFORE_SERVICE:
        raise Conflict("Only a volunteer who has not started the visit can be taken off the order.")
    _end_before_service(session, assignment, AssignmentStatus.WITHDRAWN, reason, actor_id=actor.id, now=now)
    record_event(session, order.need, "withdrawn", actor=actor, now=now, order=order, assignment=assignment, note=reason)
    _refresh(session, order, now=now)
    return assignment


def _end_before_service(session: Session, assignment: Assignment, status: AssignmentStatus, reason: str | None,
                        *, actor_id: int | None, now: dt.datetime) -> None:
    was_accepted = assignment.status == AssignmentStatus.ACCEPTED.value
    assignment.status, assignment.reason, assignment.responded_at = status.value, reason, assignment.responded_at or now
    _release(session, assignment, actor_id=actor_id, now=now)
    if was_accepted or status is AssignmentStatus.WITHDRAWN:
        order_notices.taken_off(session, assignment, now=now)


def may_cancel(session: Session, order: Order, *, actor: Actor) -> bool:
    """Staff of the community, the resident, or whoever placed the need may cancel its order."""
    return actor.id in requesters(order.need) or manages(session, order, actor=actor)


def cancel_order(session: Session, order_id: int, data: Mapping[str, Any], *, actor: Actor, now: dt.datetime) -> Order:
    """Call the order off before any visit has started, with a reason: live slots are withdrawn and holds released.

    When the requester cancels, the need is cancelled with it; when staff
    cancel, the need waits for a new decision.
    """
    order = get_order(session, order_id, lock=True)
    if not may_cancel(session, order, actor=actor):
        if actor.paths(STAFF):
            actor.require(STAFF, organisation_of(session, order))
        raise NotFound("Unknown order.")
    reason = load(OrderReasonSchema(), data)["reason"].strip()
    if order.status == OrderStatus.CANCELLED.value:
        return order
    if any(a.status not in BEFORE_SERVICE for a in live(order)):
        raise Conflict("A visit has already started; the order can no longer be cancelled.")
    for assignment in live(order):
        _end_before_service(session, assignment, AssignmentStatus.WITHDRAWN, reason, actor_id=actor.id, now=now)
    order.status, order.cancelled_at, order.cancelled_by, order.cancel_reason = OrderStatus.CANCELLED.value, now, actor.id, reason
    need = order.need
    by_requester = actor.id in requesters(need) and not manages(session, order, actor=actor)
    if by_requester:
        need.status, need.cancelled_at, need.cancel_reason = NeedStatus.CANCELLED.value, now, reason
    elif not _other_orders(session, order):
        need.status = NeedStatus.RECORDED.value
    record_event(session, need, "order_cancelled", actor=actor, now=now, order=order, note=reason)
    record(session, actor=actor.id, action="cancel_order", target=("order", order.id), changes={"reason": [None, reason]}, now=now)
    return order


def _cancel_with_need(session: Session, need: Need, *, reason: str, actor: Actor, now: dt.datetime) -> None:
    """A need cancelled from its own page takes its orders with it, unless a visit has started (then it is refused)."""
    orders = session.scalars(
        select(Order).where(Order.need_id == need.id, Order.status != OrderStatus.CANCELLED.value).with_for_update(of=Order)
    ).all()
    if any(a.status not in BEFORE_SERVICE for order in orders for a in live(order)):
        raise Conflict("A visit has already started; the order can no longer be cancelled.")
    for order in orders:
        for assignment in live(order):
            _end_before_service(session, assignment, AssignmentStatus.WITHDRAWN, reason, actor_id=actor.id, now=now)
        order.status, order.cancelled_at, order.cancelled_by, order.cancel_reason = OrderStatus.CANCELLED.value, now, actor.id, reason
        record_event(session, need, "order_cancelled", actor=actor, now=now, order=order, note=reason)


CANCEL_HOOKS.append(_cancel_with_need)


def _other_orders(session: Session, order: Order) -> bool:
    return session.scalar(
        select(Order.id).where(Order.need_id == order.need_id, Order.id != order.id, Order.status != OrderStatus.CANCELLED.value).limit(1)
    ) is not None


def record_no_show(session: Session, assignment_id: int, data: Mapping[str, Any], *, actor: Actor, now: dt.datetime) -> Assignment:
    """The volunteer did not come (staff, once the window has begun): the hold is released and the slot goes back."""
    assignment = get_assignment(session, assignment_id, lock=True)
    order = managed_order(session, assignment.order_id, actor=actor)
    reason = load(OrderReasonSchema(), data)["reason"].strip()
    if assignment.status != AssignmentStatus.ACCEPTED.value:
        raise Conflict("Only an accepted volunteer who has not started can be recorded as not coming.")
    if now < order.window_start:
        raise Conflict("The service window has not begun yet; take the volunteer off the order instead.")
    assignment.status, assignment.reason = AssignmentStatus.NO_SHOW.value, reason
    _release(session, assignment, actor_id=actor.id, now=now)
    record_event(session, order.need, "no_show", actor=actor, now=now, order=order, assignment=assignment, note=reason)
    _refresh(session, order, now=now)
    return assignment


# -- the order's state follows its slots -----------------------------------------------------------------


def _refresh(session: Session, order: Order, *, now: dt.datetime) -> None:
    """Set the order's status (and its need's) from its assignments."""
    if order.status == OrderStatus.CANCELLED.value:
        return
    session.flush()
    session.expire(order, ["assignments"])
    holding = live(order)
    statuses = {a.status for a in holding}
    done = (AssignmentStatus.APPROVED.value,)
    if len(holding) == order.slots and statuses <= set(done) | {AssignmentStatus.REJECTED.value}:
        order.status = OrderStatus.COMPLETED.value
    elif len(holding) == order.slots and statuses <= {AssignmentStatus.ENDED.value, *done}:
        order.status = OrderStatus.SERVED.value
    elif statuses & {AssignmentStatus.STARTED.value, AssignmentStatus.ENDED.value, *done}:
        order.status = OrderStatus.SERVING.value
    elif len(holding) == order.slots and statuses == {AssignmentStatus.ACCEPTED.value}:
        order.status = OrderStatus.FILLED.value
    else:
        order.status = OrderStatus.DISPATCHING.value
    need = order.need
    if order.status in (OrderStatus.SERVED.value, OrderStatus.COMPLETED.value) and need.status == NeedStatus.ORDERED.value:
        need.status = NeedStatus.SERVED.value
        record_event(session, need, "served", actor=None, now=now, order=order)


def refresh(session: Session, order: Order, *, now: dt.datetime) -> None:
    """Public for the visit and review modules: the order's status from its assignments."""
    _refresh(session, order, now=now)


def managed_orders(session: Session, *, actor: Actor, status: str | None = None, limit: int = 200) -> list[Order]:
    """Orders in the actor's communities, newest first (optionally of one status)."""
    paths = actor.paths(STAFF)
    if not paths:
        return []
    stmt = (
        select(Order).join(Organisation, Organisation.id == Order.organisation_id)
        .where(or_(*[Organisation.path.startswith(p) for p in paths]))
        .order_by(Order.created_at.desc(), Order.id.desc()).limit(limit)
    )
    if status:
        stmt = stmt.where(Order.status == status)
    return list(session.scalars(stmt))


def my_assignments(session: Session, volunteer_id: int, *, limit: int = 100) -> list[Assignment]:
    """A volunteer's assignments, those waiting for them first, newest first."""
    stmt = (
        select(Assignment).where(Assignment.volunteer_id == volunteer_id)
        .order_by(Assignment.offered_at.desc(), Assignment.id.desc()).limit(limit)
    )
    found = list(session.scalars(stmt))
    waiting = (AssignmentStatus.OFFERED.value, AssignmentStatus.ACCEPTED.value, AssignmentStatus.STARTED.value)
    return sorted(found, key=lambda a: a.status not in waiting)


def orders_of_needs(session: Session, need_ids: Iterable[int]) -> dict[int, list[Order]]:
    """The orders of each need given, newest first."""
    found: dict[int, list[Order]] = {}
    stmt = select(Order).where(Order.need_id.in_(list(need_ids))).order_by(Order.created_at.desc(), Order.id.desc())
    for order in session.scalars(stmt):
        found.setdefault(order.need_id, []).append(order)
    return found


def require_staff(actor: Actor) -> None:
    """NotAllowed unless the actor holds a staff role somewhere."""
    if not actor.has(*CARERS):
        raise NotAllowed()
