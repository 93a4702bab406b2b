"""Activities and sign-ups: creating, publishing and cancelling activities; signing up, the waiting list."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.orm import Session

from timebank.audit.services import apply_changes, record
from timebank.domain import Conflict, InvalidInput, NotFound
from timebank.events import notices as event_notices
from timebank.events.models import Activity, ActivityStatus, Attendance, Phase, SignUp, SignUpStatus
from timebank.events.schemas import ActivitySchema
from timebank.needs.models import Order
from timebank.orgs.models import Organisation
from timebank.orgs.services import get_organisation, lineage
from timebank.people.access import CARERS, Actor
from timebank.people.models import Person, RoleGrant, Status
from timebank.people.services import load

#: Fields of an activity its organisers may change until it starts.
EDITABLE = tuple(ActivitySchema().fields)


def get_activity(session: Session, activity_id: int, *, lock: bool = False) -> Activity:
    """The activity, or NotFound; `lock` holds its row until the transaction ends (sign-ups, reviews)."""
    activity = session.get(Activity, activity_id, with_for_update={"of": Activity} if lock else None) if activity_id else None
    if activity is None:
        raise NotFound("Unknown activity.")
    return activity


def order_activities() -> Select:
    """The private activities home visits are recorded under (timebank/needs): never listed, screened or signed up for."""
    return select(Order.activity_id).where(Order.activity_id.is_not(None))


def managed_activity(session: Session, activity_id: int, *, actor: Actor, lock: bool = False) -> Activity:
    """The activity, if the actor leads activities where it is organised (a social worker, coordinator or admin there)."""
    activity = get_activity(session, activity_id, lock=lock)
    if session.scalar(order_activities().where(Order.activity_id == activity.id)) is not None:
        raise NotFound("Unknown activity.")  # a home visit's record: its order's pages run it
    if activity.person_in_charge_id != actor.id:
        actor.require(CARERS, activity.organisation)
    return activity


def manages(activity: Activity, *, actor: Actor) -> bool:
    """Whether the actor leads or organises the activity (what `managed_activity` requires)."""
    return activity.person_in_charge_id == actor.id or actor.may(CARERS, activity.organisation)


def volunteer_activity(session: Session, activity_id: int, *, person: Person) -> Activity:
    """An activity as a volunteer may see it: published near them, or one they signed up for or attended; else NotFound."""
    activity = get_activity(session, activity_id)
    if activity.status == ActivityStatus.DRAFT.value:
        raise NotFound("Unknown activity.")
    ancestors, around = neighbourhood_paths(session, person)
    private = session.scalar(order_activities().where(Order.activity_id == activity.id)) is not None
    if not private and (activity.organisation.path.startswith(around) or activity.organisation_id in ancestors):
        return activity
    for model in (SignUp, Attendance):
        if session.scalar(select(model.id).where(model.activity_id == activity.id, model.volunteer_id == person.id)) is not None:
            return activity
    raise NotFound("Unknown activity.")


def _checked(session: Session, data: Mapping[str, Any], *, actor: Actor, partial: bool = False) -> dict[str, Any]:
    """Validated activity fields, with the organisation within the actor's reach and a real person in charge."""
    values = load(ActivitySchema(), data, partial=partial)
    if "organisation_id" in values:
        try:
            organisation = get_organisation(session, values["organisation_id"])
        except NotFound:
            raise InvalidInput(errors={"organisation_id": ["Choose the organising unit."]}) from None
        actor.require(CARERS, organisation)
    person_id = values.get("person_in_charge_id")
    if person_id is not None:
        person = session.get(Person, person_id)
        if person is None or person.status != Status.ACTIVE.value:
            raise InvalidInput(errors={"person_in_charge_id": ["Choose the person in charge."]})
    if values.get("credit_mode") == "actual":
        values["fixed_minutes"] = None
    return values


def create_activity(session: Session, data: Mapping[str, Any], *, actor: Actor, now: dt.datetime) -> Activity:
    """A new activity, as a draft; the creator is in charge unless someone else is named."""
    values = _checked(session, data, actor=actor)
    values["person_in_charge_id"] = values.get("person_in_charge_id") or actor.id
    activity = Activity(
        **values,
        status=ActivityStatus.DRAFT.value,
        code_key=secrets.token_urlsafe(16),
        created_by=actor.id,
        created_at=now,
    )
    session.add(activity)
    session.flush()
    record(session, actor=actor.id, action="create_activity", target=("activity", activity.id), changes={"title": [None, activity.title]}, now=now)
    return activity


