"""Recording residents' needs (点单), cancelling them, and the history every change of a need leaves."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from timebank.needs.models import Assignment, Need, NeedEvent, Order
from timebank.people.access import Actor


def record_event(
    session: Session,
    need: Need,
    action: str,
    *,
    actor: Actor | int | None,
    now: dt.datetime,
    order: Order | None = None,
    assignment: Assignment | None = None,
    note: str | None = None,
) -> NeedEvent:
    """Add one dated, attributed row to the need's history (actor None: the service itself, e.g. a deadline).

    `action` is a short verb in the past ("recorded", "triaged", "dispatched", ...);
    `note` is cut to the column's 500 characters.
    """
    actor_id = actor.id if isinstance(actor, Actor) else actor
    event = NeedEvent(
        need_id=need.id,
        order_id=order.id if order is not None else (assignment.order_id if assignment is not None else None),
        assignment_id=assignment.id if assignment is not None else None,
        action=action,
        actor_id=actor_id,
        at=now,
        note=note[:500] if note else None,
    )
    session.add(event)
    session.flush()
    return event
