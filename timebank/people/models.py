"""People, their roles in the organisation tree, and family links."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timebank.db import Base, BigId, UTCDateTime


class Role(enum.StrEnum):
    """What a person may do, each within an organisation subtree."""

    VOLUNTEER = "volunteer"
    SOCIAL_WORKER = "social_worker"
    COORDINATOR = "coordinator"
    STATION_STAFF = "station_staff"
    ADMIN = "admin"
    GRID_WORKER = "grid_worker"  # 网格员: reports residents' needs in their grid (代点单)


class Status(enum.StrEnum):
    """Where a person's registration stands."""

    PENDING = "pending"
    ACTIVE = "active"
    REJECTED = "rejected"
    SUSPENDED = "suspended"


SOCIAL_WORKER_LEVELS = ("助理社会工作师", "社会工作师", "高级社会工作师")
ID_TYPES = ("resident_id", "passport", "hk_macao_permit", "taiwan_permit", "foreign_permanent")
RELATIONS = ("spouse", "parent", "child")
#: What the person is to their relative, for each relation the relative is to the person.
INVERSE_RELATION = {"spouse": "spouse", "parent": "child", "child": "parent"}


class Person(Base):
    """Anyone who signs in or is recorded: volunteers, social workers, coordinators, station staff."""

    __tablename__ = "people"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'active', 'rejected', 'suspended')", name="status"),
        CheckConstraint("sex IS NULL OR sex IN ('M', 'F')", name="sex"),
        Index("ix_people_home_last_served", "home_organisation_id", "last_served_at"),  # the workbench's active volunteers
        Index("ix_people_home_status_approved", "home_organisation_id", "status", "approved_at"),  # its registered and new ones
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    phone: Mapped[str] = mapped_column(String(11), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    real_name: Mapped[str] = mapped_column(String(50))
    sex: Mapped[str | None] = mapped_column(String(1))
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    id_type: Mapped[str | None] = mapped_column(String(20))
    # The ID number never lies in the database in plain text: a keyed hash
    # finds duplicates, a sealed copy is opened only for those who must see it.
    id_number_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    id_number_sealed: Mapped[str | None] = mapped_column(Text)
    id_number_masked: Mapped[str | None] = mapped_column(String(40))
    residence_area: Mapped[str | None] = mapped_column(String(200))
    skills: Mapped[str | None] = mapped_column(String(500))
    service_categories: Mapped[str | None] = mapped_column(String(200))  # comma-separated slugs
    emergency_contact_name: Mapped[str | None] = mapped_column(String(50))
    emergency_contact_phone: Mapped[str | None] = mapped_column(String(20))
    home_organisation_id: Mapped[int] = mapped_column(BigId, ForeignKey("organisations.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default=Status.PENDING.value)
    # An opaque key in member codes, so a code never carries a database id;
    # bumping card_version revokes every printed card issued before.
    member_key: Mapped[str] = mapped_column(String(32), unique=True)
    card_version: Mapped[int] = mapped_column(Integer, default=1)
    # Bumped on password change or reset: signs every other session out.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    approved_by: Mapped[int | None] = mapped_column(BigId)
    last_sign_in_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The check-in of their latest approved attendance (events/rollup.py): who was active since a day, without a scan.
    last_served_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Consent to the personal information notice (PIPL art. 14, 17): which version, when, and who
    # recorded it on the person's behalf (a coordinator registering or importing them; None: themself).
    consent_version: Mapped[str | None] = mapped_column(String(20))
    consent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    consent_recorded_by: Mapped[int | None] = mapped_column(BigId)

    roles: Mapped[list[RoleGrant]] = relationship(
        back_populates="person",
        primaryjoin="and_(Person.id == RoleGrant.person_id, RoleGrant.revoked_at.is_(None))",
        viewonly=True,
        lazy="selectin",
    )

    @property
    def volunteer_number(self) -> str:
        """The number printed on cards and certificates."""
        return f"V{self.id:08d}"

    @property
    def categories(self) -> list[str]:
        """The service categories as a list."""
        return [c for c in (self.service_categories or "").split(",") if c]

    def __repr__(self) -> str:
        return f"<Person {self.id} {self.status}>"


class RoleGrant(Base):
    """One role of one person over an organisation subtree (station staff: at one station)."""

    __tablename__ = "role_grants"
    __table_args__ = (
        CheckConstraint(
            "role IN ('volunteer', 'social_worker', 'coordinator', 'station_staff', 'admin', 'grid_worker')", name="role"
        ),
        CheckConstraint("role <> 'station_staff' OR station_id IS NOT NULL", name="staff_station"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(BigId, ForeignKey("people.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    organisation_id: Mapped[int] = mapped_column(BigId, ForeignKey("organisations.id"))
    station_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("stations.id"))
    certificate_level: Mapped[str | None] = mapped_column(String(20))
    certificate_number: Mapped[str | None] = mapped_column(String(50))
    granted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    granted_by: Mapped[int | None] = mapped_column(BigId)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[int | None] = mapped_column(BigId)

    person: Mapped[Person] = relationship(foreign_keys=[person_id])
    organisation = relationship("Organisation", lazy="joined")


#: The category of a person's every-volunteer rows in `volunteer_categories`, whatever they offer.
ANY_CATEGORY = "*"
#: The `active_at` of someone who never signed in: after everyone who has, on every database's index.
NEVER_ACTIVE = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


class VolunteerCategory(Base):
    """A person offering a service category under an organisation (their home one and each above it), with when they were last active.

    Kept in step with the person by `people.category_index`, so dispatch
    suggestions walk "who offers C under this community, most recently active
    first" as a bounded index range instead of reading every person of the
    street. Each person also has `ANY_CATEGORY` rows, for the walk among
    everyone when too few offer the category.
    """

    __tablename__ = "volunteer_categories"

    person_id: Mapped[int] = mapped_column(BigId, ForeignKey("people.id"), primary_key=True)
    category: Mapped[str] = mapped_column(String(40), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(BigId, ForeignKey("organisations.id"), primary_key=True)
    active_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


# The walk's order, most recently active first, is the index's own: no sort, and it stops after the first few hundred.
Index(
    "ix_volunteer_categories_walk",
    VolunteerCategory.category, VolunteerCategory.organisation_id, VolunteerCategory.active_at.desc(), VolunteerCategory.person_id,
)


class FamilyLink(Base):
    """A family tie along which hours may be given, once both sides (or a coordinator) confirm."""

    __tablename__ = "family_links"
    __table_args__ = (
        UniqueConstraint("person_id", "relative_id", name="uq_family_links_pair"),
        CheckConstraint("relation IN ('spouse', 'parent', 'child')", name="relation"),
        CheckConstraint("person_id <> relative_id", name="not_self"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(BigId, ForeignKey("people.id"), index=True)
    relative_id: Mapped[int] = mapped_column(BigId, ForeignKey("people.id"), index=True)
    relation: Mapped[str] = mapped_column(String(10))  # what the relative is to the person
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    confirmed_by: Mapped[int | None] = mapped_column(BigId)


class PeopleImport(Base):
    """A large volunteer file imported in the background: who asked, its file until it is read, its report once it is.

    queued → running → done (every row written) or refused (nothing written, every
    row's problems in `report_json`), or failed (with its error; the queue retries it).
    """

    __tablename__ = "people_imports"
    __table_args__ = (CheckConstraint("status IN ('queued', 'running', 'done', 'refused', 'failed')", name="status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    requested_by: Mapped[int] = mapped_column(BigId, index=True)
    organisation_id: Mapped[int] = mapped_column(BigId)
    filename: Mapped[str] = mapped_column(String(200))  # the saved file, in the instance folder's imports/
    original_name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10), default="queued")
    report_json: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
