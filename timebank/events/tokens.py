"""Activity codes (DESIGN.md, "QR codes"): what the venue screen and the poster show.

A screen code carries the activity's opaque key, the action (in or out) and
its 30-second window; it is accepted in that window and the one after, so a
code scanned as the screen turns over still works. A poster code carries no
window and works only where the organiser allowed it. One salt serves both
actions, so a check-out code read at check-in is recognised for what it is
rather than taken for a forgery.

A volunteer who scans before signing in would lose the code while typing a
password, so the page they are sent to sign in from carries a "seen" ticket:
proof, signed and bound to that code, that it was fresh when scanned. The
ticket is bound to the browser that scanned (it carries the hash of a random
nonce kept in that browser's cookie), so a forwarded link is worth nothing;
it lasts ten minutes and checks in once; the check-in is still recorded at
the server's time.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer

from timebank.domain import DomainError
from timebank.signing import scanned_token, timed_serializer

SALT = "timebank.activity-code"
SEEN_SALT = "timebank.activity-code.seen"
SEEN_SECONDS = 600
WINDOW_SECONDS = 30
POSTER = "P"
ACTIONS = ("in", "out")


class ActivityCodeError(DomainError):
    """A scanned activity code that cannot be used."""

    template = "This is not a valid check-in code. Scan the code on the venue screen again."


@dataclass(frozen=True)
class ActivityCode:
    """What a valid signature says: which activity, which action, and when it was shown."""

    key: str
    action: str
    window: int | None  # None: the printed poster

    @property
    def is_poster(self) -> bool:
        """True for the static code on a printed poster."""
        return self.window is None


def window_at(now: dt.datetime) -> int:
    """The number of the 30-second window `now` falls in."""
    return int(now.timestamp()) // WINDOW_SECONDS


def seconds_left(now: dt.datetime) -> int:
    """Seconds until the screen should show the next code."""
    return WINDOW_SECONDS - int(now.timestamp()) % WINDOW_SECONDS


@functools.cache
def _serializer(secret_key: str) -> URLSafeSerializer:
    # One per secret key (a serializer holds nothing else): every scan reads a code.
    return URLSafeSerializer(secret_key, salt=SALT)


def screen_code(code_key: str, action: str, secret_key: str, *, now: dt.datetime) -> str:
    """The code the venue screen shows now."""
    assert action in ACTIONS
    return _serializer(secret_key).dumps([code_key, action, window_at(now)])


def poster_code(code_key: str, action: str, secret_key: str) -> str:
    """The static code printed on the poster."""
    assert action in ACTIONS
    return _serializer(secret_key).dumps([code_key, action, POSTER])


def read(token: str, secret_key: str) -> ActivityCode:
    """The code's content if its signature holds (its age and use are the check-in's rules)."""
    try:
        key, action, window = _serializer(secret_key).loads(scanned_token(token))
    except (BadSignature, ValueError, TypeError):
        raise ActivityCodeError() from None
    if not isinstance(key, str) or action not in ACTIONS or not (window == POSTER or isinstance(window, int)):
        raise ActivityCodeError()
    return ActivityCode(key, action, None if window == POSTER else window)


def is_fresh(code: ActivityCode, now: dt.datetime) -> bool:
    """A screen code from this window or the one before (a poster code is always fresh)."""
    return code.window is None or window_at(now) - 1 <= code.window <= window_at(now)


def _fingerprint(token: str) -> str:
    return hashlib.sha256(token.strip().encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Seen:
    """A genuine seen ticket: when the code was scanned, and the ticket's hash (so it is used once)."""

    at: dt.datetime
    ticket_hash: str


def seen_ticket(token: str, secret_key: str, *, browser: str, now: dt.datetime) -> str:
    """A ticket saying this code was scanned at `now` by the browser holding `browser` (issued only while the code is fresh)."""
    return timed_serializer(secret_key, SEEN_SALT, now).dumps([_fingerprint(token), _fingerprint(browser)])


def seen(ticket: str | None, token: str, secret_key: str, *, browser: str | None, now: dt.datetime) -> Seen | None:
    """The scan a ticket vouches for, if genuine, for this code, from this browser, and under ten minutes old."""
    if not ticket or not browser:
        return None
    try:
        (fingerprint, browser_fingerprint), signed_at = timed_serializer(secret_key, SEEN_SALT, now).loads(
            ticket, max_age=SEEN_SECONDS, return_timestamp=True
        )
    except (BadSignature, ValueError, TypeError):
        return None
    if fingerprint != _fingerprint(token) or browser_fingerprint != _fingerprint(browser):
        return None
    return Seen(signed_at, hashlib.sha256(ticket.encode()).hexdigest())
