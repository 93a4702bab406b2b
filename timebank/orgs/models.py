"""The organisation tree."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timebank.db import Base, BigId, UTCDateTime

LEVELS = ("district", "street", "community", "team")


class Organisation(Base):
    """A node of the tree (区 > 街道 > 社区 > 服务队); policies set here apply below unless overridden."""

    __tablename__ = "organisations"
    __table_args__ = (CheckConstraint("level IN ('district', 'street', 'community', 'team')", name="level"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(16))
    # "/1/3/7/": the ids from the root down, so a subtree is one prefix match.
    path: Mapped[str] = mapped_column(String(400), index=True)
    policies: Mapped[str] = mapped_column(Text, default="{}")  # JSON of the settings overridden here
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    parent: Mapped[Organisation | None] = relationship(remote_side=[id])

    def contains(self, other: Organisation) -> bool:
        """True if `other` is this organisation or lies below it."""
        return other.path.startswith(self.path)

    def __repr__(self) -> str:
        return f"<Organisation {self.id} {self.name}>"
