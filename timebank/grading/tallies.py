"""Per-organisation counts of volunteers' current grades by colour, kept exact in the same transaction as each change.

A volunteer's current grade (the row flagged `is_current`) moves in three
ways only: the nightly grading gives a new row (the current one's colour leaves
its organisation's count, the new one's joins), recolours today's row, or
moves a row to the volunteer's home of today; and a coordinator overrides the
colour of the current row. Each of those adds its differences here with an
`INSERT … ON CONFLICT DO UPDATE` that adds, so nothing else moves the counts.
`rebuild` recomputes them from the current grades (the migration's backfill,
rows written in bulk by a benchmark or a test).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from sqlalchemy import delete, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from timebank.grading.models import Grade, GradeTally

VOLUNTEER = "volunteer"


def add(session: Session, changes: Mapping[tuple[int, str], int]) -> None:
    """Add each (organisation, colour)'s difference to its count, creating the rows that are new."""
    rows = [{"organisation_id": organisation_id, "colour": colour, "volunteers": delta}
            for (organisation_id, colour), delta in sorted(changes.items()) if delta]
    if not rows:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(GradeTally)
    session.execute(stmt.on_conflict_do_update(
        index_elements=["organisation_id", "colour"], set_={"volunteers": GradeTally.volunteers + stmt.excluded.volunteers},
    ), rows)


def move(changes: Counter, before: tuple[int, str] | None, after: tuple[int, str] | None) -> None:
    """Note that one current grade left `before` (organisation, colour) for `after` (None: none)."""
    if before == after:
        return
    if before is not None:
        changes[before] -= 1
    if after is not None:
        changes[after] += 1


def counts(session: Session, organisation_ids: list[int] | tuple[int, ...]) -> dict[str, int]:
    """Volunteers per current colour, graded under those organisations (ids, not subtrees)."""
    if not organisation_ids:
        return {}
    rows = session.execute(
        select(GradeTally.colour, func.sum(GradeTally.volunteers))
        .where(GradeTally.organisation_id.in_(list(organisation_ids))).group_by(GradeTally.colour)
    )
    return {colour: int(total or 0) for colour, total in rows}


def rebuild(session: Session) -> None:
    """Recompute every count from the current grades."""
    session.execute(delete(GradeTally))
    current = (
        select(Grade.organisation_id, Grade.colour, func.count())
        .where(Grade.subject_type == VOLUNTEER, Grade.is_current).group_by(Grade.organisation_id, Grade.colour)
    )
    session.execute(insert(GradeTally).from_select(["organisation_id", "colour", "volunteers"], current))
