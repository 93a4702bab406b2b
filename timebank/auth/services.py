"""Passwords, signing in, and device tokens."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import secrets
from typing import Any

from sqlalchemy import bindparam, delete, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from timebank.audit.services import record
from timebank.db import instance_of
from timebank.auth.passwords import hash_password, password_matches
from timebank.auth.models import DeviceToken, SignIn
from timebank.domain import DomainError, InvalidInput, NotAllowed, NotFound
from timebank.inputs import INT64_MAX
from timebank.orgs.models import Organisation
from timebank.orgs.services import get_organisation
from timebank.people.access import MANAGERS, Actor
from timebank.people.category_index import mark_active
from timebank.people.models import Person, Status
from timebank.redeem.models import Station

DEVICE_TOKEN_PREFIX = "tbd_"


@functools.cache
def _dummy_hash() -> str:
    """Checked against when the phone is unknown, so a miss costs as long as a hit.

    Made on first use, not at import, so no command pays scrypt's cost at start-up.
    """
    return hash_password("timebank-no-such-person")


class SignInRefused(DomainError):
    """Wrong phone or password, or an account that may not sign in yet; deliberately vague."""

    template = "The phone number or password is not right."


class PasswordChangeRequired(NotAllowed):
    """An imported or reset person must choose their own password before anything else."""

    template = "Please choose your own password before you go on."


def authenticate(session: Session, phone: str, password: str, *, now: dt.datetime) -> Person:
    """The person with this phone and password, if they may sign in."""
    phone = "".join((phone or "").split())
    person = session.scalar(select(Person).where(Person.phone == phone))
    if person is None or not person.password_hash:
        password_matches(_dummy_hash(), password or "")
        raise SignInRefused()
    if not password_matches(person.password_hash, password or ""):
        raise SignInRefused()
    if person.status == Status.PENDING.value:
        raise SignInRefused("Your registration is waiting for a coordinator's approval.")
    if person.status != Status.ACTIVE.value:
        raise SignInRefused("This account cannot sign in. Please contact your community's coordinator.")
    person.last_sign_in_at = now
    mark_active(session, person.id, at=now)
    return person


def start_sign_in(session: Session, person: Person, *, lasting: dt.timedelta, now: dt.datetime) -> str:
    """Record a new sign-in of the person, ending after `lasting`; its key goes into their cookie, only the hash is kept."""
    session.execute(delete(SignIn).where(SignIn.person_id == person.id, or_(SignIn.expires_at < now, SignIn.ended_at.is_not(None))))
    key = secrets.token_urlsafe(24)
    session.add(SignIn(person_id=person.id, key_hash=_digest(key), created_at=now, expires_at=now + lasting))
    return key


def prune_sign_ins(session: Session, *, now: dt.datetime) -> int:
    """Forget everyone's sign-ins that expired or were signed out (they let no one in any more); how many."""
    result = session.execute(delete(SignIn).where(or_(SignIn.expires_at < now, SignIn.ended_at.is_not(None))))
    return result.rowcount or 0


def end_sign_in(session: Session, key: str, *, now: dt.datetime) -> None:
    """Sign-out: the sign-in's cookies, and every copy of them, stop working."""
    session.execute(update(SignIn).where(SignIn.key_hash == _digest(key), SignIn.ended_at.is_(None)).values(ended_at=now))


def signed_in_person(session: Session, person_id: int, session_version: int, key: str, *, now: dt.datetime) -> Person | None:
    """The active person of a live sign-in with this key, if their password has not changed since.

    Every signed-in request asks this: the statement is built once, its row made into the session's object
    without the ORM's loading, and the person's roles are read only where a page needs them.
    """
    values = {"person_id": person_id, "session_version": session_version, "key_hash": _digest(key), "now": now}
    row = session.connection().execute(SIGNED_IN_READ, values).first()
    return instance_of(session, Person, row._asdict()) if row is not None else None


_people, _sign_ins = Person.__table__, SignIn.__table__
SIGNED_IN_READ = (
    select(*_people.c)
    .join_from(_people, _sign_ins, _sign_ins.c.person_id == _people.c.id)
    .where(
        _people.c.id == bindparam("person_id"),
        _people.c.session_version == bindparam("session_version"),
        _people.c.status == Status.ACTIVE.value,
        _sign_ins.c.key_hash == bindparam("key_hash"),
        _sign_ins.c.ended_at.is_(None),
        _sign_ins.c.expires_at > bindparam("now", type_=_sign_ins.c.expires_at.type),
    )
)


def change_password(session: Session, person: Person, current: str, new: str, *, now: dt.datetime) -> Person:
    """Change one's own password; every other session is signed out."""
    if not person.password_hash or not password_matches(person.password_hash, current or ""):
        raise InvalidInput(errors={"current_password": ["The current password is not right."]})
    person.password_hash = hash_password(new)
    person.must_change_password = False
    person.session_version += 1
    record(session, actor=person.id, action="change_password", target=("person", person.id), changes={"password_hash": [None, None]}, now=now)
    return person


