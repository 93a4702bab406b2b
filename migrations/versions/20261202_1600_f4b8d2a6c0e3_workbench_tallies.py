"""the workbench's kept tallies: points outstanding, registered and new volunteers, redemptions per month

Writers only ever INSERT into `tally_moves` (database triggers on postings,
people and redemptions, so every writer is counted); the nightly fold moves the
moves into `tallies`, keyed by (measure, organisation, month). A reader sums
both in one statement. See timebank/workbench/tallies.py.

Revision ID: f4b8d2a6c0e3
Revises: e3a7c5b9d1f4
Create Date: 2026-12-02 16:00:00+00:00
"""

import sqlalchemy as sa
from alembic import op


revision = 'f4b8d2a6c0e3'
down_revision = 'e3a7c5b9d1f4'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def month(column: str) -> str:
    """`YYYY-MM` of a UTC moment in Asia/Shanghai (+8 hours, no daylight saving)."""
    if op.get_bind().dialect.name == "sqlite":
        return f"strftime('%Y-%m', {column}, '+8 hours')"
    return f"to_char({column} AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM')"


def upgrade() -> None:
    op.create_table(
        'tallies',
        sa.Column('measure', sa.String(length=20), nullable=False),
        sa.Column('organisation_id', BigId, nullable=False),
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('amount', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('measure', 'organisation_id', 'month', name=op.f('pk_tallies')),
    )
    op.create_table(
        'tally_moves',
        sa.Column('id', BigId, autoincrement=True, nullable=False),
        sa.Column('measure', sa.String(length=20), nullable=False),
        sa.Column('organisation_id', BigId, nullable=False),
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('amount', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_tally_moves')),
    )
    op.create_index('ix_tally_moves_measure_organisation', 'tally_moves', ['measure', 'organisation_id', 'month'])
    create_triggers()
    # The backfill: the same sums the triggers keep from now on (workbench/tallies.py's rebuild).
    op.execute(f"""
        INSERT INTO tallies (measure, organisation_id, month, amount)
        SELECT 'points', p.home_organisation_id, '', SUM(a.balance) FROM accounts a JOIN people p ON p.id = a.owner_id
        WHERE a.owner_type = 'volunteer' AND a.commodity = 'PTS' GROUP BY p.home_organisation_id
        UNION ALL
        SELECT 'volunteers', home_organisation_id, '', COUNT(*) FROM people WHERE status = 'active' GROUP BY home_organisation_id
        UNION ALL
        SELECT 'new_volunteers', home_organisation_id, {month('approved_at')}, COUNT(*) FROM people
        WHERE status = 'active' AND approved_at IS NOT NULL GROUP BY home_organisation_id, {month('approved_at')}
        UNION ALL
        SELECT 'redemptions', s.organisation_id, {month('r.created_at')}, COUNT(*) FROM redemptions r JOIN stations s ON s.id = r.station_id
        WHERE r.status = 'completed' GROUP BY s.organisation_id, {month('r.created_at')}
        UNION ALL
        SELECT 'redeemed_points', s.organisation_id, {month('r.created_at')}, SUM(r.points) FROM redemptions r JOIN stations s ON s.id = r.station_id
        WHERE r.status = 'completed' GROUP BY s.organisation_id, {month('r.created_at')}
    """)


def downgrade() -> None:
    drop_triggers()
    op.drop_index('ix_tally_moves_measure_organisation', table_name='tally_moves')
    op.drop_table('tally_moves')
    op.drop_table('tallies')


MOVE = "INSERT INTO tally_moves (measure, organisation_id, month, amount)"

PG_FUNCTIONS = f"""
CREATE FUNCTION tally_points() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  {MOVE}
  SELECT 'points', p.home_organisation_id, '', NEW.amount FROM accounts a JOIN people p ON p.id = a.owner_id
  WHERE a.id = NEW.account_id AND a.owner_type = 'volunteer';
  RETURN NULL;
END $$;

CREATE FUNCTION tally_person() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF OLD.status = 'active' THEN
      {MOVE} VALUES ('volunteers', OLD.home_organisation_id, '', -1);
      IF OLD.approved_at IS NOT NULL THEN
        {MOVE} VALUES ('new_volunteers', OLD.home_organisation_id, {{old_month}}, -1);
      END IF;
    END IF;
    IF OLD.home_organisation_id <> NEW.home_organisation_id THEN
      {MOVE}
      SELECT 'points', h.home, '', h.sign * SUM(a.balance)
      FROM accounts a, (VALUES (OLD.home_organisation_id, -1), (NEW.home_organisation_id, 1)) h(home, sign)
      WHERE a.owner_type = 'volunteer' AND a.commodity = 'PTS' AND a.owner_id = NEW.id
      GROUP BY h.home, h.sign HAVING SUM(a.balance) <> 0;
    END IF;
  END IF;
  IF NEW.status = 'active' THEN
    {MOVE} VALUES ('volunteers', NEW.home_organisation_id, '', 1);
    IF NEW.approved_at IS NOT NULL THEN
      {MOVE} VALUES ('new_volunteers', NEW.home_organisation_id, {{new_month}}, 1);
    END IF;
  END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION tally_redemption() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND OLD.status = 'completed' THEN
    {MOVE}
    SELECT v.measure, s.organisation_id, {{old_created}}, v.amount
    FROM stations s, (VALUES ('redemptions', -1), ('redeemed_points', -OLD.points)) v(measure, amount)
    WHERE s.id = OLD.station_id AND v.amount <> 0;
  END IF;
  IF NEW.status = 'completed' THEN
    {MOVE}
    SELECT v.measure, s.organisation_id, {{new_created}}, v.amount
    FROM stations s, (VALUES ('redemptions', 1), ('redeemed_points', NEW.points)) v(measure, amount)
    WHERE s.id = NEW.station_id AND v.amount <> 0;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER postings_tally_points AFTER INSERT ON postings
  FOR EACH ROW WHEN (NEW.commodity = 'PTS') EXECUTE FUNCTION tally_points();
CREATE TRIGGER people_tally_insert AFTER INSERT ON people
  FOR EACH ROW WHEN (NEW.status = 'active') EXECUTE FUNCTION tally_person();
CREATE TRIGGER people_tally_update AFTER UPDATE OF status, approved_at, home_organisation_id ON people
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.approved_at IS DISTINCT FROM NEW.approved_at
                     OR OLD.home_organisation_id IS DISTINCT FROM NEW.home_organisation_id)
  EXECUTE FUNCTION tally_person();
CREATE TRIGGER redemptions_tally_insert AFTER INSERT ON redemptions
  FOR EACH ROW WHEN (NEW.status = 'completed') EXECUTE FUNCTION tally_redemption();
CREATE TRIGGER redemptions_tally_update AFTER UPDATE OF status, points, station_id, created_at ON redemptions
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.points IS DISTINCT FROM NEW.points
                     OR OLD.station_id IS DISTINCT FROM NEW.station_id OR OLD.created_at IS DISTINCT FROM NEW.created_at)
  EXECUTE FUNCTION tally_redemption();
"""

SQLITE_TRIGGERS = f"""
CREATE TRIGGER postings_tally_points AFTER INSERT ON postings FOR EACH ROW WHEN NEW.commodity = 'PTS' BEGIN
  {MOVE}
  SELECT 'points', p.home_organisation_id, '', NEW.amount FROM accounts a JOIN people p ON p.id = a.owner_id
  WHERE a.id = NEW.account_id AND a.owner_type = 'volunteer';
END;
CREATE TRIGGER people_tally_insert AFTER INSERT ON people FOR EACH ROW WHEN NEW.status = 'active' BEGIN
  {MOVE} VALUES ('volunteers', NEW.home_organisation_id, '', 1);
  {MOVE} SELECT 'new_volunteers', NEW.home_organisation_id, {{new_month}}, 1 WHERE NEW.approved_at IS NOT NULL;
END;
CREATE TRIGGER people_tally_update AFTER UPDATE OF status, approved_at, home_organisation_id ON people FOR EACH ROW
  WHEN OLD.status IS NOT NEW.status OR OLD.approved_at IS NOT NEW.approved_at OR OLD.home_organisation_id IS NOT NEW.home_organisation_id
BEGIN
  {MOVE} SELECT 'volunteers', OLD.home_organisation_id, '', -1 WHERE OLD.status = 'active';
  {MOVE} SELECT 'new_volunteers', OLD.home_organisation_id, {{old_month}}, -1 WHERE OLD.status = 'active' AND OLD.approved_at IS NOT NULL;
  {MOVE} SELECT 'volunteers', NEW.home_organisation_id, '', 1 WHERE NEW.status = 'active';
  {MOVE} SELECT 'new_volunteers', NEW.home_organisation_id, {{new_month}}, 1 WHERE NEW.status = 'active' AND NEW.approved_at IS NOT NULL;
  {MOVE}
  SELECT 'points', h.home, '', h.sign * SUM(a.balance)
  FROM accounts a, (SELECT OLD.home_organisation_id AS home, -1 AS sign UNION ALL SELECT NEW.home_organisation_id, 1) h
  WHERE OLD.home_organisation_id <> NEW.home_organisation_id
    AND a.owner_type = 'volunteer' AND a.commodity = 'PTS' AND a.owner_id = NEW.id
  GROUP BY h.home, h.sign HAVING SUM(a.balance) <> 0;
END;
CREATE TRIGGER redemptions_tally_insert AFTER INSERT ON redemptions FOR EACH ROW WHEN NEW.status = 'completed' BEGIN
  {MOVE} SELECT 'redemptions', organisation_id, {{new_created}}, 1 FROM stations WHERE id = NEW.station_id;
  {MOVE} SELECT 'redeemed_points', organisation_id, {{new_created}}, NEW.points FROM stations WHERE id = NEW.station_id AND NEW.points <> 0;
END;
CREATE TRIGGER redemptions_tally_update AFTER UPDATE OF status, points, station_id, created_at ON redemptions FOR EACH ROW
  WHEN OLD.status IS NOT NEW.status OR OLD.points IS NOT NEW.points OR OLD.station_id IS NOT NEW.station_id OR OLD.created_at IS NOT NEW.created_at
BEGIN
  {MOVE} SELECT 'redemptions', organisation_id, {{old_created}}, -1 FROM stations WHERE id = OLD.station_id AND OLD.status = 'completed';
  {MOVE} SELECT 'redeemed_points', organisation_id, {{old_created}}, -OLD.points FROM stations
    WHERE id = OLD.station_id AND OLD.status = 'completed' AND OLD.points <> 0;
  {MOVE} SELECT 'redemptions', organisation_id, {{new_created}}, 1 FROM stations WHERE id = NEW.station_id AND NEW.status = 'completed';
  {MOVE} SELECT 'redeemed_points', organisation_id, {{new_created}}, NEW.points FROM stations
    WHERE id = NEW.station_id AND NEW.status = 'completed' AND NEW.points <> 0;
END
"""

TRIGGERS = (
    ("postings_tally_points", "postings"), ("people_tally_insert", "people"), ("people_tally_update", "people"),
    ("redemptions_tally_insert", "redemptions"), ("redemptions_tally_update", "redemptions"),
)


def create_triggers() -> None:
    """The triggers that write a move for every change to a counted row, on both databases."""
    months = {"old_month": month("OLD.approved_at"), "new_month": month("NEW.approved_at"),
              "old_created": month("OLD.created_at"), "new_created": month("NEW.created_at")}
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTIONS.format(**months))
        return
    for statement in SQLITE_TRIGGERS.format(**months).split("\nEND;"):
        op.execute(statement.strip() + ("" if statement.strip().endswith("END") else "\nEND"))


def drop_triggers() -> None:
    """Undo create_triggers."""
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name, table in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}" if postgresql else f"DROP TRIGGER IF EXISTS {name}")
    if postgresql:
        for function in ("tally_points", "tally_person", "tally_redemption"):
            op.execute(f"DROP FUNCTION IF EXISTS {function}()")
