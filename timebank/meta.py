"""A small key-value table of facts about the database itself (e.g. that it holds demo data)."""

from __future__ import annotations

from sqlalchemy import String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from timebank.db import Base


class Meta(Base):
    """One fact about this database."""

    __tablename__ = "meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


def get_meta(session: Session, key: str) -> str | None:
    """The stored value, or None."""
    return session.scalar(select(Meta.value).where(Meta.key == key))


def set_meta(session: Session, key: str, value: str) -> None:
    """Store a value, replacing any earlier one."""
    session.merge(Meta(key=key, value=value))
