"""Residents: the lighter record of a person who asks for help, and who may read their address."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from timebank.audit.services import apply_changes, record
from timebank.domain import Conflict, InvalidInput, NotFound
from timebank.needs.models import LIVE_ASSIGNMENT, Assignment, Need, Order, Resident
from timebank.needs.schemas import ResidentSchema
from timebank.orgs.models import Organisation
from timebank.people.access import Actor
from timebank.people.models import Role
from timebank.people.privacy import NOTICE_VERSION
from timebank.people.services import load

#: Staff who look after residents' needs in their subtree: they see residents' records in full.
NEED_STAFF = (Role.GRID_WORKER, Role.SOCIAL_WORKER, Role.COORDINATOR, Role.ADMIN)
#: Where residents live: a community (a team's members live in its community, but may be recorded there too).
RESIDENT_LEVELS = ("community", "team")


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


# -- the records ------------------------------------------------------------------


def get_resident(session: Session, resident_id: int | None) -> Resident:
    """The resident, or NotFound."""
    resident = session.get(Resident, resident_id) if resident_id else None
    if resident is None:
        raise NotFound("Unknown resident.")
    return resident


def managed_resident(session: Session, resident_id: int | None, *, actor: Actor) -> Resident:
    """The resident, if the actor is staff of their community (else 404 or 403)."""
    resident = get_resident(session, resident_id)
    actor.require(NEED_STAFF, resident.organisation)
    return resident


def community(session: Session, organisation_id: int | None, *, field: str = "organisation_id") -> Organisation:
    """A community (or team) a resident may live in; InvalidInput naming `field` otherwise."""
    organisation = session.get(Organisation, organisation_id) if organisation_id else None
    if organisation is None or organisation.level not in RESIDENT_LEVELS:
        raise InvalidInput(errors={field: ["Choose the community."]})
    return organisation


def consent(resident: Resident, *, recorded_by: int | None, now: dt.datetime) -> None:
    """Record the resident's consent to keep their data (the notice's current version)."""
    resident.consent_version, resident.consent_at, resident.consent_recorded_by = NOTICE_VERSION, now, recorded_by


def new_resident(
    session: Session, *, organisation: Organisation, real_name: str, phone: str, actor_id: int | None, now: dt.datetime, **details: Any
) -> Resident:
    """A resident record, added and flushed (the caller checked who may make it and the consent)."""
    resident = Resident(
        organisation_id=organisation.id, real_name=real_name, phone=phone, card_key=secrets.token_hex(16),
        created_at=now, created_by=actor_id, **details,
    )
    resident.organisation = organisation
    session.add(resident)
    session.flush()
    record(session, actor=actor_id, action="create_resident", target=("resident", resident.id),
           changes={"real_name": [None, real_name], "organisation_id": [None, organisation.id]}, now=now)
    return resident


def create_resident(session: Session, data: Mapping[str, Any], *, actor: Actor, now: dt.datetime) -> Resident:
    """Staff record a resident, with their consent to keep the data (confirmed by staff)."""
    values = load(ResidentSchema(), data)
    organisation = community(session, values.pop("organisation_id"))
    actor.require(NEED_STAFF, organisation)
    if not values.pop("privacy_consent"):
        raise InvalidInput(errors={"privacy_consent": ["Confirm that the resident agrees to the personal information notice."]})
    if session.scalar(select(Resident.id).where(Resident.organisation_id == organisation.id, Resident.phone == values["phone"])) is not None:
        raise Conflict("A resident of this community already has this phone number.", errors={"phone": ["A resident of this community already has this phone number."]})
    values["groups"] = ",".join(values["groups"])
    resident = new_resident(session, organisation=organisation, actor_id=actor.id, now=now, **values)
    consent(resident, recorded_by=actor.id, now=now)
    return resident


def update_resident(session: Session, resident_id: int, data: Mapping[str, Any], *, actor: Actor, now: dt.datetime) -> Resident:
    """Change a resident's record; only the fields sent change."""
    resident = managed_resident(session, resident_id, actor=actor)
    values = load(ResidentSchema(), data, partial=True)
    values.pop("privacy_consent", None)
    if "organisation_id" in values:
        organisation = community(session, values["organisation_id"])
        actor.require(NEED_STAFF, organisation)
    if "groups" in values:
        values["groups"] = ",".join(values["groups"])
    changes = apply_changes(resident, values)
    if changes:
        # The address is personal data: the audit log says it changed, never what it says.
        changes = {k: (["…", "…"] if k == "address" else v) for k, v in changes.items()}
        record(session, actor=actor.id, action="update_resident", target=("resident", resident.id), changes=changes, now=now)
    session.flush()
    return resident


def find_residents(session: Session, *, actor: Actor, query: str = "", limit: int = 200) -> list[Resident]:
    """Residents of the actor's subtrees, by name or phone fragment; newest first."""
    paths = actor.paths(NEED_STAFF)
    if not paths:
        return []
    stmt = (
        select(Resident).join(Organisation, Organisation.id == Resident.organisation_id)
        .where(or_(*[Organisation.path.startswith(p) for p in paths]))
        .order_by(Resident.id.desc()).limit(limit)
    )
    if query:
        stmt = stmt.where(or_(Resident.real_name.contains(query), Resident.phone.contains(query)))
    return list(session.scalars(stmt))


def age(resident: Resident, today: dt.date) -> int | None:
    """Whole years of age today, when the birth date is known."""
    born = resident.birth_date
    if born is None:
        return None
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))