def update_activity(
    session: Session, activity_id: int, data: Mapping[str, Any], *, actor: Actor, now: dt.datetime
) -> Activity:
    """Change an activity before it starts; only the fields sent change."""
    activity = managed_activity(session, activity_id, actor=actor)
    if activity.phase(now) not in (Phase.DRAFT, Phase.PUBLISHED):
        raise Conflict("An activity cannot be changed once it has started.")
    current = {name: getattr(activity, name) for name in EDITABLE}
    merged = {**{k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in current.items()}, **data}
    values = _checked(session, merged, actor=actor)
    changes = apply_changes(activity, values)
    if changes:
        record(session, actor=actor.id, action="update_activity", target=("activity", activity.id), changes=changes, now=now)
        event_notices.activity_changed(session, activity, changes, now=now)
    return activity


def publish_activity(session: Session, activity_id: int, *, actor: Actor, now: dt.datetime) -> Activity:
    """Make a draft visible to volunteers and open for sign-up and check-in."""
    activity = managed_activity(session, activity_id, actor=actor)
    if activity.status == ActivityStatus.PUBLISHED.value:
        return activity
    if activity.status != ActivityStatus.DRAFT.value:
        raise Conflict("Only a draft can be published.")
    if activity.ends_at <= now:
        raise Conflict("This activity has already ended; correct its time before publishing.")
    activity.status, activity.published_at = ActivityStatus.PUBLISHED.value, now
    record(session, actor=actor.id, action="publish_activity", target=("activity", activity.id), now=now)
    return activity


def cancel_activity(session: Session, activity_id: int, reason: str, *, actor: Actor, now: dt.datetime) -> Activity:
    """Call an activity off before anyone has checked in."""
    activity = managed_activity(session, activity_id, actor=actor)
    reason = (reason or "").strip()
    if not reason or len(reason) > 200:
        raise InvalidInput(errors={"reason": ["Give a reason."]})
    if activity.status not in (ActivityStatus.DRAFT.value, ActivityStatus.PUBLISHED.value):
        raise Conflict("This activity can no longer be cancelled.")
    if session.scalar(select(func.count()).where(Attendance.activity_id == activity.id)):
        raise Conflict("Volunteers have already checked in; review their attendances instead of cancelling.")
    activity.status, activity.cancelled_at, activity.cancel_reason = ActivityStatus.CANCELLED.value, now, reason
    record(session, actor=actor.id, action="cancel_activity", target=("activity", activity.id), changes={"reason": [None, reason]}, now=now)
    event_notices.activity_cancelled(session, activity, now=now)
    return activity


