"""What the order loop tells people: offers, reminders, slots given back, reviews asked for, overdue visits."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from timebank.categories import SERVICE_CATEGORIES
from timebank.localtime import local, local_day
from timebank.needs.models import Assignment, AssignmentStatus, Order, OrderStatus
from timebank.notices.services import notify

#: Volunteers are reminded this long before an offer's deadline.
ACCEPT_REMINDER_BEFORE = dt.timedelta(hours=4)
#: Staff are warned of an ended visit still unapproved after this long.
UNAPPROVED_AFTER = dt.timedelta(days=3)


def order_params(order: Order) -> dict[str, Any]:
    """An order as a notice names it: the service, the community, the window's start (never the address)."""
    return {
        "service": SERVICE_CATEGORIES.get(order.category, order.category),
        "community": order.need.organisation.name,
        "starts": local(order.window_start).strftime("%m-%d %H:%M"),
    }


def dispatched(session: Session, assignment: Assignment, *, now: dt.datetime) -> None:
    """Tell a volunteer an order was offered to them, and by when to answer."""
    params = {**order_params(assignment.order), "respond_by": local(assignment.respond_by).strftime("%m-%d %H:%M") if assignment.respond_by else ""}
    notify(session, assignment.volunteer_id, "order_dispatched", params, key=str(assignment.id), link=f"/me/orders/{assignment.id}", now=now)


def taken_off(session: Session, assignment: Assignment, *, now: dt.datetime) -> None:
    """Tell a volunteer their place on an order was withdrawn (the order cancelled, or staff took them off)."""
    params = {**order_params(assignment.order), "reason": assignment.reason or ""}
    notify(session, assignment.volunteer_id, "order_withdrawn", params, key=str(assignment.id), link="/me/orders", now=now)


def slot_returned(session: Session, assignment: Assignment, *, now: dt.datetime) -> None:
    """Tell whoever made the order that an offer was declined or timed out, so they dispatch again (重新派单)."""
    order = assignment.order
    params = {**order_params(order), "volunteer": assignment.volunteer.real_name, "status": assignment.status}
    kind = "order_offer_timed_out" if assignment.status == AssignmentStatus.TIMED_OUT.value else "order_offer_declined"
    notify(session, order.created_by, kind, params, key=str(assignment.id), link=f"/orders/{order.id}", now=now)


def review_requested(session: Session, order: Order, person_ids: set[int], *, now: dt.datetime) -> int:
    """Ask the resident (or whoever placed the need) to rate the visits."""
    told = 0
    for person_id in person_ids:
        if notify(session, person_id, "order_review_request", order_params(order), key=f"{order.id}:{person_id}", link="/needs/mine", now=now):
            told += 1
    return told


def remind_offers(session: Session, *, now: dt.datetime) -> int:
    """Remind volunteers of offers whose deadline is near; each offer once."""
    stmt = select(Assignment).where(
        Assignment.status == AssignmentStatus.OFFERED.value,
        Assignment.respond_by > now, Assignment.respond_by <= now + ACCEPT_REMINDER_BEFORE,
    )
    told = 0
    for assignment in session.scalars(stmt):
        params = {**order_params(assignment.order), "respond_by": local(assignment.respond_by).strftime("%m-%d %H:%M")}
        if notify(session, assignment.volunteer_id, "order_accept_reminder", params, key=str(assignment.id), link=f"/me/orders/{assignment.id}", now=now):
            told += 1
    return told


def remind_tomorrow(session: Session, *, now: dt.datetime) -> int:
    """Remind accepted volunteers of visits whose window opens tomorrow (local day)."""
    tomorrow = local_day(now) + dt.timedelta(days=1)
    stmt = (
        select(Assignment).join(Order, Order.id == Assignment.order_id)
        .where(Assignment.status == AssignmentStatus.ACCEPTED.value, Order.window_start >= now,
               Order.window_start < now + dt.timedelta(days=2))
    )
    told = 0
    for assignment in session.scalars(stmt):
        if local_day(assignment.order.window_start) == tomorrow:
            if notify(session, assignment.volunteer_id, "order_tomorrow", order_params(assignment.order), key=f"{assignment.id}:{tomorrow}", link=f"/me/orders/{assignment.id}", now=now):
                told += 1
    return told


def warn_unapproved(session: Session, *, now: dt.datetime) -> int:
    """Warn whoever made an order when one of its visits has waited too long for approval."""
    stmt = (
        select(Assignment).join(Order, Order.id == Assignment.order_id)
        .where(Assignment.status == AssignmentStatus.ENDED.value, Assignment.ended_at < now - UNAPPROVED_AFTER,
               Order.status != OrderStatus.CANCELLED.value)
    )
    told = 0
    for assignment in session.scalars(stmt):
        order = assignment.order
        params = {**order_params(order), "volunteer": assignment.volunteer.real_name}
        if notify(session, order.created_by, "order_visit_unapproved", params, key=str(assignment.id), link=f"/orders/{order.id}", now=now):
            told += 1
    return told
