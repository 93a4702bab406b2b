"""What the queue did: one row per job, so admins see queued, running, failed and scheduled work on any host."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from timebank.db import Base, UTCDateTime


class JobStatus(enum.StrEnum):
    """A job's life: queued (or scheduled for later) → running → done, or failed once its retries are spent."""

    QUEUED = "queued"
    SCHEDULED = "scheduled"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


class Job(Base):
    """A job the queue holds or ran, keyed by the queue's own task id; a job sent again keeps its id."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    args_json: Mapped[str] = mapped_column(Text, default="[]")
    status: Mapped[str] = mapped_column(String(12), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    worker: Mapped[str | None] = mapped_column(String(100))  # host:pid of the consumer that runs or ran it
    enqueued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    eta: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
