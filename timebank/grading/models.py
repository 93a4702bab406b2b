"""四色分级 (volunteers' and teams' grades), follow-ups (回访), supervision sessions (督导记录) and the
monthly supervision index (社工督导指数) of each social worker.

Grades are computed from the records, never typed in: one row per subject and
day, so the nightly run is idempotent; the newest row is the current grade and
the older ones are its history. An override is a coordinator's recorded
decision on the row, and shows as such.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from timebank.db import Base, BigId, UTCDateTime


class GradeColour(enum.StrEnum):
    """The four colours, best first."""

    GREEN = "green"  # 活跃可靠
    BLUE = "blue"  # 一般
    YELLOW = "yellow"  # 预警
    RED = "red"  # 停用/待回访


class Grade(Base):
    """A volunteer's (or a team's) grade on one day, with the figures that produced it."""

    __tablename__ = "grades"
    __table_args__ = (
        CheckConstraint("subject_type IN ('volunteer', 'team')", name="subject_type"),
        CheckConstraint("computed_colour IN ('green', 'blue', 'yellow', 'red')", name="computed_colour"),
        CheckConstraint("colour IN ('green', 'blue', 'yellow', 'red')", name="colour"),
        UniqueConstraint("subject_type", "subject_id", "graded_on", name="uq_grades_subject_day"),
        Index("ix_grades_organisation_day", "organisation_id", "graded_on"),
        # The grades that stand now, counted by colour for a subtree without reading anyone's history.
        Index("ix_grades_current", "subject_type", "colour", "organisation_id", "subject_id",
              postgresql_where=text("is_current"), sqlite_where=text("is_current = 1")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    subject_type: Mapped[str] = mapped_column(String(10))
    subject_id: Mapped[int] = mapped_column(BigId)  # people.id or organisations.id (a team)
    organisation_id: Mapped[int] = mapped_column(BigId, ForeignKey("organisations.id"))  # home or the team itself
    graded_on: Mapped[dt.date] = mapped_column(Date)  # the day in Asia/Shanghai
    computed_colour: Mapped[str] = mapped_column(String(6))  # what the rules gave
    colour: Mapped[str] = mapped_column(String(6))  # what stands: the computed one, or the override
    figures_json: Mapped[str] = mapped_column(Text)  # the signals, e.g. {"services_90d": 0, "no_shows_90d": 2}
    explanation: Mapped[str] = mapped_column(String(500))  # "90 天内服务 0 次；爽约 2 次"
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    overridden_by: Mapped[int | None] = mapped_column(BigId)
    overridden_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    override_reason: Mapped[str | None] = mapped_column(String(200))
    # The subject's newest row, what stands today: set on the row the grading writes, cleared on the one it follows.
    is_current: Mapped[bool] = mapped_column(Boolean, default=False)


class GradeTally(Base):
    """How many volunteers' current grades stand at one colour under one organisation: the workbench's grade counts.

    Kept in the same transaction as the grading and the overrides that move a
    current grade (grading/tallies.py), so a county's distribution is a few
    hundred rows instead of a pass over its 100,000 current grades.
    """

    __tablename__ = "grade_tallies"

    organisation_id: Mapped[int] = mapped_column(BigId, ForeignKey("organisations.id"), primary_key=True)  # the grade's
    colour: Mapped[str] = mapped_column(String(6), primary_key=True)
    volunteers: Mapped[int] = mapped_column(Integer, default=0)


class FollowUp(Base):
    """A social worker's follow-up (回访) of a yellow or red volunteer."""

    __tablename__ = "grade_follow_ups"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(BigId, ForeignKey("people.id"), index=True)
    grade_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("grades.id"))
    social_worker_id: Mapped[int] = mapped_column(BigId, ForeignKey("people.id"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    method: Mapped[str] = mapped_column(String(12))  # phone, visit, message
    outcome: Mapped[str] = mapped_column(String(20))  # reached, will_return, paused, left, unreachable
    notes: Mapped[str | None] = mapped_column(Text)


class SupervisionSession(Base):
    """A supervision session (督导记录): the volunteers' part counts as training on their record (art. 8)."""

    __tablename__ = "supervision_sessions"
    __table_args__ = (CheckConstraint("minutes > 0", name="minutes"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    social_worker_id: Mapped[int] = mapped_column(BigId, ForeignKey("people.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(BigId, ForeignKey("organisations.id"))
    team_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("organisations.id"))  # a team supervised
    held_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    minutes: Mapped[int] = mapped_column(Integer)
    topic: Mapped[str] = mapped_column(String(100))
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[int] = mapped_column(BigId)


class SupervisionAttendee(Base):
    """A volunteer at a supervision session."""

    __tablename__ = "supervision_attendees"
    __table_args__ = (UniqueConstraint("session_id", "volunteer_id", name="uq_supervision_attendees_pair"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    session_id: Mapped[int] = mapped_column(BigId, ForeignKey("supervision_sessions.id"))
    volunteer_id: Mapped[int] = mapped_column(BigId, ForeignKey("people.id"), index=True)


class SupervisionIndex(Base):
    """One social worker's 社工督导指数 for one month: the total and each indicator's figure and score."""

    __tablename__ = "supervision_indices"
    __table_args__ = (
        UniqueConstraint("social_worker_id", "month", name="uq_supervision_indices_month"),
        CheckConstraint("score BETWEEN 0 AND 100", name="score"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    social_worker_id: Mapped[int] = mapped_column(BigId, ForeignKey("people.id"))
    organisation_id: Mapped[int] = mapped_column(BigId, ForeignKey("organisations.id"))
    month: Mapped[dt.date] = mapped_column(Date)  # the month's first day
    score: Mapped[int] = mapped_column(Integer)
    indicators_json: Mapped[str] = mapped_column(Text)  # {indicator: {"figure", "score", "weight", "text"}}
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
