"""Sign-in throttling that holds across gunicorn workers and hosts, and that strangers cannot turn against the owner.

Two limits, shared by the sign-in form and the API's sign-in:

- per account *and* address (5 a minute, 30 an hour): guessing one person's
  password from one place stops quickly, while failures from any other address
  leave the owner's own alone, so no stranger can lock the owner out;
- per address (20 a minute) across all accounts: one place trying many
  phone numbers stops too.

Counters live in a store every worker shares: Redis in production
(`redis://…`), and on the embedded default a small SQLite file in the
instance folder (`timebank+sqlite://`), which every worker on the host opens.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from urllib.parse import urlsplit

from flask import g, request
from flask_limiter.util import get_remote_address
from limits.storage import Storage

PER_ACCOUNT_AND_ADDRESS = "5 per minute;30 per hour"
PER_ADDRESS = "20 per minute"


def sign_in_phone() -> str:
    """The phone number being signed in to, from the form or the API's JSON, spaces removed."""
    # An API body was read once, bounded, before the view (openapi.require_json); the stream is spent by now.
    body = g.get("json_body")
    phone = (body.get("phone") if isinstance(body, dict) else None) or request.form.get("phone") or ""
    return "".join(str(phone).split())


def account_and_address() -> str:
    """The throttling key of one account tried from one address."""
    return f"{sign_in_phone()}@{get_remote_address()}"


def default_storage_uri(instance_path: str) -> str:
    """The embedded default's store: a SQLite file beside the database, shared by the host's workers."""
    return f"timebank+sqlite:///{os.path.join(os.path.abspath(instance_path), 'ratelimits.db')}"


class SQLiteStorage(Storage):
    """A `limits` store on a SQLite file: every process that opens the file shares the counters.

    Each increment is one short `BEGIN IMMEDIATE` transaction, so concurrent
    workers never lose a count; expired counters are swept as it goes.
    """

    STORAGE_SCHEME = ["timebank+sqlite"]

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options: float | str | bool) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.path = urlsplit(uri).path
        self._local = threading.local()

    @property
    def base_exceptions(self) -> type[Exception]:
        return sqlite3.Error

    def _connection(self) -> sqlite3.Connection:
        # One connection per process and thread: gunicorn forks after the app is built.
        if getattr(self._local, "pid", None) != os.getpid():
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            db = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            # Opened on first use, not at start-up: commands that never sign anyone in leave no file.
            db.execute("CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, count INTEGER NOT NULL, expires_at REAL NOT NULL)")
            db.execute("CREATE INDEX IF NOT EXISTS counters_expiry ON counters (expires_at)")
            self._local.db, self._local.pid = db, os.getpid()
        return self._local.db

    def _transaction(self) -> _Immediate:
        return _Immediate(self._connection())

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        with self._transaction() as db:
            db.execute("DELETE FROM counters WHERE expires_at <= ?", (now,))
            (count,) = db.execute(
                "INSERT INTO counters (key, count, expires_at) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET count = count + excluded.count RETURNING count",
                (key, amount, now + expiry),
            ).fetchone()
        return count

    def get(self, key: str) -> int:
        row = self._connection().execute("SELECT count FROM counters WHERE key = ? AND expires_at > ?", (key, time.time())).fetchone()
        return row[0] if row else 0

    def get_expiry(self, key: str) -> float:
        row = self._connection().execute("SELECT expires_at FROM counters WHERE key = ?", (key,)).fetchone()
        return row[0] if row else time.time()

    def check(self) -> bool:
        try:
            self._connection().execute("SELECT 1")
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int | None:
        with self._transaction() as db:
            return db.execute("DELETE FROM counters").rowcount

    def clear(self, key: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM counters WHERE key = ?", (key,))


class _Immediate:
    """A write transaction that takes SQLite's write lock up front."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, kind: object, *_: object) -> None:
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")
