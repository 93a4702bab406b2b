"""The clerk on duty at a station's tablet: who signs each redemption made on the device.

A device token says which station a tablet serves, not who stands behind it. The
clerk signs in on the tablet once per shift (phone and password) and gets a duty
ticket, signed and bound to the device; every visit, redemption and void made on
the device is recorded under that clerk, and a clerk never serves themself.
"""

from __future__ import annotations

import datetime as dt
import functools

from itsdangerous import BadSignature, SignatureExpired
from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

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
    # Every call of the device asks this: one statement, built once, for the clerk's standing and their roles.
    rows = session.execute(_clerk_query(), {"person_id": person_id}).all()
    if not rows or rows[0].session_version != version or rows[0].status != Status.ACTIVE.value:
        raise NoClerkOnDuty()
    return Actor(person_id, tuple(Grant(row.role, row.organisation_id, row.path, row.station_id) for row in rows if row.path is not None))


@functools.cache
def _clerk_query() -> Select:
    # The person's row with each of their live grants (and the grant's subtree), or alone if they hold none.
    return (
        select(Person.session_version, Person.status, RoleGrant.role, RoleGrant.organisation_id, Organisation.path, RoleGrant.station_id)
        .outerjoin_from(Person, RoleGrant, (RoleGrant.person_id == Person.id) & RoleGrant.revoked_at.is_(None))
        .outerjoin(Organisation, Organisation.id == RoleGrant.organisation_id)
        .where(Person.id == bindparam("person_id"))
    )
