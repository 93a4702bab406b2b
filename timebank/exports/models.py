"""An export asked for on a page or through the API, and written in the background."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from timebank.db import Base, BigId, UTCDateTime


class ExportStatus(enum.StrEnum):
    """queued → running → done, or failed (with its error; it can be asked for again)."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Export(Base):
    """One spreadsheet of a kind (`redemptions`, `service_records`) with its parameters, its progress and its file."""

    __tablename__ = "exports"
    __table_args__ = (CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    params_json: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[int] = mapped_column(BigId, index=True)
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    status: Mapped[str] = mapped_column(String(10), default=ExportStatus.QUEUED.value)
    rows: Mapped[int] = mapped_column(Integer, default=0)  # written so far
    filename: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(String(500))
    progressed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # the last sign of life of its worker
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
