"""Signed, timed tokens that tell time by the `now` the service is given rather than the wall clock."""

from __future__ import annotations

import datetime as dt
from urllib.parse import unquote, urlsplit

from itsdangerous import TimestampSigner, URLSafeTimedSerializer


def timed_serializer(secret_key: str, salt: str, now: dt.datetime) -> URLSafeTimedSerializer:
    """An itsdangerous timed serializer for `salt` whose clock reads `now` (signing and checking age alike)."""

    class SignerAt(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(now.timestamp())

    return URLSafeTimedSerializer(secret_key, salt=salt, signer=SignerAt)


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
