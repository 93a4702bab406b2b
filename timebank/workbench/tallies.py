"""The workbench's kept tallies: points outstanding, registered and new volunteers, redemptions per month.

Each of these figures would otherwise read every row of a county on every
request (100,000 accounts, people, or a year's redemptions). Instead:

- Writers only ever append *moves* (`tally_moves`: measure, organisation,
  local month or '' for a figure of now, amount). Database triggers defined by
  the migration write them in the writer's own transaction, so every writer is
  counted, the ledger's postings, registrations and approvals, imports,
  redemptions and voids, the demo and bulk loads alike:

  - a PTS posting to a volunteer's account: `points` of the volunteer's home;
  - a person becoming active or leaving it (or, though the app never does it,
    moving home): `volunteers` of the home, and `new_volunteers` of the home and
    the local month of `approved_at`;
  - a completed redemption, or its void: `redemptions` and `redeemed_points` of
    the station's organisation and the local month of `created_at`.

  An insert takes no lock on a shared row, so two approvals in one community
  neither queue on a counter nor deadlock on it.
- The nightly fold (`fold`, the job `workbench.fold_tallies`) moves the moves
  into `tallies`, one row per (measure, organisation, month), atomically.
- A reader sums both for the scope in one statement (one snapshot: a fold
  committing between two statements would count its moves twice or not at
  all), so a county's figure is a few hundred rows, exact at every moment.

`rebuild` recomputes the tallies from the rows themselves (the migration's
backfill, and a benchmark's bulk load, which writes balances without postings);
`check_tallies` is the same computation compared with what is kept, one of
`timebank ledger verify`'s checks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence

from sqlalchemy import ColumnElement, Select, func, literal, select, text, union_all
from sqlalchemy.orm import Session

from timebank.ledger.verify import Breach, run_checks
from timebank.workbench.models import Tally, TallyMove

POINTS = "points"  # PTS held by the volunteers homed at the organisation ('' month)
VOLUNTEERS = "volunteers"  # active people homed there ('' month)
NEW_VOLUNTEERS = "new_volunteers"  # active people homed there, approved in the month
REDEMPTIONS = "redemptions"  # completed redemptions at its stations in the month
REDEEMED_POINTS = "redeemed_points"  # their points
NOW = ""  # the month of a figure of now

#: Organisation ids: a list, or a statement selecting them.
Organisations = Sequence[int] | Select


def sums(
    session: Session, organisations: Organisations, measures: Iterable[str], months: Iterable[str], *,
    adjustments: Iterable[Select] = (),
) -> dict[tuple[str, str], int]:
    """(measure, month) -> the sum over `organisations` of what is folded and what has moved since, in one statement.

    `adjustments` are further (measure, month, amount) statements added to the
    sum in the same statement, and so seen in the same snapshot.
    """
    measures, months = list(measures), list(months)
    if isinstance(organisations, Sequence) and not organisations:
        return {}
    parts: list[Select] = [
        select(table.measure, table.month, table.amount)
        .where(table.measure.in_(measures), table.organisation_id.in_(organisations), table.month.in_(months))
        for table in (Tally, TallyMove)
    ]
    both = union_all(*parts, *adjustments).subquery()
    rows = session.execute(select(both.c.measure, both.c.month, func.sum(both.c.amount)).group_by(both.c.measure, both.c.month))
    return {(measure, month): int(total or 0) for measure, month, total in rows}


def points_outstanding(session: Session, organisations: Organisations) -> int:
    """The PTS the volunteers homed at `organisations` hold now."""
    return sums(session, organisations, [POINTS], [NOW]).get((POINTS, NOW), 0)


def outside(months: Sequence[tuple[str, dt.datetime, dt.datetime]], since: dt.datetime, until: dt.datetime) -> list[tuple[str, dt.datetime, dt.datetime]]:
    """The parts of the first and last of `months` ((month, its first moment, the next month's)) outside [since, until).

    A month's tally counts the whole month; a range that starts or ends within
    one takes these parts off again, read from the rows (for a range that ends
    today, the rest of this month holds nothing yet).
    """
    found = []
    if months:
        month, first, _following = months[0]
        if since > first:
            found.append((month, first, since))
        month, _first, following = months[-1]
        if until < following:
            found.append((month, until, following))
    return found


def adjustment(measure: str, month: str, amount: ColumnElement) -> Select:
    """A (measure, month, amount) row to add: select from it with `.where(…)`."""
    return select(literal(measure).label("measure"), literal(month).label("month"), amount.label("amount"))


def fold(session: Session) -> int:
    """Move every committed move into the folded tallies, atomically; returns the number of tally rows it touched.

    On PostgreSQL one statement deletes the moves its snapshot sees and adds
    them in: a move committed meanwhile is not seen by it, stays, and waits for
    the next fold. On SQLite the write transaction holds the database's write
    lock, so nothing moves between the two statements. Folding again with
    nothing moved changes nothing.
    """
    upsert = ("ON CONFLICT (measure, organisation_id, month) DO UPDATE SET amount = tallies.amount + excluded.amount")
    if session.get_bind().dialect.name == "postgresql":
        result = session.execute(text(
            "WITH moved AS (DELETE FROM tally_moves RETURNING measure, organisation_id, month, amount) "
            "INSERT INTO tallies (measure, organisation_id, month, amount) "
            "SELECT measure, organisation_id, month, SUM(amount) FROM moved GROUP BY measure, organisation_id, month " + upsert
        ))
        return result.rowcount
    result = session.execute(text(
        "INSERT INTO tallies (measure, organisation_id, month, amount) "
        "SELECT measure, organisation_id, month, SUM(amount) FROM tally_moves WHERE true GROUP BY measure, organisation_id, month " + upsert
    ))
    session.execute(text("DELETE FROM tally_moves"))
    return result.rowcount


def counted_sql(dialect: str) -> str:
    """(measure, organisation_id, month, amount) counted afresh from the accounts, people and redemptions."""
    def month(column: str) -> str:
        if dialect == "sqlite":
            return f"strftime('%Y-%m', {column}, '+8 hours')"
        return f"to_char({column} AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM')"

    approved, created = month("approved_at"), month("r.created_at")
    return f"""
        SELECT 'points' AS measure, p.home_organisation_id AS organisation_id, '' AS month, SUM(a.balance) AS amount
        FROM accounts a JOIN people p ON p.id = a.owner_id
        WHERE a.owner_type = 'volunteer' AND a.commodity = 'PTS' GROUP BY p.home_organisation_id
        UNION ALL
        SELECT 'volunteers', home_organisation_id, '', COUNT(*) FROM people WHERE status = 'active' GROUP BY home_organisation_id
        UNION ALL
        SELECT 'new_volunteers', home_organisation_id, {approved}, COUNT(*) FROM people
        WHERE status = 'active' AND approved_at IS NOT NULL GROUP BY home_organisation_id, {approved}
        UNION ALL
        SELECT 'redemptions', s.organisation_id, {created}, COUNT(*) FROM redemptions r JOIN stations s ON s.id = r.station_id
        WHERE r.status = 'completed' GROUP BY s.organisation_id, {created}
        UNION ALL
        SELECT 'redeemed_points', s.organisation_id, {created}, SUM(r.points) FROM redemptions r JOIN stations s ON s.id = r.station_id
        WHERE r.status = 'completed' GROUP BY s.organisation_id, {created}
    """


def rebuild(session: Session) -> None:
    """Recompute every tally from the rows: points from the balances, people and redemptions from theirs.

    The points are the accounts' balances (which `ledger verify` checks against
    the postings), so rows written in bulk with balances and no postings are
    counted as the workbench always counted them.
    """
    session.execute(text("DELETE FROM tally_moves"))
    session.execute(text("DELETE FROM tallies"))
    session.execute(text(
        "INSERT INTO tallies (measure, organisation_id, month, amount) "
        f"SELECT measure, organisation_id, month, amount FROM ({counted_sql(session.get_bind().dialect.name)}) counted"
    ))


def check_tallies(session: Session) -> Iterator[Breach]:
    """Every tally, folded and moved, equals the same sum counted afresh from the rows (one statement, one snapshot)."""
    sql = f"""
        SELECT measure, organisation_id, month, SUM(amount) AS off FROM (
          SELECT measure, organisation_id, month, amount FROM ({counted_sql(session.get_bind().dialect.name)}) counted
          UNION ALL SELECT measure, organisation_id, month, -amount FROM tallies
          UNION ALL SELECT measure, organisation_id, month, -amount FROM tally_moves
        ) q
        GROUP BY measure, organisation_id, month HAVING SUM(amount) <> 0
        ORDER BY measure, organisation_id, month
    """
    return run_checks(session, [(
        "workbench_tally", sql,
        "the workbench's {measure} of organisation {organisation_id} {month} is off by {off} (counted minus kept)",
    )])