def managed_activities(session: Session, *, actor: Actor, limit: int = 200) -> list[Activity]:
    """Activities the actor leads or may manage, latest first."""
    conditions = [Organisation.path.startswith(path) for path in actor.paths(CARERS)]
    conditions.append(Activity.person_in_charge_id == actor.id)
    stmt = (
        select(Activity)
        .join(Organisation, Organisation.id == Activity.organisation_id)
        .where(or_(*conditions), Activity.id.not_in(order_activities()))
        .order_by(Activity.starts_at.desc(), Activity.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


#: The levels a neighbourhood is drawn around: the street one lives in, or the district where no street is between.
AREA_LEVELS = ("district", "street")


def neighbourhood_paths(session: Session, person: Person) -> tuple[list[int], str]:
    """Where a volunteer looks for activities and stations: the nearest street at or above their
    home organisation (or the district, where there is none) with everything under it, and every
    organisation above it. Returns the ancestors' ids and the street's path.
    """
    home = get_organisation(session, person.home_organisation_id)
    chain = lineage(session, home)
    area = next((o for o in reversed(chain) if o.level in AREA_LEVELS), chain[0])
    return [o.id for o in chain], area.path


def browse(session: Session, person: Person, *, now: dt.datetime, limit: int = 100) -> list[Activity]:
    """Published activities near the volunteer that have not ended, soonest first."""
    ancestors, around = neighbourhood_paths(session, person)
    stmt = (
        select(Activity)
        .join(Organisation, Organisation.id == Activity.organisation_id)
        .where(
            Activity.status == ActivityStatus.PUBLISHED.value,
            Activity.ends_at > now,
            or_(Organisation.path.startswith(around), Activity.organisation_id.in_(ancestors)),
            Activity.id.not_in(order_activities()),
        )
        .order_by(Activity.starts_at, Activity.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def signup_counts(session: Session, activity_ids: list[int]) -> dict[int, dict[str, int]]:
    """How many are signed up and waiting, per activity."""
    counts: dict[int, dict[str, int]] = {i: {"signed_up": 0, "waiting": 0} for i in activity_ids}
    if activity_ids:
        rows = session.execute(
            select(SignUp.activity_id, SignUp.status, func.count())
            .where(SignUp.activity_id.in_(activity_ids), SignUp.status != SignUpStatus.CANCELLED.value)
            .group_by(SignUp.activity_id, SignUp.status)
        )
        for activity_id, status, count in rows:
            counts[activity_id][status] = count
    return counts


def signups_of(session: Session, volunteer_id: int, activity_ids: list[int]) -> dict[int, SignUp]:
    """The volunteer's live sign-ups among these activities."""
    if not activity_ids:
        return {}
    stmt = select(SignUp).where(
        SignUp.volunteer_id == volunteer_id,
        SignUp.activity_id.in_(activity_ids),
        SignUp.status != SignUpStatus.CANCELLED.value,
    )
    return {s.activity_id: s for s in session.scalars(stmt)}


def sign_up(session: Session, activity_id: int, *, volunteer: Person, now: dt.datetime) -> SignUp:
    """Take a place on the activity, or on its waiting list when it is full; signing up twice changes nothing."""
    activity = get_activity(session, activity_id, lock=True)  # the capacity count must not race
    if activity.status != ActivityStatus.PUBLISHED.value or activity.ends_at <= now:
        raise Conflict("This activity is not open for sign-up.")
    if volunteer.status != Status.ACTIVE.value:
        raise Conflict("Your registration is still waiting for a coordinator's approval.")
    existing = session.scalar(select(SignUp).where(SignUp.activity_id == activity.id, SignUp.volunteer_id == volunteer.id))
    if existing is not None and existing.status != SignUpStatus.CANCELLED.value:
        return existing
    taken = signup_counts(session, [activity.id])[activity.id]["signed_up"]
    full = activity.capacity is not None and taken >= activity.capacity
    status = SignUpStatus.WAITING if full else SignUpStatus.SIGNED_UP
    if existing is None:
        existing = SignUp(activity_id=activity.id, volunteer_id=volunteer.id, created_at=now)
        session.add(existing)
    existing.status, existing.created_at, existing.cancelled_at = status.value, now, None
    session.flush()
    return existing


def cancel_sign_up(session: Session, activity_id: int, *, volunteer: Person, now: dt.datetime) -> SignUp | None:
    """Give up one's place; the first on the waiting list takes it. Returns whoever moved up."""
    activity = get_activity(session, activity_id, lock=True)
    mine = session.scalar(
        select(SignUp).where(
            SignUp.activity_id == activity.id,
            SignUp.volunteer_id == volunteer.id,
            SignUp.status != SignUpStatus.CANCELLED.value,
        )
    )
    if mine is None:
        raise Conflict("You are not signed up for this activity.")
    if activity.starts_at <= now:
        raise Conflict("The activity has started; a sign-up can no longer be cancelled.")
    was_placed = mine.status == SignUpStatus.SIGNED_UP.value
    mine.status, mine.cancelled_at = SignUpStatus.CANCELLED.value, now
    if not was_placed:
        return None
    first_waiting = session.scalar(
        select(SignUp)
        .where(SignUp.activity_id == activity.id, SignUp.status == SignUpStatus.WAITING.value)
        .order_by(SignUp.created_at, SignUp.id)
        .limit(1)
    )
    if first_waiting is not None:
        first_waiting.status = SignUpStatus.SIGNED_UP.value
    session.flush()
    return first_waiting


def participants(session: Session, activity_id: int) -> list[tuple[SignUp, Person]]:
    """The sign-ups of an activity with their volunteers, placed first then the waiting list in order."""
    stmt = (
        select(SignUp, Person)
        .join(Person, Person.id == SignUp.volunteer_id)
        .where(SignUp.activity_id == activity_id, SignUp.status != SignUpStatus.CANCELLED.value)
        .order_by(case((SignUp.status == SignUpStatus.SIGNED_UP.value, 0), else_=1), SignUp.created_at, SignUp.id)
    )
    return [(s, p) for s, p in session.execute(stmt)]


def possible_leaders(session: Session, *, actor: Actor) -> list[Person]:
    """Who may be put in charge of the actor's activities: active social workers, coordinators and admins in the actor's subtrees."""
    paths = actor.paths(CARERS)
    if not paths:
        return []
    carers = (
        select(RoleGrant.person_id)
        .join(Organisation, Organisation.id == RoleGrant.organisation_id)
        .where(
            RoleGrant.role.in_([str(role) for role in CARERS]),
            RoleGrant.revoked_at.is_(None),
            or_(*[Organisation.path.startswith(path) for path in paths]),
        )
    )
    stmt = select(Person).where(Person.id.in_(carers), Person.status == Status.ACTIVE.value).order_by(Person.real_name, Person.id)
    return list(session.scalars(stmt))
