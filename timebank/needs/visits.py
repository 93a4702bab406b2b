"""Visits (接单 at the home): the volunteer starts and ends a visit with the resident's confirmation, and the
visit becomes an attendance of the order's private activity.

From then on the attendance's own machinery applies: reviewers and their
number, the recording deadline, corrections, the volunteer's service list,
service records and certificates. Approval posts CERT and PTS from issuance
as for any attendance; HOUR comes from issuance too, unless the order is paid
in hours, when the payer's hold is captured to the volunteer instead
(`credit_source`, called from events/review.py). A rejected visit releases
the hold. A correction of an approved paid visit reverses the payment and
pays the corrected minutes from the same payer (`correct_payment`).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from timebank.auth import codes
from timebank.categories import SERVICE_CATEGORIES
from timebank.domain import Conflict, NotFound
from timebank.events.models import Activity, ActivityStatus, Attendance, AttendanceStatus, CreditMode
from timebank.needs import cards, orders, payment
from timebank.needs.services import record_event, requesters
from timebank.needs.models import Assignment, AssignmentStatus, Order, OrderStatus
from timebank.needs.order_schemas import ConfirmSchema
from timebank.orgs.services import effective_policy
from timebank.people.access import Actor
from timebank.people.services import load

#: Where the step stands before it, and after it.
STEP = {
    "start": (AssignmentStatus.ACCEPTED.value, AssignmentStatus.STARTED.value),
    "end": (AssignmentStatus.STARTED.value, AssignmentStatus.ENDED.value),
}
#: How the attendance records a visit (an activity's are screen, poster, kiosk).
HOME = "home"


class NotTheResident(codes.MemberCodeError):
    """A valid member code, but someone else's."""

    template = "This code is not the resident's. Ask the resident for their own code or card."


def visit_assignment(session: Session, assignment_id: int, *, actor: Actor) -> Assignment:
    """The assignment the actor confirms a step of: their own (with the resident's code), or, for staff, any in their communities."""
    assignment = orders.get_assignment(session, assignment_id, lock=True)
    if assignment.volunteer_id != actor.id:
        orders.managed_order(session, assignment.order_id, actor=actor)
    return assignment


def _confirm(session: Session, assignment: Assignment, step: str, method: str, code: str | None,
             *, secret_key: str, now: dt.datetime) -> None:
    """Refuse unless the resident confirmed the step by the method given."""
    resident = assignment.order.need.resident
    if method == "member_code":
        if resident.person_id is None:
            raise NotTheResident("This resident has no member code; scan their resident card or ask for the spoken code.")
        if codes.resolve(session, code or "", secret_key, now=now).id != resident.person_id:
            raise NotTheResident()
    elif method == "card":
        if cards.card_resident(session, code or "", secret_key).id != resident.id:
            raise cards.CardError()
    elif method == "one_time_code":
        cards.check_visit_code(assignment.id, step, code or "", secret_key, now=now)


def confirm_step(session: Session, assignment_id: int, step: str, data: Mapping[str, Any], *,
                 actor: Actor, secret_key: str, now: dt.datetime) -> Assignment:
    """Start or end a visit, confirmed by the resident's code or card, or by a staff member for a resident with neither."""
    assignment = visit_assignment(session, assignment_id, actor=actor)
    values = load(ConfirmSchema(), data)
    method = values["method"]
    if method == "staff":
        orders.managed_order(session, assignment.order_id, actor=actor)  # a volunteer cannot vouch for the resident
    elif assignment.volunteer_id != actor.id:
        raise NotFound("Unknown assignment.")
    before, after = STEP[step]
    if assignment.status == after:
        return assignment  # a second tap
    if assignment.status != before:
        raise Conflict("The visit cannot start now." if step == "start" else "The visit has not started.")
    order = assignment.order
    if order.status == OrderStatus.CANCELLED.value:
        raise Conflict("This order was cancelled.")
    if step == "start":
        opens = int(effective_policy(session, orders.organisation_of(session, order))["checkin_opens_minutes"])
        if now < order.window_start - dt.timedelta(minutes=opens) or now >= order.window_end:
            raise Conflict("A visit starts within the order's time window.")
    _confirm(session, assignment, step, method, values.get("code"), secret_key=secret_key, now=now)
    assignment.status, assignment.confirm_method = after, method
    if method == "staff":
        assignment.confirmed_by = actor.id
    if step == "start":
        assignment.started_at = now
    else:
        assignment.ended_at = max(now, assignment.started_at + dt.timedelta(minutes=1))
        _record_attendance(session, assignment, now=now)
    record_event(session, order.need, "started" if step == "start" else "ended", actor=actor, now=now,
                        order=order, assignment=assignment, note=method)
    orders.refresh(session, order, now=now)
    if step == "end":
        from timebank.needs import order_notices

        order_notices.review_requested(session, order, requesters(order.need), now=now)
    return assignment


