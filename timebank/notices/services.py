"""Notices: telling a person something (once), their inbox, their channels, and the delivery into the outbox.

A notice is written in the same transaction as the event it tells of. The
queue's periodic delivery then gathers each person's undelivered notices once
they have been quiet for DEBOUNCE (so two hundred approvals in one burst make
one digest), writes one outbox message per chosen channel in the same
transaction that marks them delivered (so a retried job writes nothing twice),
and sends what is due, claiming each message before sending it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from timebank.domain import InvalidInput, NotFound
from timebank.localtime import LOCAL_TZ as SHANGHAI
from timebank.notices.kinds import CHANNELS, KINDS
from timebank.notices.models import Notice, NoticePreference, NoticeSettings, OutboxMessage, OutboxStatus
from timebank.people.models import Person

#: A burst of notices is gathered until the person has had none for this long...
DEBOUNCE = dt.timedelta(seconds=60)
#: ...but never held longer than this.
MAX_HOLD = dt.timedelta(minutes=10)
#: Renders (kind, params) into (subject, text) in the language of the message.
Renderer = Callable[[str, Mapping[str, Any]], tuple[str, str]]


def notify(session: Session, person_id: int, kind: str, params: Mapping[str, Any], *, key: str, link: str | None = None, now: dt.datetime) -> Notice | None:
    """Tell a person something, once per `key` (the event's identity); None when it was told already."""
    told = notify_all(session, [Notification(person_id, kind, params, key, link)], now=now)
    return told[0] if told else None


@dataclass(frozen=True)
class Notification:
    """One notice to send with `notify_all`: to whom, what, and the event's identity."""

    person_id: int
    kind: str
    params: Mapping[str, Any]
    key: str
    link: str | None = None


def notify_all(session: Session, notifications: Sequence[Notification], *, now: dt.datetime) -> list[Notice]:
    """Several notices at once, each once per its key (as `notify`), with one look-up of the keys already told."""
    for notification in notifications:
        if notification.kind not in KINDS:
            raise ValueError(f"unknown notice kind {notification.kind!r}")
    keys = {f"{n.kind}:{n.key}": n for n in notifications}
    told = set(session.scalars(select(Notice.key).where(Notice.key.in_(list(keys))))) if keys else set()
    notices = [
        Notice(person_id=n.person_id, kind=n.kind, params_json=json.dumps(dict(n.params), ensure_ascii=False, default=str), link=n.link, key=key, created_at=now)
        for key, n in keys.items() if key not in told
    ]
    session.add_all(notices)
    return notices


def notify_many(session: Session, person_ids: Iterable[int], kind: str, params: Mapping[str, Any], *, key: str, link: str | None = None, now: dt.datetime) -> int:
    """The same notice to several people (each once); how many were told."""
    return sum(1 for person_id in set(person_ids) if notify(session, person_id, kind, params, key=f"{key}:{person_id}", link=link, now=now))


def inbox(session: Session, person_id: int, *, limit: int = 100) -> list[Notice]:
    """A person's notices, newest first."""
    return list(session.scalars(select(Notice).where(Notice.person_id == person_id).order_by(Notice.id.desc()).limit(limit)))


def unread_count(session: Session, person_id: int) -> int:
    """How many of a person's notices are unread (the bell's figure)."""
    return int(session.scalar(select(func.count()).where(Notice.person_id == person_id, Notice.read_at.is_(None))) or 0)


def mark_read(session: Session, person_id: int, notice_id: int | None, *, now: dt.datetime) -> Notice | None:
    """Mark one of a person's notices read (or all of them, with no id); the notice, to follow its link."""
    if notice_id is None:
        session.execute(update(Notice).where(Notice.person_id == person_id, Notice.read_at.is_(None)).values(read_at=now))
        return None
    notice = session.get(Notice, notice_id)
    if notice is None or notice.person_id != person_id:
        raise NotFound("Unknown notice.")
    if notice.read_at is None:
        notice.read_at = now
    return notice


# -- preferences ------------------------------------------------------------------


def settings_of(session: Session, person_id: int) -> NoticeSettings:
    """A person's notice settings, the defaults until they save their own."""
    return session.get(NoticeSettings, person_id) or NoticeSettings(person_id=person_id, email=None, quiet_from=21, quiet_until=8)


def preferences_of(session: Session, person_id: int) -> dict[str, set[str]]:
    """The channels a person gets each kind of notice on, beyond the inbox."""
    chosen = {row.kind: set(filter(None, row.channels.split(","))) for row in session.scalars(select(NoticePreference).where(NoticePreference.person_id == person_id))}
    return {kind: chosen.get(kind, set(spec.channels)) for kind, spec in KINDS.items()}


def set_preferences(session: Session, person_id: int, data: Mapping[str, Any]) -> NoticeSettings:
    """Save a person's channels per kind (`<kind>` → list of channels), email address and quiet hours."""
    errors: dict[str, list[str]] = {}
    email = (data.get("email") or "").strip() or None
    if email is not None and ("@" not in email or len(email) > 200 or " " in email):
        errors["email"] = ["Enter an email address such as name@example.com."]
    hours = {}
    for field in ("quiet_from", "quiet_until"):
        raw = data.get(field)
        if raw in (None, ""):
            hours[field] = 21 if field == "quiet_from" else 8
        elif str(raw).isdigit() and 0 <= int(raw) <= 23:
            hours[field] = int(raw)
        else:
            errors[field] = ["Choose an hour from 0 to 23."]
    for kind in KINDS:
        if any(channel not in CHANNELS for channel in data.get(kind) or ()):
            errors[kind] = ["Choose from the channels offered."]
    if errors:
        raise InvalidInput(errors=errors)
    settings = session.get(NoticeSettings, person_id)
    if settings is None:
        settings = NoticeSettings(person_id=person_id)
        session.add(settings)
    settings.email, settings.quiet_from, settings.quiet_until = email, hours["quiet_from"], hours["quiet_until"]
    for kind in KINDS:
        row = session.get(NoticePreference, (person_id, kind)) or NoticePreference(person_id=person_id, kind=kind)
        row.channels = ",".join(sorted(set(data.get(kind) or ())))
        session.add(row)
    return settings


# -- delivery ---------------------------------------------------------------------


def in_quiet_hours(settings: NoticeSettings, at: dt.datetime) -> bool:
    """True when `at` falls in the person's quiet hours (local time; the span may cross midnight)."""
    hour = at.astimezone(SHANGHAI).hour
    start, end = settings.quiet_from, settings.quiet_until
    if start == end:
        return False
    return start <= hour < end if start < end else hour >= start or hour < end


def quiet_until(settings: NoticeSettings, at: dt.datetime) -> dt.datetime:
    """When an SMS written at `at` may go: at once, or when the person's quiet hours end."""
    if not in_quiet_hours(settings, at):
        return at
    local = at.astimezone(SHANGHAI)
    end = local.replace(hour=settings.quiet_until, minute=0, second=0, microsecond=0)
    if end <= local:
        end += dt.timedelta(days=1)
    return end.astimezone(dt.timezone.utc)


def due_people(session: Session, *, now: dt.datetime) -> list[int]:
    """People whose undelivered notices have been quiet for DEBOUNCE, or waited MAX_HOLD."""
    stmt = (
        select(Notice.person_id)
        .where(Notice.delivered_at.is_(None))
        .group_by(Notice.person_id)
        .having((func.max(Notice.created_at) <= now - DEBOUNCE) | (func.min(Notice.created_at) <= now - MAX_HOLD))
    )
    return list(session.scalars(stmt))


def gather(session: Session, person_id: int, render: Renderer, digest: Callable[[list[tuple[str, str]]], tuple[str, str]], *, now: dt.datetime) -> list[OutboxMessage]:
    """Turn a person's undelivered notices into one outbox message per chosen channel (a digest for several)."""
    notices = list(session.scalars(select(Notice).where(Notice.person_id == person_id, Notice.delivered_at.is_(None)).order_by(Notice.id).with_for_update()))
    if not notices:
        return []
    person = session.get(Person, person_id)
    settings, chosen = settings_of(session, person_id), preferences_of(session, person_id)
    addresses = {"sms": person.phone if person else None, "email": settings.email}
    written = []
    for channel in CHANNELS:
        mine = [n for n in notices if channel in chosen.get(n.kind, ())]
        if not mine or not addresses[channel]:
            continue
        parts = [render(n.kind, json.loads(n.params_json)) for n in mine]
        subject, body = parts[0] if len(parts) == 1 else digest(parts)
        message = OutboxMessage(
            person_id=person_id, channel=channel, address=addresses[channel], kind=mine[0].kind if len(mine) == 1 else "digest",
            subject=subject[:200], body=body, params_json=mine[0].params_json if len(mine) == 1 else json.dumps({"count": len(mine)}),
            notices=len(mine), key=f"{channel}:{person_id}:{mine[0].id}-{mine[-1].id}", status=OutboxStatus.PENDING.value,
            not_before=quiet_until(settings, now) if channel == "sms" else now, created_at=now,
        )
        session.add(message)
        written.append(message)
    for notice in notices:
        notice.delivered_at = now
    return written


class Channel(Protocol):
    """An outbound channel's adapter: sends one message, or raises; returns False when it only keeps it (no gateway)."""

    def send(self, message: OutboxMessage) -> bool: ...


def claim_due(session: Session, *, now: dt.datetime, limit: int = 100) -> list[int]:
    """Pending messages that are due, claimed for sending (each claimed once, so never sent twice)."""
    ids = list(session.scalars(select(OutboxMessage.id).where(OutboxMessage.status == OutboxStatus.PENDING.value, OutboxMessage.not_before <= now).order_by(OutboxMessage.id).limit(limit)))
    claimed = []
    for message_id in ids:
        result = session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id, OutboxMessage.status == OutboxStatus.PENDING.value).values(status=OutboxStatus.SENDING.value))
        if result.rowcount == 1:
            claimed.append(message_id)
    return claimed


def settle(session: Session, message_id: int, *, sent: bool | None, error: str | None, now: dt.datetime) -> OutboxMessage:
    """Record how a claimed message fared: sent, held (no gateway: staff read it in the outbox), or failed with its error."""
    message = session.get(OutboxMessage, message_id)
    if error is not None:
        message.status, message.error = OutboxStatus.FAILED.value, error[:500]
    else:
        message.status = OutboxStatus.SENT.value if sent else OutboxStatus.HELD.value
        message.sent_at = now if sent else None
    return message


def outbox(session: Session, *, status: str | None = None, limit: int = 200) -> list[OutboxMessage]:
    """Outbound messages, newest first, for staff to read (every one is kept: nothing is dropped silently)."""
    stmt = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if status:
        stmt = stmt.where(OutboxMessage.status == status)
    return list(session.scalars(stmt))
