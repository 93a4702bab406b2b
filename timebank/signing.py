"""Signed, timed tokens that tell time by the `now` the service is given rather than the wall clock."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import unquote, urlsplit

from itsdangerous import TimestampSigner, URLSafeTimedSerializer


class _SignerAt(TimestampSigner):
    """A timestamp signer whose clock reads the moment it is given."""

    def __init__(self, *args: Any, now: dt.datetime, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.now = now

    def get_timestamp(self) -> int:
        return int(self.now.timestamp())


def timed_serializer(secret_key: str, salt: str, now: dt.datetime) -> URLSafeTimedSerializer:
    """An itsdangerous timed serializer for `salt` whose clock reads `now` (signing and checking age alike)."""
    return URLSafeTimedSerializer(secret_key, salt=salt, signer=_SignerAt, signer_kwargs={"now": now})


def scanned_token(text: str | None) -> str:
    """The token in what a scanner or camera read: the last path segment of a URL, or the bare text, trimmed.

    A venue's QR code is a URL (`https://…/checkin/<token>`); a phone's camera app
    or a scanner in the wrong mode hands over the whole of it.
    """
    text = (text or "").strip()
    if "/" not in text:
        return text
    path = urlsplit(text).path if "://" in text else text.split("?", 1)[0].split("#", 1)[0]
    return unquote(path.rstrip("/").rsplit("/", 1)[-1]).strip()
