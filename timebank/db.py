"""Declarative base, column types and engine/session setup (no Flask here)."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import BigInteger, DateTime, Integer, MetaData, create_engine, event, inspect
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, configure_mappers, sessionmaker
from sqlalchemy.orm.attributes import instance_state, set_committed_value
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: 64-bit ids on PostgreSQL; SQLite's INTEGER PRIMARY KEY is already 64-bit.
BigId = BigInteger().with_variant(Integer(), "sqlite")

T = TypeVar("T")
SQLITE_BUSY_TIMEOUT_MS = 10_000
#: The `timebank_write` execution option of a transaction that reads before it writes (see `start_writing`).
READS_FIRST = "reads_first"


class Base(DeclarativeBase):
    """The one declarative base of every model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Stores UTC, returns timezone-aware UTC datetimes on every database."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; pass an aware UTC datetime")
        value = value.astimezone(dt.timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


def utcnow() -> dt.datetime:
    """The current time, aware, in UTC (only the edges call this; services take `now`)."""
    return dt.datetime.now(dt.timezone.utc)


def instance_of(session: Session, model: type[T], values: dict[str, Any]) -> T:
    """The session's object for a row read or written by a Core statement (all its columns in `values`): the one
    the session already holds, or one made from the row and put into its identity map as the ORM's loading does,
    without a query.

    The object held is brought up to the row, unless it has changes of its own not yet written: it may be one
    whose row a rolled-back savepoint took away, its id since given (on SQLite) to the row in `values`."""
    key = inspect(model).identity_key_from_primary_key((values["id"],))
    found = session.identity_map.get(key)
    if found is not None:
        if not inspect(found).modified:
            for name, value in values.items():
                set_committed_value(found, name, value)
        return found
    instance = loaded(model, values)
    # What loading does with a row it reads (sqlalchemy.orm.loading): the object is persistent in this session,
    # unchanged, its relationships unloaded (read on first use). `Session.add` would do the same by way of
    # `make_transient_to_detached`, which walks every attribute, and a save-update cascade over every
    # relationship: together they cost more than the statement that read the row.
    state = instance_state(instance)
    state.key, state.session_id = key, session.hash_key
    session.identity_map._add_unpresent(state, key)
    return instance


def loaded(model: type[T], values: dict[str, Any]) -> T:
    """An object of `model` holding a row's values as the ORM's loading makes it: no constructor, no change
    events (which cost more than the statement that read the row). The mappers are configured first, as a query
    would: in a fresh process this may be the first use of the ORM, and an unconfigured mapper has no attributes."""
    mapper = inspect(model)
    if not mapper.configured:
        configure_mappers()
    instance = mapper.class_manager.new_instance()
    instance.__dict__.update(values)
    return instance


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling would defeat BEGIN IMMEDIATE: turn it
    # off and let the "begin" listener below say how each transaction starts.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    # A write transaction takes the write lock up front, so it can never be
    # refused half-way when it upgrades from reading (SQLITE_BUSY_SNAPSHOT).
    # One that reads first takes it at its first write instead (see below).
    # Said to the driver itself, as `_take_write_lock` does: through the engine, with its execution
    # context and events, BEGIN cost as much as the statement it starts.
    mode = "IMMEDIATE" if conn.get_execution_options().get("timebank_write", True) is True else "DEFERRED"
    _say(conn, f"BEGIN {mode}")


def _say(conn: Any, statement: str) -> None:
    """Run a transaction statement on the driver's own connection, its errors wrapped as SQLAlchemy wraps a
    statement's: a write lock not had within the busy timeout, or a file that cannot be opened, is then the
    `OperationalError` the outage handler answers with 503, not a bare driver error and a 500."""
    try:
        conn.connection.driver_connection.execute(statement)
    except sqlite3.Error as exc:
        raise DBAPIError.instance(statement, None, exc, sqlite3.Error, dialect=conn.dialect) from exc


#: How a statement that writes begins (text() statements carry no flags saying so).
WRITING_WORDS = ("INSERT", "UPDATE", "DELETE", "REPLACE", "WITH")


def _sqlite_write_after_reading(conn: Any, _cursor: Any, statement: str, _parameters: Any, context: Any, _executemany: bool) -> None:
    # A transaction that reads first and now writes: its reads end, the write lock is taken.
    if conn.get_execution_options().get("timebank_write") != READS_FIRST:
        return
    flagged = context is not None and (context.isinsert or context.isupdate or context.isdelete)
    if flagged or statement.lstrip().upper().startswith(WRITING_WORDS):
        _take_write_lock(conn)


def _take_write_lock(conn: Any) -> None:
    """End a SQLite connection's read-only transaction and begin one that holds the write lock.

    Upgrading the read in place would be refused outright (SQLITE_BUSY_SNAPSHOT)
    whenever another connection wrote since it began; a new BEGIN IMMEDIATE
    waits its turn instead. What was read before is not re-read: the statements
    that write check what must still hold (as on PostgreSQL, where each
    statement sees what others committed before it).
    """
    if conn.in_nested_transaction():
        raise RuntimeError("a savepoint taken before the first write would be lost: call start_writing() first")
    if conn.connection.driver_connection.in_transaction:
        _say(conn, "COMMIT")  # nothing was written: this only ends the read
    _say(conn, "BEGIN IMMEDIATE")
    conn.execution_options(timebank_write=True)


def start_writing(session: Session) -> None:
    """Take the write lock now, in a session that reads first, so the reads from here on are
    serialised with the writes that depend on them (a limit checked, then used).

    On SQLite a request that reads first (`Database.session(reads_first=True)`)
    does its reads without the write lock, so other workers write meanwhile; the
    lock is taken at the first write, or here. Anything read earlier may have
    changed since: what matters is read again, or checked by the write itself.
    Elsewhere (PostgreSQL) there is no such lock and this does nothing.
    """
    bind = session.get_bind()
    if bind.dialect.name != "sqlite" or bind.get_execution_options().get("timebank_write") != READS_FIRST:
        return
    connection = session.connection()
    if connection.get_execution_options().get("timebank_write") == READS_FIRST:
        _take_write_lock(connection)


def _create_private(path: Path) -> None:
    """Create the database file readable by its owner only (0600, like the keys); SQLite gives its -wal and -shm files the same mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    """An engine for `url`: SQLite with WAL, foreign keys and busy timeout, or PostgreSQL via psycopg 3."""
    url = make_url(url)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            _create_private(Path(url.database))
        kwargs.setdefault("connect_args", {}).update(
            check_same_thread=False, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000
        )
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        event.listen(engine, "before_cursor_execute", _sqlite_write_after_reading)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


class Database:
    """One engine and the session factories bound to it."""

    def __init__(self, url: str | URL, **engine_kwargs: Any) -> None:
        self.engine = make_engine(url, **engine_kwargs)
        self.write_session = sessionmaker(bind=self.engine, expire_on_commit=False)
        reader = self.engine.execution_options(timebank_write=False)
        self.read_session = sessionmaker(bind=reader, expire_on_commit=False)
        self.reads_first_session = sessionmaker(bind=self.engine.execution_options(timebank_write=READS_FIRST), expire_on_commit=False)

    @property
    def dialect(self) -> str:
        """'sqlite' or 'postgresql'."""
        return self.engine.dialect.name

    def session(self, *, write: bool = True, reads_first: bool = False) -> Session:
        """A new session; on SQLite a write session starts with BEGIN IMMEDIATE, or, if it reads first,
        takes the write lock at its first write or `start_writing`."""
        if not write:
            return self.read_session()
        return self.reads_first_session() if reads_first else self.write_session()

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
