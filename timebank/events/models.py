"""Activities (活动), sign-ups, attendances (签到/签退), their reviews, and volunteers' correction requests."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, CheckConstraint, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timebank.db import Base, BigId, UTCDateTime


class ActivityStatus(enum.StrEnum):
    """What is stored; "under way" and "finished" follow from the clock (see Phase)."""

    DRAFT = "draft"
    PUBLISHED = "published"
    SETTLED = "settled"
    CANCELLED = "cancelled"


class Phase(enum.StrEnum):
    """Where an activity stands now, as people see it."""

    DRAFT = "draft"
    PUBLISHED = "published"
    UNDER_WAY = "under_way"
    FINISHED = "finished"
    SETTLED = "settled"
    CANCELLED = "cancelled"


class CreditMode(enum.StrEnum):
    """How an attendance's minutes are worked out."""

    ACTUAL = "actual"  # time attended, clipped to the activity, rounded down per policy
    FIXED = "fixed"  # the same amount for everyone who attended enough


class SignUpStatus(enum.StrEnum):
    """A volunteer's place on an activity."""

    SIGNED_UP = "signed_up"
    WAITING = "waiting"
    CANCELLED = "cancelled"


class AttendanceStatus(enum.StrEnum):
    """From the scan to the ledger."""

    CHECKED_IN = "checked_in"
    CHECKED_OUT = "checked_out"
    APPROVED = "approved"
    REJECTED = "rejected"


class Flag(enum.StrEnum):
    """Why a reviewer should look twice at an attendance."""

    LATE = "late"
    EARLY_LEAVE = "early_leave"
    FORGOTTEN_CHECKOUT = "forgotten_checkout"
    OUTSIDE_DISTANCE = "outside_distance"
    SHORT = "short"  # below the minimum share of the activity: no credit


