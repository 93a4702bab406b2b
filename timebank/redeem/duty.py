"""The clerk on duty at a station's tablet: who signs each redemption made on the device.

A device token says which station a tablet serves, not who stands behind it. The
clerk signs in on the tablet once per shift (phone and password) and gets a duty
ticket, signed and bound to the device; every visit, redemption and void made on
the device is recorded under that clerk, and a clerk never serves themself.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from typing import Any

from itsdangerous import BadSignature, SignatureExpired
from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session, aliased

from timebank.audit.services import record
from timebank.auth.models import DeviceToken
from timebank.auth.services import authenticate
from timebank.domain import NotAllowed
from timebank.orgs.models import Organisation
from timebank.people.access import Actor, Grant, actor_for
from timebank.people.models import Person, RoleGrant, Status
from timebank.signing import timed_serializer

DUTY_SALT = "timebank.counter-duty"
#: A shift; after it the next clerk (or the same one) signs in again.
DUTY_SECONDS = 12 * 60 * 60


class NoClerkOnDuty(NotAllowed):
    template = "No clerk is signed in on this device. The clerk at the counter signs in first."


def start_duty(session: Session, device: DeviceToken, phone: str, password: str, secret_key: str, *, now: dt.datetime) -> tuple[Actor, str]:
    """The clerk who signs in on a station's tablet, and the duty ticket the tablet sends from now on."""
    from timebank.redeem.counter import open_counter

    person = authenticate(session, phone, password, now=now)
    clerk = actor_for(session, person)
    open_counter(session, device.scope_id, device=device, clerk=clerk)  # works at this station, or refused
    ticket = timed_serializer(secret_key, DUTY_SALT, now).dumps([device.id, person.id, person.session_version])
    record(session, actor=person.id, action="start_duty", target=("device_token", device.id), now=now)
    return clerk, ticket


def clerk_on_duty(session: Session, device: DeviceToken, ticket: str | None, secret_key: str, *, now: dt.datetime) -> Actor:
    """The clerk a duty ticket names on this device, while the shift lasts and their account stands."""
    person_id, version = duty_holder(device, ticket, secret_key, now=now)
    # Every call of the device asks this: one statement, built once, for the clerk's standing and their roles.
    return clerk_from_rows(session.execute(_clerk_query(), {"person_id": person_id}).all(), person_id, version)


def duty_holder(device: DeviceToken, ticket: str | None, secret_key: str, *, now: dt.datetime) -> tuple[int, int]:
    """The clerk's id and session version a duty ticket of this device names, while the shift lasts; read from
    the signed ticket alone."""
    if not ticket:
        raise NoClerkOnDuty()
    try:
        device_id, person_id, version = timed_serializer(secret_key, DUTY_SALT, now).loads(ticket, max_age=DUTY_SECONDS)
    except SignatureExpired:
        raise NoClerkOnDuty("The clerk's shift on this device has ended. The clerk at the counter signs in again.") from None
    except (BadSignature, ValueError, TypeError):
        raise NoClerkOnDuty() from None
    if device_id != device.id:
        raise NoClerkOnDuty()
    return person_id, version


def clerk_from_rows(rows: Sequence[Any], person_id: int, version: int) -> Actor:
    """The clerk on duty from the rows of `CLERK_COLUMNS` read for them (none if no such person), while their
    account stands."""
    if not rows or rows[0].session_version != version or rows[0].status != Status.ACTIVE.value:
        raise NoClerkOnDuty()
    return Actor(person_id, tuple(Grant(row.role, row.grant_organisation_id, row.grant_path, row.grant_station_id) for row in rows if row.grant_path is not None))


GRANT_ORGANISATION = aliased(Organisation)
#: The clerk's standing and each of their live grants (with the grant's subtree): the clerk's part of a read.
CLERK_COLUMNS = (Person.session_version, Person.status, RoleGrant.role, RoleGrant.organisation_id.label("grant_organisation_id"),
                 GRANT_ORGANISATION.path.label("grant_path"), RoleGrant.station_id.label("grant_station_id"))


def with_clerk(query: Select, person_id: Any) -> Select:
    """`query` with the clerk's rows beside it: the person `person_id` with each of their live grants, or alone if they
    hold none (nulls if there is no such person)."""
    return _grants(query.add_columns(*CLERK_COLUMNS).outerjoin(Person, Person.id == person_id))


def _grants(query: Select) -> Select:
    return (
        query.outerjoin(RoleGrant, (RoleGrant.person_id == Person.id) & RoleGrant.revoked_at.is_(None))
        .outerjoin(GRANT_ORGANISATION, GRANT_ORGANISATION.id == RoleGrant.organisation_id)
    )


@functools.cache
def _clerk_query() -> Select:
    return _grants(select(*CLERK_COLUMNS).select_from(Person)).where(Person.id == bindparam("person_id"))
