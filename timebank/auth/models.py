"""Device tokens: how a station tablet or check-in kiosk signs its API calls."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from timebank.db import Base, BigId, UTCDateTime


class DeviceToken(Base):
    """A bearer token bound to one station or activity; only its hash is kept."""

    __tablename__ = "device_tokens"
    __table_args__ = (CheckConstraint("scope_type IN ('station', 'activity')", name="scope_type"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))  # shown in lists to tell tokens apart
    scope_type: Mapped[str] = mapped_column(String(10))
    scope_id: Mapped[int] = mapped_column(BigId)
    organisation_id: Mapped[int] = mapped_column(BigId, ForeignKey("organisations.id"), index=True)
    created_by: Mapped[int] = mapped_column(BigId)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[int | None] = mapped_column(BigId)


class SignIn(Base):
    """One signed-in browser or app: its cookie carries the key, only the key's hash is kept.

    Signing out ends the row, so a copied session or remember-me cookie stops
    working at once; a password change signs out every sign-in through the
    person's session version.
    """

    __tablename__ = "sign_ins"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(BigId, ForeignKey("people.id"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
