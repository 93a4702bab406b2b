"""Registering, approving, finding and editing people; roles and family links.

Services take the session first and `actor` (an access.Actor, or None for a
self-registration) and `now` as keywords; they check the actor's roles
against the organisation tree, write the audit log, and never commit.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from timebank.audit.services import diff, record
from timebank.auth.passwords import hash_password
from timebank.domain import Conflict, InvalidInput, NotAllowed, NotFound
from timebank.inputs import INT64_MAX, ascii_digits, whole_number_problems
from timebank.ledger import rules
from timebank.orgs.models import Organisation
from timebank.orgs.services import get_organisation
from timebank.people.access import CARERS, MANAGERS, Actor
from timebank.people.category_index import index_people
from timebank.people.idnumbers import IdNumberError, IdVault, mask, normalise, resident_id_birth_date, resident_id_sex
from timebank.people.models import RELATIONS, FamilyLink, Person, Role, RoleGrant, Status
from timebank.notices.services import notify
from timebank.people.privacy import NOTICE_VERSION
from timebank.people.schemas import ProfileSchema, RegistrationSchema, RoleGrantSchema
from timebank.redeem.models import Station

PROFILE_FIELDS = (
    "real_name",
    "sex",
    "birth_date",
    "id_type",
    "residence_area",
    "skills",
    "emergency_contact_name",
    "emergency_contact_phone",
)


def load(schema: Any, data: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Validated input, or InvalidInput carrying each field's problems."""
    misread = whole_number_problems(schema, data)
    try:
        loaded = schema.load(data, partial=partial)
    except ValidationError as exc:
        raise InvalidInput(errors=_flatten(exc.messages) | misread) from None
    if misread:
        raise InvalidInput(errors=misread)
    return loaded


def _flatten(messages: Any) -> dict[str, list[str]]:
    if isinstance(messages, dict):
        out: dict[str, list[str]] = {}
        for field, problems in messages.items():
            if isinstance(problems, dict):  # a list field: {index: [problems]}
                problems = sorted({p for inner in problems.values() for p in inner})
            out[field] = list(problems) if isinstance(problems, list) else [str(problems)]
        return out
    return {"_schema": list(messages)}


def _apply_profile(session: Session, person: Person, data: Mapping[str, Any], vault: IdVault) -> None:
    """Set profile fields, sealing and checking the ID number."""
    for field in PROFILE_FIELDS:
        if field in data:
            setattr(person, field, data[field] or None)
    if "service_categories" in data:
        person.service_categories = ",".join(dict.fromkeys(data["service_categories"])) or None
    number = data.get("id_number")
    if not number:
        return
    id_type = data.get("id_type") or person.id_type
    try:
        number = normalise(id_type, number)
    except IdNumberError as exc:
        raise InvalidInput(errors={"id_number": [str(exc)]}) from None
    lookup = vault.lookup_hash(id_type, number)
    clash = session.scalar(select(Person.id).where(Person.id_number_hash == lookup, Person.id != person.id))
    if clash is not None:
        raise Conflict(
            "This ID number is already registered. Ask a coordinator if you think this is a mistake.",
            errors={"id_number": ["This ID number is already registered."]},
        )
    if id_type == "resident_id":
        born, sex = resident_id_birth_date(number), resident_id_sex(number)
        if person.birth_date and person.birth_date != born:
            raise InvalidInput(errors={"birth_date": ["The birth date does not match the ID number."]})
        if person.sex and person.sex != sex:
            raise InvalidInput(errors={"sex": ["The sex does not match the ID number."]})
        person.birth_date, person.sex = born, sex
    person.id_number_hash = lookup
    person.id_number_sealed = vault.seal(number)
    person.id_number_masked = mask(number)


def snapshot(person: Person) -> dict[str, Any]:
    """A person's recorded fields as the audit log keeps them at registration."""
    return {
        **{field: getattr(person, field) for field in PROFILE_FIELDS},
        "service_categories": person.service_categories,
        "phone": person.phone,
        "id_number_masked": person.id_number_masked,
        "status": person.status,
        "home_organisation_id": person.home_organisation_id,
        "consent_version": person.consent_version,
    }


