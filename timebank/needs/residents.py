"""Residents: the lighter record of a person who asks for help, and who may read their address."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from timebank.needs.models import LIVE_ASSIGNMENT, Assignment, Need, Order, Resident
from timebank.people.access import Actor
from timebank.people.models import Role

#: Staff who look after residents' needs in their subtree: they see residents' records in full.
NEED_STAFF = (Role.GRID_WORKER, Role.SOCIAL_WORKER, Role.COORDINATOR, Role.ADMIN)


def can_see_address(session: Session, actor: Actor | None, resident: Resident) -> bool:
    """True if `actor` may read the resident's address (and a need's own address).

    Staff of the resident's subtree may, the resident themself may, and so may a
    volunteer who holds a live assignment on an order of one of the resident's
    needs; nobody else, and nobody signed out.
    """
    if actor is None:
        return False
    if resident.person_id is not None and resident.person_id == actor.id:
        return True
    if actor.may(NEED_STAFF, resident.organisation):
        return True
    return session.scalar(
        select(Assignment.id)
        .join(Order, Order.id == Assignment.order_id)
        .join(Need, Need.id == Order.need_id)
        .where(
            Need.resident_id == resident.id,
            Assignment.volunteer_id == actor.id,
            Assignment.status.in_(LIVE_ASSIGNMENT),
        )
        .limit(1)
    ) is not None
