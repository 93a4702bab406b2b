"""Residents, their needs (点单), the orders that serve them (派单—接单), reviews (评单), and the lists around them.

A need moves: recorded → triaged by a social worker into an order, an activity,
a referral to a resource, or a decline → served → closed (green), or cancelled.
An order has one assignment per volunteer taking one of its slots; an
assignment moves offered (dispatched) or claimed → accepted → started → ended →
approved, or leaves on the way (declined, timed out, withdrawn, no-show,
rejected). At most one live assignment holds a slot: a partial unique index
makes that the database's rule, so fifty claims in one instant fill it once.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timebank.db import Base, BigId, UTCDateTime


class Channel(enum.StrEnum):
    """How a need reached the programme."""

    HOTLINE = "hotline"  # 热线 (the mayor's hotline, 12345)
    HOME_VISIT = "home_visit"  # 上门走访
    MICRO_WISH = "micro_wish"  # 微心愿
    TEA_STALL = "tea_stall"  # 书记茶摊
    GRID = "grid"  # 网格上报
    ONLINE = "online"  # 线上 (the resident or family on a phone)


class Colour(enum.StrEnum):
    """Urgency: each colour but green has a response deadline from policy."""

    RED = "red"  # 紧急
    YELLOW = "yellow"  # 重点
    BLUE = "blue"  # 常规
    GREEN = "green"  # 已办结


class BeneficiaryGroup(enum.StrEnum):
    """Groups a resident belongs to; the pool's priority order reads them."""

    LIVING_ALONE = "living_alone"  # 独居老人
    OLD_AGE = "old_age"  # 高龄
    DISABLED = "disabled"  # 残疾人
    HARDSHIP = "hardship"  # 困难家庭
    LEFT_BEHIND_CHILD = "left_behind_child"  # 留守儿童
    NEW_EMPLOYMENT = "new_employment"  # 新就业群体


class NeedStatus(enum.StrEnum):
    """Where a need stands."""

    RECORDED = "recorded"  # waiting for a social worker
    ORDERED = "ordered"  # a service order serves it
    IN_ACTIVITY = "in_activity"  # folded into an activity
    REFERRED = "referred"  # passed to a resource
    DECLINED = "declined"  # with a reason the requester sees
    SERVED = "served"  # every visit ended; waiting for the review
    CLOSED = "closed"  # 已办结 (green)
    CANCELLED = "cancelled"


class OrderStatus(enum.StrEnum):
    """Where an order stands; its slots' state is in its assignments."""

    DISPATCHING = "dispatching"  # offered to named volunteers, or open for claims, with slots to fill
    FILLED = "filled"  # every slot accepted
    SERVING = "serving"  # a visit has started
    SERVED = "served"  # every visit ended
    COMPLETED = "completed"  # every visit approved (or rejected)
    CANCELLED = "cancelled"


class AssignmentStatus(enum.StrEnum):
    """One volunteer's hold on one slot of an order."""

    OFFERED = "offered"  # dispatched to them; they accept or decline by the deadline
    ACCEPTED = "accepted"  # accepted, or claimed from the open order
    STARTED = "started"  # at the home, the resident confirmed the start
    ENDED = "ended"  # the resident confirmed the end; waiting for approval
    APPROVED = "approved"
    REJECTED = "rejected"
    DECLINED = "declined"
    TIMED_OUT = "timed_out"
    WITHDRAWN = "withdrawn"  # the order was cancelled or the volunteer taken off it
    NO_SHOW = "no_show"


#: The statuses that hold a slot: at most one assignment per slot is in one of them.
LIVE_ASSIGNMENT = ("offered", "accepted", "started", "ended", "approved")
_LIVE_SQL = "status IN ('offered', 'accepted', 'started', 'ended', 'approved')"


def _in(values: type[enum.StrEnum]) -> str:
    return ", ".join(f"'{v.value}'" for v in values)


