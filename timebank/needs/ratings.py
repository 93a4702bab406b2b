"""Reviews (评单) and follow-ups (回访): the resident rates each visit; two stars or fewer goes to a social worker's
call list, whose call is recorded; the need closes (green) once its visits are reviewed or followed up.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from timebank.audit.services import record
from timebank.domain import Conflict, NotFound
from timebank.needs import orders
from timebank.needs.services import record_event, requesters
from timebank.needs.models import Assignment, AssignmentStatus, Colour, Need, NeedStatus, Order, OrderStatus, Rating
from timebank.needs.order_schemas import RatingFollowUpSchema, RatingSchema
from timebank.orgs.models import Organisation
from timebank.people.access import Actor
from timebank.people.services import load

#: A rating at or below this asks a social worker to call the resident back.
LOW_STARS = 2
#: Visits that took place, and so can be rated.
VISITED = (AssignmentStatus.ENDED.value, AssignmentStatus.APPROVED.value, AssignmentStatus.REJECTED.value)
IN_PROGRESS = (OrderStatus.DISPATCHING.value, OrderStatus.FILLED.value, OrderStatus.SERVING.value)


def rate(session: Session, assignment_id: int, data: Mapping[str, Any], *, actor: Actor, now: dt.datetime) -> Rating:
    """The resident's (or their requester's, or staff on the phone's) stars for a visit; once per visit."""
    assignment = orders.get_assignment(session, assignment_id)
    order = assignment.order
    is_requester = actor.id in requesters(order.need)
    if not is_requester and not orders.manages(session, order, actor=actor):
        raise NotFound("Unknown assignment.")
    values = load(RatingSchema(), data)
    if assignment.status not in VISITED:
        raise Conflict("A visit is rated once it has ended.")
    rating = Rating(
        assignment_id=assignment.id, volunteer_id=assignment.volunteer_id, stars=values["stars"],
        comment=(values.get("comment") or "").strip() or None,
        rated_by=None if actor.id == order.need.resident.person_id else actor.id, rated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(rating)
            session.flush()
    except IntegrityError:
        raise Conflict("This visit has been rated already.") from None
    record_event(session, order.need, "rated", actor=actor, now=now, order=order, assignment=assignment,
                        note=f"{rating.stars}★ {rating.comment or ''}".strip())
    close_if_done(session, order.need, now=now)
    return rating


def follow_ups(session: Session, *, actor: Actor, done: bool = False, limit: int = 200) -> list[Rating]:
    """Low ratings in the actor's communities waiting for a call (or, with `done`, those called), oldest first."""
    paths = actor.paths(orders.STAFF)
    if not paths:
        return []
    stmt = (
        select(Rating)
        .join(Assignment, Assignment.id == Rating.assignment_id)
        .join(Order, Order.id == Assignment.order_id)
        .join(Organisation, Organisation.id == Order.organisation_id)
        .where(Rating.stars <= LOW_STARS, or_(*[Organisation.path.startswith(p) for p in paths]),
               Rating.followed_up_at.is_not(None) if done else Rating.followed_up_at.is_(None))
        .order_by(Rating.rated_at, Rating.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def rating_order(session: Session, rating: Rating) -> Order:
    """The order a rating's visit belongs to."""
    return orders.get_assignment(session, rating.assignment_id).order


def follow_up(session: Session, rating_id: int, data: Mapping[str, Any], *, actor: Actor, now: dt.datetime) -> Rating:
    """Record a social worker's call after a low rating: what came of it, whether a complaint was upheld."""
    rating = session.get(Rating, rating_id, with_for_update={"of": Rating}) if rating_id else None
    if rating is None:
        raise NotFound("Unknown rating.")
    order = rating_order(session, rating)
    orders.managed_order(session, order.id, actor=actor)
    values = load(RatingFollowUpSchema(), data)
    if rating.followed_up_at is not None:
        raise Conflict("This rating has been followed up already.")
    rating.followed_up_by, rating.followed_up_at = actor.id, now
    rating.follow_up_notes, rating.complaint_upheld = values["notes"].strip(), bool(values["complaint_upheld"])
    record_event(session, order.need, "followed_up", actor=actor, now=now, order=order, note=rating.follow_up_notes)
    record(session, actor=actor.id, action="follow_up_rating", target=("order_rating", rating.id),
           changes={"complaint_upheld": [None, rating.complaint_upheld]}, now=now)
    close_if_done(session, order.need, now=now, followed_up=True)
    return rating


def close_if_done(session: Session, need: Need, *, now: dt.datetime, followed_up: bool = False) -> bool:
    """Close the need (green) when no order of it is under way and every visit is rated with no call pending, or after a follow-up."""
    if need.status not in (NeedStatus.ORDERED.value, NeedStatus.SERVED.value):
        return False
    session.flush()
    its_orders = list(session.scalars(select(Order).where(Order.need_id == need.id)))
    if any(o.status in IN_PROGRESS for o in its_orders):
        return False
    visits = [a for o in its_orders for a in o.assignments if a.status in VISITED]
    if not visits:
        return False
    ratings = {r.assignment_id: r for r in session.scalars(select(Rating).where(Rating.assignment_id.in_([a.id for a in visits])))}
    pending_call = any(r.stars <= LOW_STARS and r.followed_up_at is None for r in ratings.values())
    if not followed_up and (len(ratings) < len(visits) or pending_call):
        return False
    if followed_up and pending_call:
        return False
    need.status, need.colour, need.closed_at, need.due_at = NeedStatus.CLOSED.value, Colour.GREEN.value, now, None
    record_event(session, need, "closed", actor=None, now=now)
    return True


def ratings_of(session: Session, assignment_ids: list[int]) -> dict[int, Rating]:
    """The ratings of these visits, by assignment."""
    if not assignment_ids:
        return {}
    return {r.assignment_id: r for r in session.scalars(select(Rating).where(Rating.assignment_id.in_(assignment_ids)))}
