"""Member codes (我的码): a rotating phone code and a printed card code, both signed.

The phone code carries the person's opaque member key and expires after two
minutes (the page fetches a fresh one); the card code carries the key and the
card version, never expires, and is revoked by issuing a new card. Neither
carries a database id. Each kind has its own salt, so one cannot pass for the other.
"""

from __future__ import annotations

import datetime as dt

from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from timebank.audit.services import record
from timebank.domain import DomainError
from timebank.signing import scanned_token, timed_serializer
from timebank.people.models import Person, Status

PHONE_CODE_SECONDS = 120
PHONE_SALT = "timebank.member-code.phone"
CARD_SALT = "timebank.member-code.card"
CARD_PREFIX = "C."  # printed cards; phone codes have no prefix


class MemberCodeError(DomainError):
    """A code that does not name a volunteer who may use it now."""

    template = "This code is not a valid member code."


class MemberCodeExpired(MemberCodeError):
    """A phone code older than two minutes."""

    template = "This code has expired. Ask the volunteer to refresh 我的码 and scan again."


class MemberCodeRevoked(MemberCodeError):
    """A printed card replaced by a newer one."""

    template = "This card has been replaced by a newer one and no longer works."


def _phone_serializer(secret_key: str, now: dt.datetime) -> URLSafeTimedSerializer:
    """The phone-code serializer, telling time by `now` rather than the clock."""
    return timed_serializer(secret_key, PHONE_SALT, now)


def phone_code(person: Person, secret_key: str, *, now: dt.datetime) -> str:
    """A code for the phone screen, valid for two minutes from `now`."""
    return _phone_serializer(secret_key, now).dumps(person.member_key)


def card_code(person: Person, secret_key: str) -> str:
    """The code printed on the person's current card."""
    return CARD_PREFIX + URLSafeSerializer(secret_key, salt=CARD_SALT).dumps([person.member_key, person.card_version])


def resolve(session: Session, code: str, secret_key: str, *, now: dt.datetime) -> Person:
    """The active volunteer a scanned code names, or a MemberCodeError saying why not."""
    code = scanned_token(code)
    try:
        if code.startswith(CARD_PREFIX):
            key, version = URLSafeSerializer(secret_key, salt=CARD_SALT).loads(code[len(CARD_PREFIX):])
        else:
            serializer = _phone_serializer(secret_key, now)
            key, version = serializer.loads(code, max_age=PHONE_CODE_SECONDS), None
    except SignatureExpired:
        raise MemberCodeExpired() from None
    except (BadSignature, ValueError, TypeError):
        raise MemberCodeError() from None
    person = session.scalar(select(Person).where(Person.member_key == key))
    if person is None:
        raise MemberCodeError()
    if version is not None and version != person.card_version:
        raise MemberCodeRevoked()
    if person.status != Status.ACTIVE.value:
        raise MemberCodeError("This volunteer's account is not active.")
    return person


def issue_new_card(session: Session, person: Person, *, actor: object, now: dt.datetime) -> Person:
    """Revoke every printed card of the person by moving to a new card version."""
    person.card_version += 1
    record(session, actor=getattr(actor, "id", None), action="issue_card", target=("person", person.id), changes={"card_version": [person.card_version - 1, person.card_version]}, now=now)
    return person