class Resident(Base):
    """A person who asks for help: lighter than a volunteer's record, linked to one when they are both."""

    __tablename__ = "residents"
    __table_args__ = (Index("ix_residents_organisation_phone", "organisation_id", "phone"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # Set when the resident also signs in (a volunteer, or someone who pays with their own stored hours).
    person_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("people.id"), unique=True)
    organisation_id: Mapped[int] = mapped_column(BigId, ForeignKey("organisations.id"))  # the community
    real_name: Mapped[str] = mapped_column(String(50))
    phone: Mapped[str] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(200))  # shown to staff and the assigned volunteers only
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    groups: Mapped[str] = mapped_column(String(200), default="")  # comma-separated BeneficiaryGroup values
    notes: Mapped[str | None] = mapped_column(Text)
    # Consent to keep the resident's data (PIPL art. 14): version, when, and who recorded it (None: themself).
    consent_version: Mapped[str | None] = mapped_column(String(20))
    consent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    consent_recorded_by: Mapped[int | None] = mapped_column(BigId)
    # The opaque key in a resident's printed card QR, so no code carries a database id.
    card_key: Mapped[str] = mapped_column(String(32), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[int | None] = mapped_column(BigId)

    organisation = relationship("Organisation", lazy="joined")

    @property
    def group_list(self) -> list[str]:
        """The beneficiary groups as a list."""
        return [g for g in (self.groups or "").split(",") if g]


class Need(Base):
    """A resident's request for help (点单), recorded by them, their family, or on their behalf (代点单)."""

    __tablename__ = "needs"
    __table_args__ = (
        CheckConstraint(f"channel IN ({_in(Channel)})", name="channel"),
        CheckConstraint(f"colour IN ({_in(Colour)})", name="colour"),
        CheckConstraint(f"status IN ({_in(NeedStatus)})", name="status"),
        CheckConstraint("difficulty IS NULL OR difficulty BETWEEN 1 AND 3", name="difficulty"),
        Index("ix_needs_organisation_status", "organisation_id", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    resident_id: Mapped[int] = mapped_column(BigId, ForeignKey("residents.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(BigId, ForeignKey("organisations.id"))  # the resident's community
    channel: Mapped[str] = mapped_column(String(12))
    description: Mapped[str] = mapped_column(Text)  # what help, in the requester's words
    wanted_when: Mapped[str | None] = mapped_column(String(100))  # "周三上午", as said
    address: Mapped[str | None] = mapped_column(String(200))  # where, when not the resident's own address
    contact_phone: Mapped[str] = mapped_column(String(20))
    colour: Mapped[str] = mapped_column(String(8), default=Colour.BLUE.value)
    status: Mapped[str] = mapped_column(String(12), default=NeedStatus.RECORDED.value)
    # The response deadline of its colour (policy); None once answered or for green.
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Who placed it: None when the resident did; the family member or staff member otherwise.
    recorded_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("people.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # The social worker's assessment (社工介入).
    category: Mapped[str | None] = mapped_column(String(40))
    difficulty: Mapped[int | None] = mapped_column(Integer)  # 1 simple, 2 moderate, 3 complex
    assessment: Mapped[str | None] = mapped_column(Text)
    triaged_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("people.id"))
    triaged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decline_reason: Mapped[str | None] = mapped_column(String(200))
    resource_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("resources.id"))
    activity_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("activities.id"))
    project_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("service_projects.id"))
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str | None] = mapped_column(String(200))

    resident: Mapped[Resident] = relationship(lazy="joined")
    organisation = relationship("Organisation", lazy="joined")


class NeedEvent(Base):
    """One dated, attributed change of a need, its order or an assignment: the history staff read."""

    __tablename__ = "need_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    need_id: Mapped[int] = mapped_column(BigId, ForeignKey("needs.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("orders.id"))
    assignment_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("order_assignments.id"))
    action: Mapped[str] = mapped_column(String(30))  # recorded, triaged, dispatched, claimed, accepted, ...
    actor_id: Mapped[int | None] = mapped_column(BigId)  # None: the service itself (a deadline passing)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(String(500))


class Resource(Base):
    """An entry of the resources list (社会资源清单): a partner that can take a need on."""

    __tablename__ = "resources"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(BigId, ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))  # merchant, organisation, charity, government
    offers: Mapped[str] = mapped_column(Text)  # what it offers
    contact_name: Mapped[str | None] = mapped_column(String(50))
    contact_phone: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[int] = mapped_column(BigId)


class ServiceProject(Base):
    """An entry of the service projects list (服务项目清单): a standing service the programme runs."""

    __tablename__ = "service_projects"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(BigId, ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(40))
    description: Mapped[str | None] = mapped_column(Text)
    resource_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("resources.id"))
    starts_on: Mapped[dt.date | None] = mapped_column(Date)
    ends_on: Mapped[dt.date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[int] = mapped_column(BigId)


class Order(Base):
    """A service order (派单) made from a need: one visit or recurring, for a number of volunteers."""

    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(f"status IN ({_in(OrderStatus)})", name="status"),
        CheckConstraint("slots BETWEEN 1 AND 50", name="slots"),
        CheckConstraint("window_end > window_start", name="window"),
        CheckConstraint("expected_minutes > 0", name="expected_minutes"),
        CheckConstraint("payer IN ('none', 'resident', 'family', 'pool')", name="payer"),
        Index("ix_orders_organisation_status", "organisation_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    need_id: Mapped[int] = mapped_column(BigId, ForeignKey("needs.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(BigId, ForeignKey("organisations.id"))
    category: Mapped[str] = mapped_column(String(40))
    skills: Mapped[str | None] = mapped_column(String(200))  # wanted, comma-separated
    slots: Mapped[int] = mapped_column(Integer, default=1)  # how many volunteers
    recurrence: Mapped[str | None] = mapped_column(String(100))  # None: one visit; else "每周三上午"
    window_start: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    window_end: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expected_minutes: Mapped[int] = mapped_column(Integer)
    open_for_claims: Mapped[bool] = mapped_column(Boolean, default=False)  # 抢单: eligible volunteers claim
    team_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("organisations.id"))  # dispatched to a team
    status: Mapped[str] = mapped_column(String(12), default=OrderStatus.DISPATCHING.value)
    # Paid in hours: who pays. 'none' posts service credit from issuance as an attendance does.
    payer: Mapped[str] = mapped_column(String(10), default="none")
    payer_person_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("people.id"))  # resident or family
    payer_organisation_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("organisations.id"))  # the pool's
    # The private activity a visit is recorded under, so approval, corrections and records are the attendances'.
    activity_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("activities.id"))
    created_by: Mapped[int] = mapped_column(BigId)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    cancelled_by: Mapped[int | None] = mapped_column(BigId)
    cancel_reason: Mapped[str | None] = mapped_column(String(200))

    need: Mapped[Need] = relationship(lazy="joined")
    assignments: Mapped[list[Assignment]] = relationship(
        back_populates="order", order_by="Assignment.id", lazy="selectin"
    )


