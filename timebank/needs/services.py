"""Recording residents' needs (点单), their response deadlines, cancelling them, and the history every change leaves.

A need is recorded by the resident (signed in or not), by a family member along
a confirmed link, or on the resident's behalf (代点单) by a grid worker, a
community worker or a social worker. Each change of a need, its orders and
their assignments goes through `record_event`, so the need's page can show
who did what, and when.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import and_, case, false, or_, select
from sqlalchemy.orm import Session

from timebank.domain import Conflict, InvalidInput, NotAllowed, NotFound
from timebank.events.credit import add_working_days
from timebank.localtime import LOCAL_TZ, local
from timebank.needs import alerts
from timebank.needs.models import Assignment, Channel, Colour, Need, NeedEvent, NeedStatus, Order, Resident
from timebank.needs.residents import NEED_STAFF, community, consent, new_resident
from timebank.needs.schemas import NeedSchema, NeedReasonSchema
from timebank.orgs.models import Organisation
from timebank.orgs.services import effective_policy, get_organisation, ids_below
from timebank.people.access import Actor
from timebank.people.models import FamilyLink, Person, Role
from timebank.people.services import load

#: Who assesses and decides needs (社工介入): a social worker, or a coordinator, of the need's subtree.
TRIAGERS = (Role.SOCIAL_WORKER, Role.COORDINATOR, Role.ADMIN)
#: The most needs "My requests" lists.
MY_NEEDS_LIMIT = 100
#: Statuses in which a need waits on someone before any service: its placer or a social worker may still cancel it.
CANCELLABLE = (NeedStatus.RECORDED.value, NeedStatus.ORDERED.value, NeedStatus.IN_ACTIVITY.value, NeedStatus.REFERRED.value)
#: Called when a need with orders is cancelled, to cancel them (and release what they hold) or refuse
#: with Conflict once a visit has started: the orders feature registers its function here.
CANCEL_HOOKS: list[Callable[..., None]] = []


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
    if need.id is None:
        session.flush()
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


def history(session: Session, need_id: int) -> list[NeedEvent]:
    """A need's history, oldest first."""
    return list(session.scalars(select(NeedEvent).where(NeedEvent.need_id == need_id).order_by(NeedEvent.at, NeedEvent.id)))


# -- deadlines ------------------------------------------------------------------------


def response_deadline(policy: Mapping[str, Any], colour: str, now: dt.datetime) -> dt.datetime | None:
    """When a need of this colour must be answered: red in hours, yellow and blue in working days (same local time); green never."""
    if colour == Colour.RED.value:
        return now + dt.timedelta(hours=int(policy["need_red_response_hours"]))
    if colour in (Colour.YELLOW.value, Colour.BLUE.value):
        at = local(now)
        day = add_working_days(at.date(), int(policy[f"need_{colour}_response_working_days"]))
        return dt.datetime.combine(day, at.timetz().replace(tzinfo=None), tzinfo=LOCAL_TZ).astimezone(dt.timezone.utc)
    return None


def set_deadline(session: Session, need: Need, *, now: dt.datetime) -> None:
    """Set the need's deadline from its colour and its community's policy, while it waits for an answer."""
    waiting = need.status == NeedStatus.RECORDED.value
    need.due_at = response_deadline(effective_policy(session, need.organisation), need.colour, now) if waiting else None


def overdue_first(now: dt.datetime) -> tuple[Any, ...]:
    """The order of every needs list: overdue first (the longest overdue on top), then by deadline, then newest."""
    overdue = Need.due_at.is_not(None) & (Need.due_at <= now)
    return (case((overdue, 0), else_=1), case((Need.due_at.is_(None), 1), else_=0), Need.due_at, Need.recorded_at.desc(), Need.id.desc())


def is_overdue(need: Need, now: dt.datetime) -> bool:
    """Whether the need's deadline has passed unanswered."""
    return need.due_at is not None and need.due_at <= now


# -- who may see a need ------------------------------------------------------------------


def get_need(session: Session, need_id: int | None, *, lock: bool = False) -> Need:
    """The need, or NotFound."""
    need = session.get(Need, need_id, with_for_update={"of": Need} if lock else None) if need_id else None
    if need is None:
        raise NotFound("Unknown need.")
    return need


def requesters(need: Need) -> set[int]:
    """The people who speak for the need: the resident's own account and whoever placed it (family, or staff by 代点单).

    They see it on their "My requests" page, read out its visits' codes, cancel
    its orders, rate its visits, and are told of a decline or a referral.
    """
    return {i for i in (need.resident.person_id, need.recorded_by) if i is not None}


def is_requester(need: Need, actor: Actor | None) -> bool:
    """Whether the actor speaks for this need (see `requesters`) now.

    Whoever placed it online (the resident's family, on a phone) always does; a
    staff member who recorded it for the resident (代点单, by hotline, visit or
    grid) only while they are staff of its community: their role revoked, they
    no longer open, cancel or rate it.
    """
    if actor is None or actor.id not in requesters(need):
        return False
    if actor.id == need.resident.person_id or need.channel == Channel.ONLINE.value:
        return True
    return actor.may(NEED_STAFF, need.organisation)