def _record_attendance(session: Session, assignment: Assignment, *, now: dt.datetime) -> Attendance:
    """The ended visit as an attendance of the order's private activity, made at the first visit to end."""
    order = assignment.order
    start, end = assignment.started_at, assignment.ended_at
    activity = session.get(Activity, order.activity_id, with_for_update={"of": Activity}) if order.activity_id else None
    if activity is None:
        community = order.need.organisation.name
        activity = Activity(
            organisation_id=order.organisation_id,
            title=f"上门服务：{SERVICE_CATEGORIES.get(order.category, order.category)}"[:100],
            category=order.category,
            description=order.need.description,
            address=f"{community}（入户服务）"[:200],  # the record's place is the community: the home's address stays off it
            starts_at=start, ends_at=end,
            person_in_charge_id=order.created_by,
            credit_mode=CreditMode.ACTUAL.value,
            status=ActivityStatus.PUBLISHED.value,
            code_key=secrets.token_urlsafe(16),
            created_by=order.created_by, created_at=now, published_at=now,
        )
        session.add(activity)
        session.flush()
        order.activity_id = activity.id
    else:
        activity.starts_at, activity.ends_at = min(activity.starts_at, start), max(activity.ends_at, end)
    attendance = Attendance(
        activity_id=activity.id, volunteer_id=assignment.volunteer_id, status=AttendanceStatus.CHECKED_OUT.value,
        checked_in_at=start, checked_out_at=end, check_in_method=HOME, check_out_method=HOME,
        recorded_by=assignment.confirmed_by,
    )
    session.add(attendance)
    session.flush()
    assignment.attendance_id = attendance.id
    return attendance


# -- the review's hooks (events/review.py calls these for every attendance) ---------------------------


def _visit_of(session: Session, attendance: Attendance) -> Assignment | None:
    return session.scalar(select(Assignment).where(Assignment.attendance_id == attendance.id))


def credit_source(session: Session, attendance: Attendance) -> tuple[bool, Callable[[int, int, dt.datetime], None] | None]:
    """Whether the attendance's time credit comes from a payer rather than issuance, and what settles it.

    The settle function is given only while the payer's hold is open: a
    correction after approval pays through `correct_payment` instead.
    """
    assignment = _visit_of(session, attendance)
    if assignment is None or not orders.paid(assignment.order):
        return False, None
    def settle(minutes: int, actor_id: int, now: dt.datetime) -> None:
        payment.settle(session, assignment, minutes, actor=actor_id, now=now)

    return True, (settle if assignment.status == AssignmentStatus.ENDED.value else None)


def correct_payment(session: Session, attendance: Attendance, minutes: int, *, actor_id: int, now: dt.datetime) -> None:
    """A corrected attendance of a paid visit: the payer pays the corrected minutes instead of what was paid."""
    assignment = _visit_of(session, attendance)
    if assignment is not None and orders.paid(assignment.order):
        payment.repay(session, assignment, minutes, version=attendance.credit_version, actor=actor_id, now=now)


def payment_short(session: Session, attendance: Attendance, minutes: int) -> int | None:
    """For a paid visit, the minutes of its payment a correction to `minutes` cannot take back; None for any other attendance."""
    assignment = _visit_of(session, attendance)
    if assignment is None or not orders.paid(assignment.order):
        return None
    return payment.volunteer_short(session, assignment, minutes)


def attendance_decided(session: Session, attendance: Attendance, *, actor_id: int, now: dt.datetime) -> None:
    """An order's visit follows its attendance's decision: approved, or rejected with the hold released."""
    assignment = _visit_of(session, attendance)
    if assignment is None or assignment.status != AssignmentStatus.ENDED.value:
        return
    order = orders.get_order(session, assignment.order_id, lock=True)
    if attendance.status == AttendanceStatus.APPROVED.value:
        assignment.status = AssignmentStatus.APPROVED.value
        action = "approved"
    else:
        assignment.status, assignment.reason = AssignmentStatus.REJECTED.value, attendance.reject_reason
        orders._release(session, assignment, actor_id=actor_id, now=now)
        action = "rejected"
    record_event(session, order.need, action, actor=actor_id, now=now, order=order, assignment=assignment)
    orders.refresh(session, order, now=now)


def visit_code_for(session: Session, assignment_id: int, step: str, *, actor: Actor, secret_key: str, now: dt.datetime) -> tuple[Assignment, str, dt.datetime]:
    """The spoken code of an assignment's next step, for the resident, whoever placed the need, or staff (reading it by phone)."""
    assignment = orders.get_assignment(session, assignment_id)
    order: Order = assignment.order
    if actor.id not in requesters(order.need) and not orders.manages(session, order, actor=actor):
        raise NotFound("Unknown assignment.")
    code, until = cards.visit_code(assignment.id, step, secret_key, now=now)
    return assignment, code, until


def next_step(assignment: Assignment) -> str | None:
    """The visit's step still to confirm: start, end, or None."""
    if assignment.status == AssignmentStatus.ACCEPTED.value:
        return "start"
    if assignment.status == AssignmentStatus.STARTED.value:
        return "end"
    return None