def reset_password(session: Session, person_id: int, *, actor: Actor, now: dt.datetime) -> str:
    """A coordinator sets a temporary password (shown once) that must be changed at next sign-in.

    Whoever resets it could sign in as the person, so it takes someone who may
    grant every role the person holds: a staff member's password is reset from
    above, never by a peer, and no one resets their own (they change it).
    """
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound()
    actor.require(MANAGERS, get_organisation(session, person.home_organisation_id))
    if person.id == actor.id:
        raise NotAllowed("Change your own password instead; a reset is for someone else.")
    if not all(actor.may_grant(grant.role, grant.organisation) for grant in person.roles):
        raise NotAllowed("Only an admin, or a coordinator of an organisation above, may reset a staff member's password.")
    temporary = "".join(secrets.choice("abcdefghjkmnpqrstuvwxyz23456789") for _ in range(10))
    person.password_hash = hash_password(temporary)
    person.must_change_password = True
    person.session_version += 1
    record(session, actor=actor.id, action="reset_password", target=("person", person.id), changes={"password_hash": [None, None]}, now=now)
    return temporary


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_device_token(
    session: Session, data: dict[str, Any], *, actor: Actor, now: dt.datetime
) -> tuple[DeviceToken, str]:
    """A new token for a station tablet or kiosk; the plain token is returned once, only its hash kept."""
    name = (data.get("name") or "").strip()
    scope_type = data.get("scope_type")
    problems: dict[str, list[str]] = {}
    if not name or len(name) > 100:
        problems["name"] = ["Enter a name of at most 100 characters."]
    if scope_type not in ("station", "activity"):
        problems["scope_type"] = ["Choose a station or an activity."]
    scope_id = data.get("scope_id")
    if isinstance(scope_id, str) and scope_id.strip().isascii() and scope_id.strip().isdigit():
        scope_id = int(scope_id)
    # Not int(): that reads true as 1 and 1.5 as 1; and an id past 64 bits names nothing.
    if isinstance(scope_id, bool) or not isinstance(scope_id, int) or not 0 < scope_id <= INT64_MAX:
        problems["scope_id"] = ["Choose what the device is for."]
    if problems:
        raise InvalidInput(errors=problems)
    organisation_id = _scope_organisation(session, scope_type, scope_id)
    actor.require(MANAGERS, get_organisation(session, organisation_id))
    plain = DEVICE_TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = DeviceToken(
        name=name,
        token_hash=_digest(plain),
        prefix=plain[:10],
        scope_type=scope_type,
        scope_id=scope_id,
        organisation_id=organisation_id,
        created_by=actor.id,
        created_at=now,
    )
    session.add(token)
    session.flush()
    record(session, actor=actor.id, action="create_device_token", target=("device_token", token.id), changes={"name": [None, name], "scope": [None, f"{scope_type}:{scope_id}"]}, now=now)
    return token, plain


def _scope_organisation(session: Session, scope_type: str, scope_id: int) -> int:
    """The organisation a device's station or activity belongs to."""
    if scope_type == "station":
        station = session.get(Station, scope_id)
        if station is None:
            raise InvalidInput(errors={"scope_id": ["Unknown station."]})
        return station.organisation_id
    from timebank.events.models import Activity

    activity = session.get(Activity, scope_id)
    if activity is None:
        raise InvalidInput(errors={"scope_id": ["Unknown activity."]})
    return activity.organisation_id


def revoke_device_token(session: Session, token_id: int, *, actor: Actor, now: dt.datetime) -> DeviceToken:
    """Stop a device token from working; revoking twice is harmless."""
    token = session.get(DeviceToken, token_id)
    if token is None:
        raise NotFound()
    actor.require(MANAGERS, get_organisation(session, token.organisation_id))
    if token.revoked_at is None:
        token.revoked_at, token.revoked_by = now, actor.id
        record(session, actor=actor.id, action="revoke_device_token", target=("device_token", token.id), now=now)
    return token


def authenticate_device(session: Session, plain: str, *, now: dt.datetime, record_use: bool = True) -> DeviceToken | None:
    """The live token this bearer string is, recording its use where asked; None if unknown or revoked.

    A read (a screen polling by GET) records nothing: its session never commits, and on SQLite the write would
    have to wait for the lock the venue's check-ins hold."""
    if not plain or not plain.startswith(DEVICE_TOKEN_PREFIX):
        return None
    row = session.connection().execute(DEVICE_READ, {"token_hash": _digest(plain)}).first()
    if row is None or row.revoked_at is not None:
        return None
    token = instance_of(session, DeviceToken, row._asdict())
    if record_use:
        _record_use(session, token, now)
    return token


def _record_use(session: Session, token: DeviceToken, now: dt.datetime) -> None:
    """Write when the device was last used (at most every five minutes) at once, before anything else the request
    locks: two calls of one device then always take its row first, and never deadlock on it and another row."""
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(minutes=5):
        session.connection().execute(RECORD_USE, {"token_id": token.id, "used_at": now})
        set_committed_value(token, "last_used_at", now)


# Every call of a station tablet or kiosk asks this: built once, its row made into the session's object.
DEVICE_READ = select(*DeviceToken.__table__.c).where(DeviceToken.__table__.c.token_hash == bindparam("token_hash"))
RECORD_USE = update(DeviceToken.__table__).where(DeviceToken.__table__.c.id == bindparam("token_id")).values(last_used_at=bindparam("used_at", type_=DeviceToken.__table__.c.last_used_at.type))


def resume_device(session: Session, token_id: int, fingerprint: str, *, now: dt.datetime, record_use: bool) -> DeviceToken | None:
    """The live token a device's browser was set up with (by id and the start of its hash); None if revoked or replaced.

    Its use is recorded only where asked (a change, which commits), so a screen polling by GET writes nothing.
    """
    token = session.get(DeviceToken, token_id)
    if token is None or token.revoked_at is not None or not token.token_hash.startswith(fingerprint):
        return None
    if record_use:
        _record_use(session, token, now)
    return token


def device_tokens(session: Session, *, actor: Actor) -> list[DeviceToken]:
    """The tokens of the organisations the actor manages, newest first."""
    paths = actor.paths(MANAGERS)
    if not paths:
        return []
    stmt = (
        select(DeviceToken)
        .join(Organisation, Organisation.id == DeviceToken.organisation_id)
        .where(or_(*[Organisation.path.startswith(path) for path in paths]))
        .order_by(DeviceToken.id.desc())
    )
    return list(session.scalars(stmt))
