"""A database that cannot be reached is an outage, not a bug: 503 with Retry-After, logged once.

The engine's pool pings before each use and the request's session is new, so
the service picks the database up again by itself once it answers; the first
request that reaches it again logs the recovery.
"""

from __future__ import annotations

import sqlite3
import threading

from flask import Flask, current_app, g
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from timebank.errors import HTTP_EXPLANATIONS, error_response, handle_unexpected

RETRY_AFTER_SECONDS = 30
#: SQLite's own ways of saying the file cannot be used now (anything else from it is a bug).
SQLITE_OUTAGES = ("database is locked", "unable to open database file", "disk i/o error", "database or disk is full")


class OutageLog:
    """Remembers whether an outage is already logged, so a down database writes one line, not one per request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.down = False

    def failed(self, error: Exception) -> None:
        """Log the outage if it is news."""
        with self._lock:
            news, self.down = not self.down, True
        if news:
            current_app.logger.error("database unreachable; answering 503 until it is back: %s", _reason(error))

    def answered(self) -> None:
        """Log the recovery if the database had been down."""
        with self._lock:
            was_down, self.down = self.down, False
        if was_down:
            current_app.logger.warning("database reachable again")


def _reason(error: Exception) -> str:
    return " ".join(str(getattr(error, "orig", None) or error).split())[:300]


def is_outage(error: Exception) -> bool:
    """True when the database could not be reached or used, rather than a statement being wrong."""
    if not isinstance(error, (OperationalError, InterfaceError)):
        return False
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error.orig, sqlite3.Error):
        return any(phrase in str(error.orig).lower() for phrase in SQLITE_OUTAGES)
    return True  # psycopg's OperationalError: refused, reset, shut down, too many connections


def _log() -> OutageLog:
    return current_app.extensions["timebank.outage"]


def handle_database_error(error: Exception) -> ResponseReturnValue:
    """503 with Retry-After for an outage; anything else is a bug."""
    if not is_outage(error):
        return handle_unexpected(error)
    g.database_failed = True
    _log().failed(error)
    # The page's header asks who is signed in; with the database down, nobody is.
    g._login_user = current_app.login_manager.anonymous_user()
    body, status = error_response(503, "database_unavailable", gettext(HTTP_EXPLANATIONS[503]))
    return body, status, {"Retry-After": str(RETRY_AFTER_SECONDS)}


def note_answer(_exc: BaseException | None = None) -> None:
    """After a request that used the database without an outage: the database is answering."""
    if "db_session" in g and not g.get("database_failed") and _exc is None:
        _log().answered()


def init_app(app: Flask) -> None:
    """Register the handler and the recovery note."""
    app.extensions["timebank.outage"] = OutageLog()
    app.register_error_handler(OperationalError, handle_database_error)
    app.register_error_handler(InterfaceError, handle_database_error)
    app.teardown_request(note_answer)