def register(
    session: Session,
    data: Mapping[str, Any],
    *,
    actor: Actor | None,
    vault: IdVault,
    now: dt.datetime,
) -> Person:
    """A new volunteer: pending when they register themself, active when a coordinator registers them."""
    person = new_person(session, data, actor=actor, vault=vault, now=now)
    session.add(person)
    session.flush()
    index_people(session, [person.id])
    record(session, actor=actor.id if actor else None, action="register", target=("person", person.id), changes=snapshot(person), now=now)
    if actor is not None:
        approve(session, person.id, actor=actor, now=now)
    return person


def new_person(
    session: Session,
    data: Mapping[str, Any],
    *,
    actor: Actor | None,
    vault: IdVault,
    now: dt.datetime,
) -> Person:
    """A registration checked against every rule and the records already kept, not yet added to the session.

    Only reads: a bulk import checks every row this way before it writes any.
    """
    values = load(RegistrationSchema(), data)
    organisation = get_organisation(session, values["home_organisation_id"])
    in_person = actor is not None
    if in_person:
        actor.require(MANAGERS, organisation)
    elif not values.get("password"):
        raise InvalidInput(errors={"password": ["This field is required."]})
    if not values.get("privacy_consent"):
        message = "Confirm that the person has read the personal information notice and agrees to it." if in_person else "Read the personal information notice and agree to it to register."
        raise InvalidInput(errors={"privacy_consent": [message]})
    if session.scalar(select(Person.id).where(Person.phone == values["phone"])) is not None:
        raise Conflict(
            "This phone number is already registered. Sign in, or ask a coordinator to reset your password.",
            errors={"phone": ["This phone number is already registered."]},
        )
    person = Person(
        phone=values["phone"],
        password_hash=hash_password(values["password"]) if values.get("password") else None,
        home_organisation_id=organisation.id,
        status=Status.PENDING.value,
        member_key=secrets.token_hex(16),
        card_version=1,
        session_version=1,
        must_change_password=False,
        created_at=now,
        consent_version=NOTICE_VERSION,
        consent_at=now,
        consent_recorded_by=actor.id if in_person else None,
    )
    _apply_profile(session, person, values, vault)
    return person


def approve(session: Session, person_id: int, *, actor: Actor, now: dt.datetime) -> Person:
    """Approve a pending registration: the volunteer role and ledger accounts follow."""
    person = get_person(session, person_id)
    organisation = get_organisation(session, person.home_organisation_id)
    actor.require(MANAGERS, organisation)
    if person.status == Status.ACTIVE.value:
        return person
    if person.status != Status.PENDING.value:
        raise Conflict("Only pending registrations can be approved.")
    person.status, person.approved_at, person.approved_by = Status.ACTIVE.value, now, actor.id
    session.add(RoleGrant(person_id=person.id, role=Role.VOLUNTEER.value, organisation_id=organisation.id, granted_at=now, granted_by=actor.id))
    # No cap is copied into the account: the policy's cap applies at each credit, as it stands then.
    rules.open_volunteer_accounts(session, person.id, categories=tuple(person.categories), now=now)
    record(session, actor=actor.id, action="approve", target=("person", person.id), changes={"status": [Status.PENDING.value, Status.ACTIVE.value]}, now=now)
    session.flush()
    notify(session, person.id, "registration_approved", {}, key=str(person.id), link="/me", now=now)
    return person


def reject(session: Session, person_id: int, *, actor: Actor, reason: str, now: dt.datetime) -> Person:
    """Turn down a pending registration, with the reason kept."""
    person = get_person(session, person_id)
    actor.require(MANAGERS, get_organisation(session, person.home_organisation_id))
    if person.status != Status.PENDING.value:
        raise Conflict("Only pending registrations can be rejected.")
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput(errors={"reason": ["Say why, so the person knows what to do."]})
    person.status = Status.REJECTED.value
    record(session, actor=actor.id, action="reject", target=("person", person.id), changes={"status": [Status.PENDING.value, Status.REJECTED.value], "reason": [None, reason.strip()[:500]]}, now=now)
    return person


