"""The workbench's kept tallies: what the triggers append, and what the nightly fold keeps (workbench/tallies.py)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from timebank.db import Base, BigId


class Tally(Base):
    """One measure's folded sum for one organisation and local month ('' for a figure of now, not of a month)."""

    __tablename__ = "tallies"

    measure: Mapped[str] = mapped_column(String(20), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    amount: Mapped[int] = mapped_column(BigInteger)


class TallyMove(Base):
    """One change to a tally, appended by a database trigger in the writer's own transaction; folded nightly."""

    __tablename__ = "tally_moves"
    __table_args__ = (Index("ix_tally_moves_measure_organisation", "measure", "organisation_id", "month"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    measure: Mapped[str] = mapped_column(String(20))
    organisation_id: Mapped[int] = mapped_column(BigId)
    month: Mapped[str] = mapped_column(String(7))
    amount: Mapped[int] = mapped_column(BigInteger)
