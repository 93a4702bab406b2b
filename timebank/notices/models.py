"""Notices (站内信): the inbox, each person's choice of channels, and the outbox of what went out by SMS or email."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from timebank.db import Base, BigId, UTCDateTime


class Notice(Base):
    """One thing the service tells one person; `key` makes telling it twice impossible (a retried job adds nothing)."""

    __tablename__ = "notices"
    __table_args__ = (Index("ix_notices_person_unread", "person_id", "read_at"), Index("ix_notices_undelivered", "delivered_at", "person_id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(BigId, ForeignKey("people.id"))
    kind: Mapped[str] = mapped_column(String(40))
    params_json: Mapped[str] = mapped_column(Text, default="{}")
    link: Mapped[str | None] = mapped_column(String(300))
    key: Mapped[str] = mapped_column(String(160), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Set once the notice was handed to the person's outbound channels (or none were chosen).
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class NoticePreference(Base):
    """The channels a person wants for one kind of notice, beyond the inbox (comma-separated; empty: the inbox only)."""

    __tablename__ = "notice_preferences"

    person_id: Mapped[int] = mapped_column(BigId, ForeignKey("people.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    channels: Mapped[str] = mapped_column(String(40), default="")


class NoticeSettings(Base):
    """A person's email address for notices and their quiet hours (local time; no SMS from `quiet_from` to `quiet_until`)."""

    __tablename__ = "notice_settings"

    person_id: Mapped[int] = mapped_column(BigId, ForeignKey("people.id"), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(200))
    quiet_from: Mapped[int] = mapped_column(Integer, default=21)
    quiet_until: Mapped[int] = mapped_column(Integer, default=8)


class OutboxStatus(enum.StrEnum):
    """An outbound message: pending until due and sent; sending while a channel has it; held when no gateway is set up."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    HELD = "held"


class OutboxMessage(Base):
    """A message for one person on one channel: a single notice or a digest of several."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_due", "status", "not_before"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(BigId, ForeignKey("people.id"), index=True)
    channel: Mapped[str] = mapped_column(String(10))
    address: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))  # the notice's kind, or "digest"
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    params_json: Mapped[str] = mapped_column(Text, default="{}")  # what a gateway's template is filled with
    notices: Mapped[int] = mapped_column(Integer, default=1)
    key: Mapped[str] = mapped_column(String(160), unique=True)
    status: Mapped[str] = mapped_column(String(10), default=OutboxStatus.PENDING.value)
    not_before: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(String(500))