def get_person(session: Session, person_id: int) -> Person:
    """The person, or NotFound."""
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound()
    return person


def visible_person(session: Session, person_id: int, *, actor: Actor) -> Person:
    """The person if the actor may see their record (themself, or a carer of their organisation)."""
    person = get_person(session, person_id)
    if person.id != actor.id and not actor.may(CARERS, get_organisation(session, person.home_organisation_id)):
        raise NotFound()  # not 403: do not confirm who is registered
    return person


def update_profile(
    session: Session, person_id: int, data: Mapping[str, Any], *, actor: Actor, vault: IdVault, now: dt.datetime
) -> Person:
    """Edit a profile: the person themself, or a coordinator of their organisation."""
    person = get_person(session, person_id)
    if person.id != actor.id:
        actor.require(MANAGERS, get_organisation(session, person.home_organisation_id))
    values = load(ProfileSchema(), data, partial=True)
    before = snapshot(person)
    _apply_profile(session, person, values, vault)
    changes = diff(before, snapshot(person))
    if "service_categories" in changes and person.status == Status.ACTIVE.value:
        # Certified hours are kept per category: a new category needs its account.
        rules.open_volunteer_accounts(session, person.id, categories=tuple(person.categories), now=now)
    if changes:
        record(session, actor=actor.id, action="update_profile", target=("person", person.id), changes=changes, now=now)
    session.flush()
    if "service_categories" in changes:
        index_people(session, [person.id])
    return person


def reveal_id_number(session: Session, person_id: int, *, actor: Actor, vault: IdVault, now: dt.datetime) -> str:
    """The whole ID number, for the person or a coordinator of theirs; every view is logged."""
    person = get_person(session, person_id)
    if person.id != actor.id:
        actor.require(MANAGERS, get_organisation(session, person.home_organisation_id))
    if not person.id_number_sealed:
        raise NotFound("No ID number is recorded.")
    record(session, actor=actor.id, action="view_id_number", target=("person", person.id), now=now)
    return vault.open(person.id_number_sealed)


def search(
    session: Session, *, actor: Actor, query: str = "", status: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[Person], int]:
    """People in the actor's subtrees matching a name, phone, volunteer number or masked-ID fragment."""
    paths = actor.paths(CARERS)
    if not paths:
        raise NotAllowed()
    stmt = select(Person).join(Organisation, Organisation.id == Person.home_organisation_id)
    stmt = stmt.where(or_(*[Organisation.path.startswith(path) for path in paths]))
    query = ascii_digits((query or "").strip()[:50])
    if query:
        like = f"%{query}%"
        conditions = [Person.real_name.like(like), Person.phone.like(like), Person.id_number_masked.like(like)]
        if query.upper().startswith("V") and query[1:].isdecimal() and int(query[1:]) <= INT64_MAX:
            conditions.append(Person.id == int(query[1:]))
        stmt = stmt.where(or_(*conditions))
    if status:
        stmt = stmt.where(Person.status == status)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    people = session.scalars(stmt.order_by(Person.id.desc()).limit(max(1, min(limit, 200))).offset(max(0, offset))).all()
    return list(people), total


def grant_role(session: Session, person_id: int, data: Mapping[str, Any], *, actor: Actor, now: dt.datetime) -> RoleGrant:
    """Give a person a role over an organisation subtree the actor manages."""
    person = get_person(session, person_id)
    # Who may touch this person comes first: an outsider learns nothing from validation.
    actor.require(MANAGERS, get_organisation(session, person.home_organisation_id))
    values = load(RoleGrantSchema(), data)
    organisation = get_organisation(session, values["organisation_id"])
    if person.id == actor.id:
        raise NotAllowed("No one grants themself a role; ask a coordinator above you or an admin.")
    if not actor.may_grant(values["role"], organisation):
        raise NotAllowed("Only an admin, or a coordinator of an organisation above this one, may grant this role.")
    if values["role"] == Role.STATION_STAFF:
        station = session.get(Station, values["station_id"])
        if station is None or not organisation.contains(get_organisation(session, station.organisation_id)):
            raise InvalidInput(errors={"station_id": ["Choose a station of this organisation."]})
    grant = RoleGrant(
        person_id=person.id,
        role=values["role"],
        organisation_id=organisation.id,
        station_id=values.get("station_id") if values["role"] == Role.STATION_STAFF else None,
        certificate_level=values.get("certificate_level") if values["role"] == Role.SOCIAL_WORKER else None,
        certificate_number=values.get("certificate_number") if values["role"] == Role.SOCIAL_WORKER else None,
        granted_at=now,
        granted_by=actor.id,
    )
    session.add(grant)
    session.flush()
    changes = {"role": values["role"], "organisation_id": organisation.id, "station_id": grant.station_id,
               "certificate_level": grant.certificate_level, "certificate_number": grant.certificate_number}
    record(session, actor=actor.id, action="grant_role", target=("person", person.id), changes={k: [None, v] for k, v in changes.items() if v is not None}, now=now)
    return grant


