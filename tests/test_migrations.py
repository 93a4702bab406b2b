"""Migrations and models agree, on both databases, and migrations run both ways."""

from __future__ import annotations

import re

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from timebank.ledger.verify import APPEND_ONLY_TRIGGERS, installed_triggers
from timebank.migrate import MIGRATIONS, downgrade, metadata, upgrade


def autogenerate_diff(db) -> list:
    """What Alembic would generate to make the database match the models."""
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, metadata())


def test_migrated_database_matches_the_models(db):
    assert autogenerate_diff(db) == []


def test_migrations_go_down_to_nothing_and_back_up(db):
    downgrade(db.engine, "base")
    with db.engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
    upgrade(db.engine)
    assert autogenerate_diff(db) == []
    with db.session() as session:
        assert installed_triggers(session) >= APPEND_ONLY_TRIGGERS[db.dialect]


def test_migration_files_are_named_by_date_revision_and_slug():
    names = [p.name for p in (MIGRATIONS / "versions").glob("*.py")]
    assert names
    for name in names:
        assert re.fullmatch(r"\d{8}_\d{4}_[0-9a-f]{12}_[a-z0-9_]+\.py", name), name