def visible_need(session: Session, need_id: int, *, actor: Actor, lock: bool = False) -> Need:
    """The need, for staff of its community and for its requesters; NotFound for anyone else."""
    need = get_need(session, need_id, lock=lock)
    if is_requester(need, actor) or actor.may(NEED_STAFF, need.organisation):
        return need
    raise NotFound("Unknown need.")


def staff_need(session: Session, need_id: int, *, actor: Actor, roles: tuple[Role, ...] = NEED_STAFF, lock: bool = False) -> Need:
    """The need, if the actor holds one of `roles` over its community (else 404 or 403)."""
    need = get_need(session, need_id, lock=lock)
    actor.require(roles, need.organisation)
    return need


# -- recording --------------------------------------------------------------------------


def record_need(session: Session, data: Mapping[str, Any], *, actor: Actor | None, now: dt.datetime) -> Need:
    """A new need, for the resident the input names; blue unless staff chose a colour; its deadline set; red ones told to social workers.

    Signed out (actor None) the resident is found, or recorded, by phone within
    the chosen community, and their consent is required. A signed-in person
    records for themself (their resident record linked to them), for a relative
    along a confirmed family link (`relative_id`), or, as staff, for a resident
    of their subtree (`resident_id`, or a new resident's name, phone and community).
    """
    values = load(NeedSchema(), data)
    if _placed_by_staff(values, actor):
        resident = _resident_for_staff(session, values, actor=actor, now=now)
        channel = values.get("channel") or (Channel.GRID.value if actor.has(Role.GRID_WORKER) else Channel.HOME_VISIT.value)
        colour = values.get("colour") or Colour.BLUE.value
    else:
        if not values.get("privacy_consent"):
            raise InvalidInput(errors={"privacy_consent": ["Agree to the personal information notice so that we may keep these details."]})
        if values.get("relative_id") is not None:
            resident = _resident_of_relative(session, values, actor=actor, now=now)
        else:
            resident = _own_resident(session, values, actor=actor, now=now)
        channel, colour = Channel.ONLINE.value, Colour.BLUE.value
    need = Need(
        resident_id=resident.id,
        organisation_id=resident.organisation_id,
        channel=channel,
        description=values["description"],
        wanted_when=values.get("wanted_when"),
        address=values.get("address"),
        contact_phone=values["contact_phone"],
        colour=colour,
        status=NeedStatus.RECORDED.value,
        recorded_by=actor.id if actor is not None else None,
        recorded_at=now,
        category=values.get("category"),
    )
    need.resident, need.organisation = resident, resident.organisation
    session.add(need)
    session.flush()
    set_deadline(session, need, now=now)
    record_event(session, need, "recorded", actor=actor, now=now, note=channel)
    if colour == Colour.RED.value:
        alerts.urgent_need(session, need, now=now)
    return need


def _placed_by_staff(values: Mapping[str, Any], actor: Actor | None) -> bool:
    """A need placed on a resident's behalf (代点单): naming a resident, or staff recording one (staff asking for themselves choose online)."""
    if actor is None or values.get("relative_id") is not None:
        return False
    return values.get("resident_id") is not None or (actor.has(*NEED_STAFF) and values.get("channel") != Channel.ONLINE.value)


def _resident_for_staff(session: Session, values: dict[str, Any], *, actor: Actor, now: dt.datetime) -> Resident:
    """The resident staff place a need for: one of their subtree, or a new one (consent confirmed by staff)."""
    if values.get("resident_id") is not None:
        resident = session.get(Resident, values["resident_id"])
        if resident is None or not actor.may(NEED_STAFF, resident.organisation):
            raise InvalidInput(errors={"resident_id": ["Choose the resident."]})
        return resident
    organisation = community(session, values.get("organisation_id"))
    actor.require(NEED_STAFF, organisation)
    found = _by_phone(session, organisation, values["contact_phone"])
    if found is not None:
        return found
    if not values.get("real_name"):
        raise InvalidInput(errors={"real_name": ["Give the resident's name."]})
    if not values.get("privacy_consent"):
        raise InvalidInput(errors={"privacy_consent": ["Confirm that the resident agrees to the personal information notice."]})
    resident = new_resident(session, organisation=organisation, real_name=values["real_name"], phone=values["contact_phone"],
                            address=values.get("address"), actor_id=actor.id, now=now)
    consent(resident, recorded_by=actor.id, now=now)
    return resident


def _resident_of_relative(session: Session, values: dict[str, Any], *, actor: Actor | None, now: dt.datetime) -> Resident:
    """The resident record of a relative the signed-in person is linked to (confirmed), made from their person record if need be."""
    relative_id = values["relative_id"]
    linked = actor is not None and session.scalar(
        select(FamilyLink.id).where(FamilyLink.person_id == actor.id, FamilyLink.relative_id == relative_id, FamilyLink.confirmed_at.is_not(None))
    )
    if not linked:
        raise InvalidInput(errors={"relative_id": ["Choose a family member whose link is confirmed."]})
    return _resident_of_person(session, session.get(Person, relative_id), values, recorded_by=actor.id, now=now)