def revoke_role(session: Session, grant_id: int, *, actor: Actor, now: dt.datetime) -> RoleGrant:
    """End a role grant (kept, marked revoked)."""
    grant = session.get(RoleGrant, grant_id)
    if grant is None or grant.revoked_at is not None:
        raise NotFound()
    organisation = get_organisation(session, grant.organisation_id)
    actor.require((Role.ADMIN,) if grant.role == Role.ADMIN else MANAGERS, organisation)
    if grant.person_id == actor.id and grant.role in (Role.ADMIN, Role.COORDINATOR):
        raise Conflict("You cannot revoke your own coordinator or admin role; ask another one.")
    grant.revoked_at, grant.revoked_by = now, actor.id
    record(session, actor=actor.id, action="revoke_role", target=("person", grant.person_id), changes={"role": [grant.role, None], "organisation_id": [grant.organisation_id, None]}, now=now)
    return grant


def request_family_link(session: Session, person_id: int, relative_phone: str, relation: str, *, actor: Actor, now: dt.datetime) -> FamilyLink:
    """Ask to link a family member; the relative or a coordinator confirms."""
    if person_id != actor.id:
        actor.require(MANAGERS, get_organisation(session, get_person(session, person_id).home_organisation_id))
    relative = session.scalar(select(Person).where(Person.phone == relative_phone, Person.status == Status.ACTIVE.value))
    if relative is None:
        raise InvalidInput(errors={"relative_phone": ["No active volunteer has this phone number."]})
    if relative.id == person_id:
        raise InvalidInput(errors={"relative_phone": ["This is your own number."]})
    if relation not in RELATIONS:
        raise InvalidInput(errors={"relation": ["Choose spouse, parent or child."]})
    link = session.scalar(
        select(FamilyLink).where(
            or_(
                (FamilyLink.person_id == person_id) & (FamilyLink.relative_id == relative.id),
                (FamilyLink.person_id == relative.id) & (FamilyLink.relative_id == person_id),
            )
        )
    )
    if link is None:
        link = FamilyLink(person_id=person_id, relative_id=relative.id, relation=relation, requested_at=now)
        session.add(link)
        session.flush()
        record(session, actor=actor.id, action="request_family_link", target=("person", person_id), changes={"relative_id": [None, relative.id], "relation": [None, relation]}, now=now)
    return link


def confirm_family_link(session: Session, link_id: int, *, actor: Actor, now: dt.datetime) -> FamilyLink:
    """The relative (or a coordinator of the requester) confirms a family link."""
    link = session.get(FamilyLink, link_id)
    if link is None:
        raise NotFound()
    if actor.id != link.relative_id:
        actor.require(MANAGERS, get_organisation(session, get_person(session, link.person_id).home_organisation_id))
    if link.confirmed_at is None:
        link.confirmed_at, link.confirmed_by = now, actor.id
        record(session, actor=actor.id, action="confirm_family_link", target=("person", link.person_id), changes={"relative_id": [None, link.relative_id]}, now=now)
    return link


def family_links(session: Session, person_id: int) -> list[FamilyLink]:
    """A person's family links, either direction."""
    return list(
        session.scalars(
            select(FamilyLink).where(or_(FamilyLink.person_id == person_id, FamilyLink.relative_id == person_id)).order_by(FamilyLink.id)
        )
    )
