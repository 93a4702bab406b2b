"""Professional certification (专业认证): star levels reached, programmes, certificates, social workers' training, batch jobs.

Certified hours themselves live only in the ledger (`vol:<id>:CERT:<category>`);
these tables record what was decided on them: a level reached on a date, a
certificate issued on the hours it rests on, a batch of printed summaries.
"""

from __future__ import annotations

import datetime as dt
import enum
import json

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timebank.db import Base, BigId, UTCDateTime


class StarLevelEvent(Base):
    """A volunteer reached a star level on a date (and, after a correction, may have lost it again)."""

    __tablename__ = "star_level_events"
    __table_args__ = (
        CheckConstraint("level BETWEEN 1 AND 9", name="level"),
        Index("ix_star_level_events_person_level", "person_id", "level"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(BigId, ForeignKey("people.id"))
    level: Mapped[int] = mapped_column(Integer)
    # When the service that carried the certified hours over the threshold took place.
    reached_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    lost_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Programme(Base):
    """A professional volunteer certification (e.g. 助老服务专业志愿者) and what it asks for."""

    __tablename__ = "certification_programmes"
    __table_args__ = (
        CheckConstraint("required_training_minutes >= 0", name="training"),
        CheckConstraint("required_activities >= 0", name="activities"),
        CheckConstraint("validity_months > 0", name="validity"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(BigId, ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    required_minutes_json: Mapped[str] = mapped_column(Text, default="{}")  # {category: certified minutes}
    required_training_minutes: Mapped[int] = mapped_column(Integer, default=0)
    required_activities: Mapped[int] = mapped_column(Integer, default=0)
    signoff_level: Mapped[str] = mapped_column(String(20))  # the least certificate level of the signing social worker
    validity_months: Mapped[int] = mapped_column(Integer, default=36)
    created_by: Mapped[int] = mapped_column(BigId)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    organisation = relationship("Organisation", lazy="joined")

    @property
    def required_minutes(self) -> dict[str, int]:
        """Certified minutes asked for, per service category."""
        return {k: int(v) for k, v in json.loads(self.required_minutes_json or "{}").items()}


class CertificateKind(enum.StrEnum):
    """A professional volunteer certificate, or a service record certificate (志愿服务记录证明)."""

    PROGRAMME = "programme"
    SERVICE_RECORD = "service_record"


class Certificate(Base):
    """An issued certificate: its serial, the hours it rests on, and whether it still stands."""

    __tablename__ = "certificates"
    __table_args__ = (
        UniqueConstraint("year", "sequence", name="uq_certificates_serial"),
        CheckConstraint("kind IN ('programme', 'service_record')", name="kind"),
        CheckConstraint("kind <> 'programme' OR programme_id IS NOT NULL", name="programme"),
        CheckConstraint("revoked_at IS NULL OR revoke_reason IS NOT NULL", name="revoke_reason"),
        Index("ix_certificates_person", "person_id", "issued_at"),
        # A batch run again (its worker died) finds the certificates it numbered instead of numbering them twice.
        Index("uq_certificates_batch_person", "batch_id", "person_id", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    year: Mapped[int] = mapped_column(Integer)
    sequence: Mapped[int] = mapped_column(Integer)
    # The verification page's address: random, never derived from an id or the serial.
    verify_key: Mapped[str] = mapped_column(String(32), unique=True)
    # Typed with the serial on the verification page when the printed code cannot be scanned.
    check_code: Mapped[str] = mapped_column(String(8))
    person_id: Mapped[int] = mapped_column(BigId, ForeignKey("people.id"))
    organisation_id: Mapped[int] = mapped_column(BigId, ForeignKey("organisations.id"))
    programme_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("certification_programmes.id"), index=True)
    period_start: Mapped[dt.date | None] = mapped_column(Date)
    period_end: Mapped[dt.date | None] = mapped_column(Date)
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    valid_until: Mapped[dt.date | None] = mapped_column(Date)
    issued_by: Mapped[int] = mapped_column(BigId)
    signed_off_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("people.id"))
    certified_minutes: Mapped[int] = mapped_column(Integer, default=0)
    training_minutes: Mapped[int] = mapped_column(Integer, default=0)
    activities: Mapped[int] = mapped_column(Integer, default=0)
    basis_json: Mapped[str] = mapped_column(Text, default="{}")  # certified minutes per category it rests on
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[int | None] = mapped_column(BigId)
    revoke_reason: Mapped[str | None] = mapped_column(String(200))
    batch_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("certificate_batches.id"))

    person = relationship("Person", foreign_keys=[person_id], lazy="joined")
    organisation = relationship("Organisation", lazy="joined")
    programme: Mapped[Programme | None] = relationship(lazy="joined")
    signer = relationship("Person", foreign_keys=[signed_off_by])

    @property
    def serial(self) -> str:
        """`TB-2026-000123`."""
        return serial_text(self.year, self.sequence)

    @property
    def basis(self) -> dict[str, int]:
        """Certified minutes per category the certificate rests on."""
        return {k: int(v) for k, v in json.loads(self.basis_json or "{}").items()}

    def is_valid(self, today: dt.date) -> bool:
        """Not revoked, and not past its validity."""
        return self.revoked_at is None and (self.valid_until is None or today <= self.valid_until)


def serial_text(year: int, sequence: int) -> str:
    """The printed serial number of a certificate."""
    return f"TB-{year}-{sequence:06d}"


class ContinuingEducation(Base):
    """Training a social worker took toward the continuing-education requirement of their registration."""

    __tablename__ = "continuing_education"
    __table_args__ = (CheckConstraint("minutes > 0", name="minutes"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(BigId, ForeignKey("people.id"), index=True)
    title: Mapped[str] = mapped_column(String(100))
    organiser: Mapped[str] = mapped_column(String(100))
    minutes: Mapped[int] = mapped_column(Integer)
    taken_on: Mapped[dt.date] = mapped_column(Date)
    recorded_by: Mapped[int] = mapped_column(BigId)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class BatchStatus(enum.StrEnum):
    """A batch of printed certificates, from the request to the file."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class CertificateBatch(Base):
    """Service record certificates for everyone of an organisation and a period, made into one PDF in the background."""

    __tablename__ = "certificate_batches"
    __table_args__ = (CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(BigId, ForeignKey("organisations.id"), index=True)
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date] = mapped_column(Date)
    requested_by: Mapped[int] = mapped_column(BigId)
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(10), default=BatchStatus.QUEUED.value)
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    filename: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(String(500))
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    progressed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # the last sign of life of its worker

    organisation = relationship("Organisation", lazy="joined")
