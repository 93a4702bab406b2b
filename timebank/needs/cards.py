"""How a resident confirms a visit's start and end: a printed resident card, or a short code read out.

The card's QR code is a signed token over the resident's opaque `card_key`
(never a database id), with a salt of its own so no other code passes for it;
reissuing the card (a new key) revokes the old one.

The spoken code is six digits, derived with the service's secret from the
assignment, the step (start or end) and a ten-minute window: it is accepted
in its window and the one before, so it expires within twenty minutes; it is
good for one step only, so once the visit has started the start code means
nothing (single use); and the endpoints that take it are rate-limited, so a
million guesses are out of reach.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from timebank.domain import DomainError
from timebank.needs.models import Resident
from timebank.signing import scanned_token

CARD_SALT = "timebank.resident-card"
CARD_PREFIX = "R."  # resident cards; member cards start with C.
CODE_SALT = b"timebank.visit-code"
CODE_WINDOW_SECONDS = 600
STEPS = ("start", "end")


class CardError(DomainError):
    """A scanned card that is not this resident's current card."""

    template = "This is not the resident's current card. Ask the resident for their card again, or use the spoken code."


class VisitCodeError(DomainError):
    """A spoken code that is wrong or has expired."""

    template = "This code is not right or has expired. Ask the resident (or their family) for the code shown now."


def card_code(resident: Resident, secret_key: str) -> str:
    """The text of the resident's printed card QR code."""
    return CARD_PREFIX + URLSafeSerializer(secret_key, salt=CARD_SALT).dumps(resident.card_key)


def card_resident(session: Session, code: str, secret_key: str) -> Resident:
    """The resident a scanned card names, or CardError."""
    code = scanned_token(code)
    if not code.startswith(CARD_PREFIX):
        raise CardError()
    try:
        key = URLSafeSerializer(secret_key, salt=CARD_SALT).loads(code[len(CARD_PREFIX):])
    except (BadSignature, ValueError, TypeError):
        raise CardError() from None
    resident = session.scalar(select(Resident).where(Resident.card_key == key)) if isinstance(key, str) else None
    if resident is None:
        raise CardError()
    return resident


def new_card_key() -> str:
    """A fresh opaque card key (reissuing a card revokes the old one)."""
    return secrets.token_urlsafe(16)[:22]


def _window(now: dt.datetime) -> int:
    return int(now.timestamp()) // CODE_WINDOW_SECONDS


def _code(secret_key: str, assignment_id: int, step: str, window: int) -> str:
    digest = hmac.new(secret_key.encode() + CODE_SALT, f"{assignment_id}:{step}:{window}".encode(), hashlib.sha256).digest()
    return f"{int.from_bytes(digest[:8], 'big') % 1_000_000:06d}"


def visit_code(assignment_id: int, step: str, secret_key: str, *, now: dt.datetime) -> tuple[str, dt.datetime]:
    """The six digits the resident reads out for the step now, and until when they work."""
    window = _window(now)
    until = dt.datetime.fromtimestamp((window + 2) * CODE_WINDOW_SECONDS, dt.timezone.utc)
    return _code(secret_key, assignment_id, step, window), until


def check_visit_code(assignment_id: int, step: str, code: str, secret_key: str, *, now: dt.datetime) -> None:
    """VisitCodeError unless `code` is the step's code of this window or the one before."""
    typed = "".join(ch for ch in (code or "") if ch.isdigit())
    window = _window(now)
    if len(typed) != 6 or not any(hmac.compare_digest(typed, _code(secret_key, assignment_id, step, w)) for w in (window, window - 1)):
        raise VisitCodeError()
