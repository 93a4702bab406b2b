"""A request that reads first: on SQLite it holds the write lock only from its first write to its commit."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import select, text, update

from timebank.db import Database, start_writing
from timebank.orgs.models import Organisation
from tests.conftest import NOW


@pytest.fixture
def org(sqlite_db: Database) -> int:
    """An organisation to read and rename, committed."""
    with sqlite_db.session() as session:
        organisation = Organisation(name="东城社区", level="community", path="/1/", created_at=NOW)
        session.add(organisation)
        session.commit()
        return organisation.id


def other_writer(database: Database, *, wait_seconds: float = 10.0) -> sqlite3.Connection:
    """Another process's connection to the same file, in autocommit mode (it says BEGIN itself)."""
    connection = sqlite3.connect(database.engine.url.database, timeout=wait_seconds, isolation_level=None)
    connection.execute("PRAGMA busy_timeout = %d" % int(wait_seconds * 1000))
    return connection


def test_its_reads_go_on_while_another_connection_holds_the_write_lock(sqlite_db, org):
    writer = other_writer(sqlite_db)
    writer.execute("BEGIN IMMEDIATE")
    try:
        with sqlite_db.session(reads_first=True) as session:
            assert session.scalar(select(Organisation.name).where(Organisation.id == org)) == "东城社区"
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_its_first_write_waits_its_turn_though_another_wrote_since_it_read(sqlite_db, org):
    """Upgrading the read in place would be refused outright (SQLITE_BUSY_SNAPSHOT): it begins anew instead."""
    writer = other_writer(sqlite_db)
    with sqlite_db.session(reads_first=True) as session:
        assert session.scalar(select(Organisation.name).where(Organisation.id == org)) == "东城社区"
        writer.execute("UPDATE organisations SET name = '西城社区' WHERE id = ?", (org,))  # committed after the read began
        session.execute(update(Organisation).where(Organisation.id == org).values(level="street"))
        session.commit()
    writer.close()
    with sqlite_db.session(write=False) as session:
        assert session.execute(select(Organisation.name, Organisation.level).where(Organisation.id == org)).one() == ("西城社区", "street")


def test_a_plain_write_session_refuses_the_same_upgrade_so_the_test_above_means_something(sqlite_db, org):
    writer = other_writer(sqlite_db)
    with sqlite_db.session(write=False) as session:
        session.scalar(select(Organisation.name).where(Organisation.id == org))
        writer.execute("UPDATE organisations SET name = '西城社区' WHERE id = ?", (org,))
        with pytest.raises(Exception, match="database is locked"):
            session.execute(update(Organisation).where(Organisation.id == org).values(level="street"))
    writer.close()


@pytest.mark.parametrize("write", ["core", "text"])
def test_the_first_write_of_any_kind_takes_the_write_lock(sqlite_db, org, write):
    with sqlite_db.session(reads_first=True) as session:
        session.scalar(select(Organisation.name).where(Organisation.id == org))
        if write == "core":
            session.execute(update(Organisation).where(Organisation.id == org).values(level="street"))
        else:
            session.execute(text("UPDATE organisations SET level = 'street' WHERE id = :id"), {"id": org})
        assert _locked_out(sqlite_db)
        session.commit()
    assert not _locked_out(sqlite_db)


def test_start_writing_takes_the_write_lock_before_the_reads_that_decide(sqlite_db, org):
    with sqlite_db.session(reads_first=True) as session:
        session.scalar(select(Organisation.name).where(Organisation.id == org))
        assert not _locked_out(sqlite_db)
        start_writing(session)
        assert _locked_out(sqlite_db)
        start_writing(session)  # once is enough; again does nothing
        session.scalar(select(Organisation.name).where(Organisation.id == org))
        session.rollback()
    assert not _locked_out(sqlite_db)


def test_start_writing_in_a_session_that_did_not_read_first_changes_nothing(db):
    with db.session() as session:
        session.execute(select(1))
        start_writing(session)
        assert session.execute(select(1)).scalar() == 1


def _locked_out(database: Database) -> bool:
    """True if another connection cannot take the write lock now."""
    writer = other_writer(database, wait_seconds=0.05)
    try:
        writer.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError:
        return True
    finally:
        writer.close()
    return False