def _own_resident(session: Session, values: dict[str, Any], *, actor: Actor | None, now: dt.datetime) -> Resident:
    """The requester's own resident record: theirs if signed in (linked to them), else found or made by phone in the community."""
    if actor is not None:
        return _resident_of_person(session, session.get(Person, actor.id), values, recorded_by=None, now=now)
    organisation = community(session, values.get("organisation_id"))
    found = _by_phone(session, organisation, values["contact_phone"])
    if found is not None:
        consent(found, recorded_by=None, now=now)
        return found
    resident = new_resident(session, organisation=organisation, real_name=values.get("real_name") or "", phone=values["contact_phone"],
                            address=values.get("address"), actor_id=None, now=now)
    consent(resident, recorded_by=None, now=now)
    return resident


def _resident_of_person(session: Session, person: Person, values: dict[str, Any], *, recorded_by: int | None, now: dt.datetime) -> Resident:
    """The resident record linked to a person: theirs, one of their community with their phone (then linked), or a new one."""
    resident = session.scalar(select(Resident).where(Resident.person_id == person.id))
    if resident is None:
        organisation = get_organisation(session, person.home_organisation_id)
        resident = _by_phone(session, organisation, person.phone, unlinked=True)
        if resident is not None:
            resident.person_id = person.id
        else:
            resident = new_resident(session, organisation=organisation, real_name=person.real_name, phone=person.phone,
                                    address=values.get("address"), person_id=person.id, actor_id=recorded_by or person.id, now=now)
    consent(resident, recorded_by=recorded_by, now=now)
    return resident


def _by_phone(session: Session, organisation: Organisation, phone: str, *, unlinked: bool = False) -> Resident | None:
    """The community's resident with this phone (the oldest, should there be two)."""
    stmt = select(Resident).where(Resident.organisation_id == organisation.id, Resident.phone == phone)
    if unlinked:
        stmt = stmt.where(Resident.person_id.is_(None))
    return session.scalars(stmt.order_by(Resident.id).limit(1)).first()


# -- cancelling ----------------------------------------------------------------------------


def may_cancel(need: Need, actor: Actor) -> bool:
    """Whether the actor may cancel the need: whoever placed it, the resident, or a social worker (or coordinator) of its community."""
    if need.status not in CANCELLABLE:
        return False
    return is_requester(need, actor) or actor.may(TRIAGERS, need.organisation)


def cancel_need(session: Session, need_id: int, data: Mapping[str, Any], *, actor: Actor, now: dt.datetime) -> Need:
    """Cancel a need before any service, with a reason; its orders are cancelled with it (or the cancellation refused)."""
    need = visible_need(session, need_id, actor=actor, lock=True)  # an outsider learns nothing from validation
    reason = load(NeedReasonSchema(), data)["reason"]
    if need.status not in CANCELLABLE:
        raise Conflict("This need can no longer be cancelled.")
    if not may_cancel(need, actor):
        raise NotAllowed("Only whoever placed the need, the resident, or a social worker may cancel it.")
    if need.status == NeedStatus.ORDERED.value:
        if not CANCEL_HOOKS:
            raise Conflict("An order serves this need: cancel the order first.")
        for hook in CANCEL_HOOKS:
            hook(session, need, reason=reason, actor=actor, now=now)
    need.status, need.cancelled_at, need.cancel_reason, need.due_at = NeedStatus.CANCELLED.value, now, reason, None
    record_event(session, need, "cancelled", actor=actor, now=now, note=reason)
    return need


def needs_of_resident(session: Session, resident_id: int, *, now: dt.datetime) -> list[Need]:
    """A resident's needs, overdue first."""
    return list(session.scalars(select(Need).where(Need.resident_id == resident_id).order_by(*overdue_first(now))))


def my_needs(session: Session, actor: Actor, *, now: dt.datetime, limit: int = MY_NEEDS_LIMIT) -> list[Need]:
    """The needs the actor speaks for (`is_requester`): their own as a resident, and those they placed for someone;
    overdue first, at most `limit` (a busy grid worker records many: the oldest are on the staff's needs list)."""
    own = select(Resident.id).where(Resident.person_id == actor.id)
    paths = actor.paths(NEED_STAFF)
    # Placed by them: online always, recorded as staff only where they are staff now (the rule of is_requester,
    # in SQL, so that the limit counts only needs they speak for).
    still_staff = Need.organisation_id.in_(ids_below(paths)) if paths else false()
    placed = and_(Need.recorded_by == actor.id, or_(Need.channel == Channel.ONLINE.value, still_staff))
    stmt = select(Need).where(or_(Need.resident_id.in_(own), placed))
    return list(session.scalars(stmt.order_by(*overdue_first(now)).limit(limit)))
