"""Writing and reading the audit log."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from timebank.audit.models import AuditEntry

SECRET_FIELDS = {"password_hash", "id_number_sealed", "id_number_hash", "token_hash", "member_key"}


def record(
    session: Session,
    *,
    actor: int | None,
    action: str,
    target: tuple[str, int],
    changes: dict[str, Any] | None = None,
    now: dt.datetime,
) -> AuditEntry:
    """Add an entry; secret fields are noted as changed, never their values."""
    entry = AuditEntry(**entry_values(actor=actor, action=action, target=target, changes=changes, now=now))
    session.add(entry)
    return entry


def entry_values(
    *, actor: int | None, action: str, target: tuple[str, int], changes: dict[str, Any] | None = None, now: dt.datetime
) -> dict[str, Any]:
    """An entry's column values, for `record` or for a bulk INSERT of many."""
    shown = {
        field: ["…", "…"] if field in SECRET_FIELDS else value for field, value in (changes or {}).items()
    }
    return dict(
        actor_id=actor,
        action=action,
        target_type=target[0],
        target_id=target[1],
        changes=json.dumps(shown, ensure_ascii=False, default=str),
        at=now,
    )


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """Field -> [before, after] for the fields that differ."""
    return {key: [before.get(key), value] for key, value in after.items() if before.get(key) != value}


def apply_changes(record_object: Any, values: dict[str, Any]) -> dict[str, list[Any]]:
    """Set each value that differs on the object; field -> [before, after] as the audit log keeps them (text)."""
    changes = {}
    for name, value in values.items():
        current = getattr(record_object, name)
        if value != current:
            changes[name] = [None if current is None else str(current), None if value is None else str(value)]
            setattr(record_object, name, value)
    return changes


def entries(session: Session, *, target: tuple[str, int] | None = None, limit: int = 100, before: int | None = None) -> list[AuditEntry]:
    """The newest entries first, optionally for one target."""
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if target is not None:
        stmt = stmt.where(AuditEntry.target_type == target[0], AuditEntry.target_id == target[1])
    if before is not None:
        stmt = stmt.where(AuditEntry.id < before)
    return list(session.scalars(stmt))