class Activity(Base):
    """A scheduled service event (or training) volunteers sign up for and check in to."""

    __tablename__ = "activities"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'published', 'settled', 'cancelled')", name="status"),
        CheckConstraint("credit_mode IN ('actual', 'fixed')", name="credit_mode"),
        CheckConstraint("ends_at > starts_at", name="window"),
        CheckConstraint("credit_mode <> 'fixed' OR fixed_minutes > 0", name="fixed_minutes"),
        CheckConstraint("capacity IS NULL OR capacity > 0", name="capacity"),
        Index("ix_activities_organisation_starts", "organisation_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(BigId, ForeignKey("organisations.id"))
    title: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(40))
    description: Mapped[str | None] = mapped_column(Text)  # the service content (art. 7)
    address: Mapped[str] = mapped_column(String(200))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    radius_m: Mapped[int | None] = mapped_column(Integer)  # distance check, when the venue has coordinates
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    capacity: Mapped[int | None] = mapped_column(Integer)
    person_in_charge_id: Mapped[int] = mapped_column(BigId, ForeignKey("people.id"))
    credit_mode: Mapped[str] = mapped_column(String(10), default=CreditMode.ACTUAL.value)
    fixed_minutes: Mapped[int | None] = mapped_column(Integer)
    points_per_hour: Mapped[int | None] = mapped_column(Integer)  # None: the policy's rate
    points_multiplier: Mapped[float | None] = mapped_column(Float)  # None: the policy's for the category
    signup_required: Mapped[bool] = mapped_column(Boolean, default=False)
    poster_allowed: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(12), default=ActivityStatus.DRAFT.value)
    # The opaque key check-in codes carry, so no code names a database id.
    code_key: Mapped[str] = mapped_column(String(32), unique=True)
    created_by: Mapped[int] = mapped_column(BigId)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    settled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str | None] = mapped_column(String(200))

    organisation = relationship("Organisation", lazy="joined")
    person_in_charge = relationship("Person", foreign_keys=[person_in_charge_id])

    @property
    def is_training(self) -> bool:
        """Training (培训) credits training hours, not service hours."""
        return self.category == "training"

    @property
    def duration_minutes(self) -> int:
        """The planned length of the activity."""
        return int((self.ends_at - self.starts_at).total_seconds() // 60)

    def phase(self, now: dt.datetime) -> Phase:
        """Draft, published, under way, finished, settled or cancelled, at `now`."""
        if self.status != ActivityStatus.PUBLISHED.value:
            return Phase(self.status)
        if now < self.starts_at:
            return Phase.PUBLISHED
        return Phase.UNDER_WAY if now < self.ends_at else Phase.FINISHED

    def __repr__(self) -> str:
        return f"<Activity {self.id} {self.status}>"


class SignUp(Base):
    """A volunteer's place on an activity, or on its waiting list."""

    __tablename__ = "signups"
    __table_args__ = (
        UniqueConstraint("activity_id", "volunteer_id", name="uq_signups_activity_volunteer"),
        CheckConstraint("status IN ('signed_up', 'waiting', 'cancelled')", name="status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    activity_id: Mapped[int] = mapped_column(BigId, ForeignKey("activities.id"))
    volunteer_id: Mapped[int] = mapped_column(BigId, ForeignKey("people.id"), index=True)
    status: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)  # the waiting list's order
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Attendance(Base):
    """One volunteer at one activity: the scans, the minutes worked out, the review, the posting."""

    __tablename__ = "attendances"
    __table_args__ = (
        UniqueConstraint("activity_id", "volunteer_id", name="uq_attendances_activity_volunteer"),
        CheckConstraint(
            "status IN ('checked_in', 'checked_out', 'approved', 'rejected')", name="status"
        ),
        CheckConstraint("checked_out_at IS NULL OR checked_out_at >= checked_in_at", name="out_after_in"),
        CheckConstraint("adjusted_minutes IS NULL OR adjusted_minutes >= 0", name="adjusted_minutes"),
        Index("ix_attendances_volunteer", "volunteer_id", "checked_in_at"),
        Index("ix_attendances_status_activity", "status", "activity_id"),  # the workbench's "to approve"
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    activity_id: Mapped[int] = mapped_column(BigId, ForeignKey("activities.id"))
    volunteer_id: Mapped[int] = mapped_column(BigId, ForeignKey("people.id"))
    status: Mapped[str] = mapped_column(String(12), default=AttendanceStatus.CHECKED_IN.value)
    checked_in_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    checked_out_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    check_in_method: Mapped[str] = mapped_column(String(10))  # screen, poster, kiosk
    check_out_method: Mapped[str | None] = mapped_column(String(10))
    recorded_by: Mapped[int | None] = mapped_column(BigId)  # the organiser at a kiosk; None: the volunteer
    distance_m: Mapped[int | None] = mapped_column(Integer)  # from the venue, when the phone shared its position
    adjusted_minutes: Mapped[int | None] = mapped_column(Integer)  # a reviewer's figure, replacing the computed one
    adjust_reason: Mapped[str | None] = mapped_column(String(200))
    # What was posted: kept so the volunteer sees it and a correction knows what to reverse.
    credited_minutes: Mapped[int | None] = mapped_column(Integer)
    credited_points: Mapped[int | None] = mapped_column(Integer)
    transaction_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("transactions.id"))
    credit_version: Mapped[int] = mapped_column(Integer, default=0)  # bumped by each correction
    decided_by: Mapped[int | None] = mapped_column(BigId)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reject_reason: Mapped[str | None] = mapped_column(String(200))

    activity: Mapped[Activity] = relationship(lazy="joined")
    volunteer = relationship("Person", foreign_keys=[volunteer_id])
    reviews: Mapped[list[AttendanceReview]] = relationship(
        back_populates="attendance", order_by="AttendanceReview.id", lazy="selectin"
    )


class AttendanceReview(Base):
    """One reviewer's approval; the attendance posts once as many as the policy asks have approved."""

    __tablename__ = "attendance_reviews"
    __table_args__ = (UniqueConstraint("attendance_id", "reviewer_id", name="uq_attendance_reviews_reviewer"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    attendance_id: Mapped[int] = mapped_column(BigId, ForeignKey("attendances.id"))
    reviewer_id: Mapped[int] = mapped_column(BigId, ForeignKey("people.id"))
    reviewed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    attendance: Mapped[Attendance] = relationship(back_populates="reviews")


class ServiceDay(Base):
    """The approved service of one organisation's activities on one local day in one category: the workbench's roll-up.

    Kept in step with the attendances in the same transaction as each approval
    and correction (events/rollup.py), so the coordinator's hours are read from
    a few rows per organisation and day instead of a million attendances.
    """

    __tablename__ = "service_days"

    organisation_id: Mapped[int] = mapped_column(BigId, ForeignKey("organisations.id"), primary_key=True)  # the activity's
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)  # the activity's start, Asia/Shanghai
    category: Mapped[str] = mapped_column(String(40), primary_key=True)
    minutes: Mapped[int] = mapped_column(Integer, default=0)  # credited minutes of the approved attendances
    attendances: Mapped[int] = mapped_column(Integer, default=0)  # approved attendances


class CorrectionStatus(enum.StrEnum):
    """A volunteer's report of an error, and the organisation's answer (2021 measures, art. 13)."""

    OPEN = "open"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class CorrectionRequest(Base):
    """A volunteer says an attendance is recorded wrongly; the organisation checks and answers."""

    __tablename__ = "correction_requests"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'accepted', 'declined')", name="status"),
        CheckConstraint("claimed_minutes IS NULL OR claimed_minutes >= 0", name="claimed_minutes"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    attendance_id: Mapped[int] = mapped_column(BigId, ForeignKey("attendances.id"), index=True)
    volunteer_id: Mapped[int] = mapped_column(BigId, ForeignKey("people.id"))
    message: Mapped[str] = mapped_column(String(500))
    claimed_minutes: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default=CorrectionStatus.OPEN.value)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    answer: Mapped[str | None] = mapped_column(String(500))
    answered_by: Mapped[int | None] = mapped_column(BigId)
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    attendance: Mapped[Attendance] = relationship(lazy="joined")


class UsedSeenTicket(Base):
    """A seen ticket that has checked someone in or out: it never counts again (its hash only)."""

    __tablename__ = "used_seen_tickets"

    ticket_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    used_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
