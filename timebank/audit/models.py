"""Audit entries."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from timebank.db import Base, BigId, UTCDateTime


class AuditEntry(Base):
    """One recorded change or sensitive view."""

    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_target", "target_type", "target_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(BigInteger)  # None: the person themself, unsigned (registration)
    action: Mapped[str] = mapped_column(String(40))
    target_type: Mapped[str] = mapped_column(String(20))
    target_id: Mapped[int] = mapped_column(BigInteger)
    changes: Mapped[str] = mapped_column(Text, default="{}")  # JSON: field -> [before, after]
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
