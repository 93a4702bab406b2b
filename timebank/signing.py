"""Signed, timed tokens that tell time by the `now` the service is given rather than the wall clock."""

from __future__ import annotations

import datetime as dt

from itsdangerous import TimestampSigner, URLSafeTimedSerializer


def timed_serializer(secret_key: str, salt: str, now: dt.datetime) -> URLSafeTimedSerializer:
    """An itsdangerous timed serializer for `salt` whose clock reads `now` (signing and checking age alike)."""

    class SignerAt(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(now.timestamp())

    return URLSafeTimedSerializer(secret_key, salt=salt, signer=SignerAt)
