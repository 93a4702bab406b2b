"""Stations (驿站), their catalogue and stock, and redemptions (兑换) at the counter."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from timebank.db import Base, BigId, UTCDateTime


class Station(Base):
    """A place where volunteers redeem points, run by station staff."""

    __tablename__ = "stations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(BigId, ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str | None] = mapped_column(String(200))
    opening_hours: Mapped[str | None] = mapped_column(String(100))
    # The counter refuses outside these (local time); none set means no fixed hours.
    open_days: Mapped[str | None] = mapped_column(String(7))  # ISO weekdays, e.g. "123456"
    opens_at: Mapped[str | None] = mapped_column(String(5))  # "08:00"
    closes_at: Mapped[str | None] = mapped_column(String(5))  # "20:00"
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class ItemKind(enum.StrEnum):
    """What a catalogue item is."""

    GOODS = "goods"
    VOUCHER = "voucher"
    SERVICE = "service"


class CatalogueItem(Base):
    """Something a volunteer can redeem: at one station, or at every station of an organisation subtree."""

    __tablename__ = "catalogue_items"
    __table_args__ = (
        CheckConstraint("kind IN ('goods', 'voucher', 'service')", name="kind"),
        CheckConstraint("commodity IN ('PTS', 'HOUR')", name="commodity"),
        CheckConstraint("price > 0", name="positive_price"),
        CheckConstraint("limit_per_day IS NULL OR limit_per_day > 0", name="day_limit"),
        CheckConstraint("limit_per_month IS NULL OR limit_per_month > 0", name="month_limit"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(BigId, ForeignKey("organisations.id"), index=True)
    station_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("stations.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(10))
    commodity: Mapped[str] = mapped_column(String(4))  # PTS, or HOUR priced in minutes
    price: Mapped[int] = mapped_column(Integer)
    tracks_stock: Mapped[bool] = mapped_column(default=True)  # services have no stock
    limit_per_day: Mapped[int | None] = mapped_column(Integer)
    limit_per_month: Mapped[int | None] = mapped_column(Integer)
    active_from: Mapped[dt.date | None] = mapped_column(Date)
    active_to: Mapped[dt.date | None] = mapped_column(Date)
    picture: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))  # a small JPEG, re-encoded on upload
    created_by: Mapped[int] = mapped_column(BigId)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class StationStock(Base):
    """How many of an item a station has; only redemptions and recorded movements change it."""

    __tablename__ = "station_stock"
    __table_args__ = (
        UniqueConstraint("station_id", "item_id", name="uq_station_stock_station_item"),
        CheckConstraint("quantity >= 0", name="non_negative"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    station_id: Mapped[int] = mapped_column(BigId, ForeignKey("stations.id"))
    item_id: Mapped[int] = mapped_column(BigId, ForeignKey("catalogue_items.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer, default=0)


class MovementReason(enum.StrEnum):
    """Why stock changed."""

    RECEIVED = "received"
    ADJUSTED = "adjusted"  # a count, damage, loss: the note says which
    REDEEMED = "redeemed"
    VOIDED = "voided"


class StockMovement(Base):
    """One change of a station's stock of an item, with why and who: the stock's own ledger."""

    __tablename__ = "stock_movements"
    __table_args__ = (
        CheckConstraint("change <> 0", name="non_zero"),
        Index("ix_stock_movements_station_item", "station_id", "item_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    station_id: Mapped[int] = mapped_column(BigId, ForeignKey("stations.id"))
    item_id: Mapped[int] = mapped_column(BigId, ForeignKey("catalogue_items.id"))
    change: Mapped[int] = mapped_column(Integer)
    quantity_after: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(10))
    note: Mapped[str | None] = mapped_column(String(200))
    redemption_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("redemptions.id"))
    actor_id: Mapped[int] = mapped_column(BigId)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class RedemptionStatus(enum.StrEnum):
    """A redemption stands, or was voided (reversed in the ledger, stock restored)."""

    COMPLETED = "completed"
    VOIDED = "voided"


class Redemption(Base):
    """One basket redeemed at a station's counter: one ledger transaction, its stock movements, a receipt."""

    __tablename__ = "redemptions"
    __table_args__ = (
        CheckConstraint("status IN ('completed', 'voided')", name="status"),
        Index("ix_redemptions_station_created", "station_id", "created_at"),
        Index("ix_redemptions_volunteer_created", "volunteer_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str | None] = mapped_column(String(20), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    station_id: Mapped[int] = mapped_column(BigId, ForeignKey("stations.id"))
    volunteer_id: Mapped[int] = mapped_column(BigId, ForeignKey("people.id"))
    clerk_id: Mapped[int] = mapped_column(BigId, ForeignKey("people.id"))
    device_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("device_tokens.id"))
    points: Mapped[int] = mapped_column(Integer, default=0)
    minutes: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(10), default=RedemptionStatus.COMPLETED.value)
    transaction_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("transactions.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    voided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    voided_by: Mapped[int | None] = mapped_column(BigId)
    void_reason: Mapped[str | None] = mapped_column(String(200))
    void_transaction_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("transactions.id"))

    lines: Mapped[list[RedemptionLine]] = relationship(order_by="RedemptionLine.id")


class RedemptionLine(Base):
    """One item of a basket, with the name and price it had then."""

    __tablename__ = "redemption_lines"
    __table_args__ = (CheckConstraint("quantity > 0", name="positive_quantity"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    redemption_id: Mapped[int] = mapped_column(BigId, ForeignKey("redemptions.id"), index=True)
    item_id: Mapped[int] = mapped_column(BigId, ForeignKey("catalogue_items.id"), index=True)
    item_name: Mapped[str] = mapped_column(String(100))
    commodity: Mapped[str] = mapped_column(String(4))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[int] = mapped_column(Integer)

    @property
    def amount(self) -> int:
        """Quantity times the unit price."""
        return self.quantity * self.unit_price