class Assignment(Base):
    """One volunteer on one slot of an order, from the offer or claim to the approval."""

    __tablename__ = "order_assignments"
    __table_args__ = (
        CheckConstraint(f"status IN ({_in(AssignmentStatus)})", name="status"),
        CheckConstraint("confirm_method IS NULL OR confirm_method IN ('member_code', 'card', 'one_time_code', 'staff')",
                        name="confirm_method"),
        # No slot ever held twice, and no volunteer twice on one order: the database's rule.
        Index("uq_order_assignments_live_slot", "order_id", "slot", unique=True,
              sqlite_where=text(_LIVE_SQL), postgresql_where=text(_LIVE_SQL)),
        Index("uq_order_assignments_live_volunteer", "order_id", "volunteer_id", unique=True,
              sqlite_where=text(_LIVE_SQL), postgresql_where=text(_LIVE_SQL)),
        Index("ix_order_assignments_volunteer", "volunteer_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id"))
    slot: Mapped[int] = mapped_column(Integer)  # 1..order.slots
    volunteer_id: Mapped[int] = mapped_column(BigId, ForeignKey("people.id"))
    status: Mapped[str] = mapped_column(String(10))
    claimed: Mapped[bool] = mapped_column(Boolean, default=False)  # claimed from an open order, not dispatched
    offered_by: Mapped[int | None] = mapped_column(BigId)
    offered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    respond_by: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # the accept deadline of an offer
    responded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(String(200))  # of a decline, withdrawal, no-show or rejection
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    confirm_method: Mapped[str | None] = mapped_column(String(14))
    confirmed_by: Mapped[int | None] = mapped_column(BigId)  # the staff member, for a staff confirmation
    # The hold on the payer's hours, taken at acceptance when the order is paid in hours.
    hold_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("holds.id"))
    # The attendance the visit became, which carries the review, the posting and corrections.
    attendance_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("attendances.id"), unique=True)

    order: Mapped[Order] = relationship(back_populates="assignments")
    volunteer = relationship("Person", foreign_keys=[volunteer_id], lazy="joined")


class Rating(Base):
    """The resident's review of one visit (评单); two stars or fewer asks a social worker to follow up."""

    __tablename__ = "order_ratings"
    __table_args__ = (CheckConstraint("stars BETWEEN 1 AND 5", name="stars"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    assignment_id: Mapped[int] = mapped_column(BigId, ForeignKey("order_assignments.id"), unique=True)
    volunteer_id: Mapped[int] = mapped_column(BigId, ForeignKey("people.id"), index=True)
    stars: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(String(500))
    rated_by: Mapped[int | None] = mapped_column(BigId)  # None: the resident themself, without an account
    rated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # The follow-up (回访) of a low rating: who called, when, what came of it, whether a complaint was upheld.
    followed_up_by: Mapped[int | None] = mapped_column(BigId)
    followed_up_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    follow_up_notes: Mapped[str | None] = mapped_column(Text)
    complaint_upheld: Mapped[bool | None] = mapped_column(Boolean)


class PoolAllocation(Base):
    """Hours of a community pool set aside for a need by a coordinator, in the policy's priority order."""

    __tablename__ = "pool_allocations"
    __table_args__ = (
        CheckConstraint("minutes > 0", name="minutes"),
        CheckConstraint("status IN ('open', 'spent', 'returned')", name="status"),
        UniqueConstraint("need_id", name="uq_pool_allocations_need"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(BigId, ForeignKey("organisations.id"))  # the pool's owner
    need_id: Mapped[int] = mapped_column(BigId, ForeignKey("needs.id"))
    minutes: Mapped[int] = mapped_column(Integer)
    hold_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("holds.id"))
    status: Mapped[str] = mapped_column(String(10), default="open")
    allocated_by: Mapped[int] = mapped_column(BigId)
    allocated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(String(200))
