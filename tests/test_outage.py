"""A database outage answers 503 with Retry-After, is logged once, and ends without a restart."""

from __future__ import annotations

import logging
import socket
import sqlite3
import threading

import pytest
from sqlalchemy.engine import make_url

from timebank.app import create_app
from timebank.orgs.services import create_organisation
from timebank.people.idnumbers import IdVault
from timebank.people.services import approve, register
from tests.conftest import NOW, PASSWORD, SYSTEM, signed_in


class Relay:
    """A TCP relay in front of PostgreSQL that the test can cut and mend, like a network outage."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.links: list[socket.socket] = []
        self.listener: socket.socket | None = None

    def mend(self) -> None:
        """Listen again on the same port and pass connections through."""
        self.listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def cut(self) -> None:
        """Stop listening and drop every open connection."""
        for link in [self.listener, *self.links]:
            try:
                link.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            link.close()
        self.links.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                near, _ = listener.accept()
            except OSError:
                return
            far = socket.create_connection(self.target)
            self.links += [near, far]
            for a, b in ((near, far), (far, near)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass


@pytest.mark.postgres
def test_postgresql_down_answers_503_logs_once_and_recovers_without_restart(postgres_db, tmp_path, monkeypatch, caplog):
    url = postgres_db.engine.url
    relay = Relay((url.host, url.port or 5432))
    relay.mend()
    monkeypatch.setenv("TIMEBANK_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({
        "DATABASE_URL": make_url(url).set(port=relay.port).render_as_string(hide_password=False),
        "SECRET_KEY": "test-only-secret", "DATA_KEY": "test-only-data-key", "RATELIMIT_ENABLED": False,
    })
    client = app.test_client()
    with postgres_db.session() as session:
        community = create_organisation(session, name="东城社区", level="community", parent_id=None, actor=SYSTEM, now=NOW)
        data = {"phone": "13800000001", "password": PASSWORD, "real_name": "王秀英", "home_organisation_id": community.id, "privacy_consent": True}
        person = register(session, data, actor=None, vault=IdVault("test-only-data-key"), now=NOW)
        approve(session, person.id, actor=SYSTEM, now=NOW)
        session.commit()
    try:
        volunteer = signed_in(app, person)
        assert client.get("/register").status_code == 200  # the form lists the communities: it reads the database

        relay.cut()
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="timebank"):
            answers = [client.get("/register"), volunteer.get("/me"), client.get("/register", headers={"Accept": "application/json"})]
        assert [a.status_code for a in answers] == [503, 503, 503]
        assert all(a.headers["Retry-After"] == "30" for a in answers)
        assert answers[2].get_json()["code"] == "database_unavailable"
        assert "数据库" in answers[0].get_data(as_text=True)
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1 and "database unreachable" in errors[0].getMessage()
        assert not any(r.exc_info for r in caplog.records)

        relay.mend()
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="timebank"):
            assert client.get("/register").status_code == 200
            assert volunteer.get("/me").status_code == 200
        assert [r.getMessage() for r in caplog.records] == ["database reachable again"]
    finally:
        app.extensions["timebank.database"].dispose()
        relay.cut()


def test_a_wrong_statement_on_sqlite_is_still_a_bug(app, client, caplog):
    from sqlalchemy import text

    from timebank.web import db_session

    @app.get("/broken-for-test")
    def broken():
        db_session().execute(text("SELECT * FROM no_such_table"))

    with caplog.at_level(logging.ERROR, logger="timebank"):
        assert client.get("/broken-for-test").status_code == 500
    assert any(r.exc_info for r in caplog.records)


def test_a_sqlite_write_lock_not_had_in_time_answers_503_not_500(sqlite_db, tmp_path, monkeypatch, caplog):
    # Each request's BEGIN IMMEDIATE goes to the driver directly: waiting past the busy timeout (an import or the
    # nightly grading holding the lock) must still be the outage answer, not an unhandled driver error.
    monkeypatch.setattr("timebank.db.SQLITE_BUSY_TIMEOUT_MS", 200)
    monkeypatch.setenv("TIMEBANK_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({
        "DATABASE_URL": sqlite_db.engine.url.render_as_string(hide_password=False),
        "SECRET_KEY": "test-only-secret", "DATA_KEY": "test-only-data-key", "RATELIMIT_ENABLED": False,
    })
    holder = sqlite3.connect(sqlite_db.engine.url.database, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with caplog.at_level(logging.INFO, logger="timebank"):
            answer = app.test_client().post("/api/v1/session", json={"phone": "13800000001", "password": PASSWORD})
        assert answer.status_code == 503, answer.get_data(as_text=True)
        assert answer.headers["Retry-After"] == "30" and answer.get_json()["code"] == "database_unavailable"
        assert not any(r.exc_info for r in caplog.records)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        app.extensions["timebank.database"].dispose()
    assert app.test_client().post("/api/v1/session", json={"phone": "13800000001", "password": PASSWORD}).status_code in (401, 422)
