"""Member codes (我的码): a rotating phone code and a printed card code, both signed.

The phone code carries the person's opaque member key and expires after two
minutes (the page fetches a fresh one); the card code carries the key and the
card version, never expires, and is revoked by issuing a new card. Neither
carries a database id. Each kind has its own salt, so one cannot pass for the other.

For a counter whose camera or scanner fails, the phone also shows a typed
code: twelve digits in three groups (`4823 0917 5536`). It is the person's
number and a six-digit tag of the current two-minute window, keyed with the
service's secret, put through a keyed permutation of the twelve-digit space,
so the digits reveal neither and follow no order; it is accepted in its
window and the next, like the QR code beside it. Forging one means hitting a
live (person, window) pair by chance: about two in 10^8 per try with ten
thousand active volunteers, and every try needs a clerk's or a device's
credentials. People numbered beyond 999,999 get no typed code.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re

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
TYPED_SALT = "timebank.member-code.typed"
TYPED_WINDOW_SECONDS = 120
TYPED_HALF = 10**6  # each half of the twelve digits
TYPED_ROUNDS = 4
TYPED = re.compile(r"[\s\-]")  # what a clerk may type between the groups


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


def _typed_key(secret_key: str) -> bytes:
    return hmac.new(secret_key.encode(), TYPED_SALT.encode(), hashlib.sha256).digest()


def _round(key: bytes, number: int, half: int) -> int:
    digest = hmac.new(key, b"%d:%d" % (number, half), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") % TYPED_HALF


def _permute(key: bytes, value: int, *, inverse: bool = False) -> int:
    """A keyed permutation of 0 … 10^12 − 1: four rounds of a Feistel network on its two six-digit halves."""
    left, right = divmod(value, TYPED_HALF)
    if not inverse:
        for number in range(TYPED_ROUNDS):
            left, right = right, (left + _round(key, number, right)) % TYPED_HALF
    else:
        for number in reversed(range(TYPED_ROUNDS)):
            left, right = (right - _round(key, number, left)) % TYPED_HALF, left
    return left * TYPED_HALF + right


def _tag(key: bytes, person_id: int, member_key: str, window: int) -> int:
    digest = hmac.new(key, f"{person_id}:{member_key}:{window}".encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") % TYPED_HALF


def _window(now: dt.datetime) -> int:
    return int(now.timestamp()) // TYPED_WINDOW_SECONDS


def typed_code(person: Person, secret_key: str, *, now: dt.datetime) -> str | None:
    """The twelve digits, grouped by four, a clerk can type in the current window; None for people numbered too high."""
    if person.id >= TYPED_HALF:
        return None
    key = _typed_key(secret_key)
    digits = f"{_permute(key, person.id * TYPED_HALF + _tag(key, person.id, person.member_key, _window(now))):012d}"
    return " ".join(digits[i:i + 4] for i in range(0, 12, 4))


def _resolve_typed(session: Session, digits: str, secret_key: str, now: dt.datetime) -> Person:
    key = _typed_key(secret_key)
    person_id, tag = divmod(_permute(key, int(digits), inverse=True), TYPED_HALF)
    person = session.get(Person, person_id) if person_id else None
    if person is None:
        raise MemberCodeError()
    window = _window(now)
    if any(hmac.compare_digest(b"%06d" % tag, b"%06d" % _tag(key, person.id, person.member_key, w)) for w in (window, window - 1)):
        return person
    if any(tag == _tag(key, person.id, person.member_key, w) for w in range(window - 30, window - 1)):
        raise MemberCodeExpired()  # the last hour's code: say so rather than "not valid"
    raise MemberCodeError()


def resolve(session: Session, code: str, secret_key: str, *, now: dt.datetime) -> Person:
    """The active volunteer a scanned or typed code names, or a MemberCodeError saying why not."""
    code = scanned_token(code)
    typed = TYPED.sub("", code)
    if typed.isdigit() and len(typed) == 12:
        person = _resolve_typed(session, typed, secret_key, now)
        if person.status != Status.ACTIVE.value:
            raise MemberCodeError("This volunteer's account is not active.")
        return person
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
