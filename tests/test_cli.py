"""The `timebank` command: migrations, demo data, ledger verification, export and hold expiry, serving."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.cli import ScriptInfo
from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session

import timebank.cli
from timebank import ledger
from timebank.app import create_app
from timebank.cli import main, pending_migrations
from timebank.db import Database, utcnow
from timebank.demo import DEMO_FLAG
from timebank.jobs.embedded import GRACE_SECONDS as WORKER_GRACE_S
from timebank.ledger import Account, Hold, Kind, Posting, Transaction, rules
from timebank.meta import get_meta
from timebank.migrate import upgrade

BEAN_CHECK = Path(sys.executable).with_name("bean-check")
TIMEBANK = Path(sys.executable).with_name("timebank")
HLEDGER = shutil.which("hledger")
LEDGER_TABLES = {"accounts", "transactions", "postings", "holds", "meta", "alembic_version"}
SQLITE_TRIGGERS = {"transactions_no_update", "transactions_no_delete", "postings_no_update", "postings_no_delete"}


def invoke(app: Flask, *args: str) -> Result:
    """Run a `timebank` command against `app`, as the console script would."""
    return CliRunner().invoke(main, list(args), obj=ScriptInfo(create_app=lambda: app))


@pytest.fixture
def empty_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """The service on a SQLite file no migration has touched yet."""
    monkeypatch.setenv("TIMEBANK_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(
        {"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "SECRET_KEY": "x"}
    )
    yield app
    app.extensions["timebank.database"].dispose()


@pytest.fixture
def posted(session: Session, ledger_setup, credit) -> Transaction:
    """A small real ledger: two credits and a redemption, committed; returns the first credit."""
    ledger_setup()
    first = credit(1, minutes=120, points=20)
    credit(2, minutes=45, points=5)
    ledger.post(
        session, rules.redemption_legs(1, 7, 15), kind=Kind.REDEMPTION, idempotency_key="cli:redeem",
        actor=1, memo='兑换 "大米"; 5kg | 驿站', now=utcnow(),
    )
    session.commit()
    return first


def table_names(database: Database) -> set[str]:
    """The tables the database holds now."""
    with database.engine.connect() as conn:
        return set(inspect(conn).get_table_names())


def history(database: Database) -> tuple[list[tuple], list[tuple]]:
    """What the ledger says, without the moments it was recorded: entries in order and account balances."""
    with database.session(write=False) as s:
        entries = s.execute(
            select(Transaction.idempotency_key, Transaction.kind, Transaction.memo).order_by(Transaction.id)
        ).all()
        balances = s.execute(select(Account.code, Account.balance, Account.held).order_by(Account.code)).all()
    return [tuple(row) for row in entries], [tuple(row) for row in balances]


def counts(database: Database) -> tuple[int, int, int]:
    """How many accounts, transactions and postings there are."""
    with database.session(write=False) as s:
        return tuple(
            s.scalar(select(func.count()).select_from(model)) for model in (Account, Transaction, Posting)
        )


def test_db_upgrade_creates_the_ledger_tables_in_an_empty_database(empty_app):
    """On an empty SQLite file, `db upgrade` builds the tables and their append-only triggers."""
    database = empty_app.extensions["timebank.database"]
    assert table_names(database) == set()
    assert pending_migrations(database)

    result = invoke(empty_app, "db", "upgrade")

    assert result.exit_code == 0, result.output
    assert result.stdout == "database at head\n"
    assert LEDGER_TABLES <= table_names(database)
    with database.engine.connect() as conn:
        triggers = {row[0] for row in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    assert SQLITE_TRIGGERS <= triggers
    assert not pending_migrations(database)
    verified = invoke(empty_app, "ledger", "verify")
    assert verified.exit_code == 0, verified.output
    assert verified.stdout == "ledger clean: 0 accounts, 0 transactions, 0 postings\nseals: 0 transactions sealed, 0 unsealed\n"


def test_serve_refuses_while_migrations_are_pending(empty_app, monkeypatch):
    """An unmigrated database stops `serve` with a message saying what to run; gunicorn never starts."""
    started = []
    monkeypatch.setattr(timebank.cli.os, "execv", lambda *args: started.append(args))

    result = invoke(empty_app, "serve", "--port", "8999", "--workers", "1")

    assert result.exit_code == 1, result.output
    assert "The database is not up to date: run `timebank db upgrade` first." in result.stderr
    assert started == []
    assert table_names(empty_app.extensions["timebank.database"]) == set()


def test_demo_builds_a_clean_ledger_and_running_it_again_rebuilds_the_same_one(run_cli, db):
    """`demo` makes a history `ledger verify` calls clean; a second run replaces it with the same history, not a second copy."""
    first = run_cli("demo", "--volunteers", "15", "--days", "10")
    assert first.exit_code == 0, first.output
    assert first.stdout.startswith("demo ready: 15 volunteers, ")
    built = history(db)
    accounts, transactions, postings = counts(db)
    assert transactions > 100

    verified = run_cli("ledger", "verify")
    again = run_cli("demo", "--volunteers", "15", "--days", "10")

    assert verified.exit_code == 0, verified.output
    clean, sealed = verified.stdout.splitlines()
    assert clean == f"ledger clean: {accounts} accounts, {transactions} transactions, {postings} postings"
    assert sealed.startswith(f"seals: {transactions} transactions sealed, 0 unsealed; head seal {transactions} ")
    assert again.exit_code == 0, again.output
    assert counts(db) == (accounts, transactions, postings)
    assert history(db) == built
    assert run_cli("ledger", "verify").exit_code == 0


def test_demo_refuses_a_database_holding_records_that_are_not_demo_data(session, posted, run_cli, db):
    """Real records are never overwritten: a clear refusal, a non-zero exit, and the ledger untouched."""
    before = history(db)
    session.rollback()

    result = run_cli("demo", "--volunteers", "15", "--days", "10")

    assert result.exit_code == 1, result.output
    assert "holds records that are not demo data" in result.stderr
    assert "demo ready" not in result.output
    assert history(db) == before
    assert session.scalar(select(Transaction.idempotency_key).where(Transaction.id == posted.id)) is not None
    assert get_meta(session, DEMO_FLAG) is None


def test_demo_refuses_a_database_holding_accounts_but_no_transactions_yet(session, ledger_setup, run_cli, db):
    """Volunteers' accounts opened before their first credit are real records too."""
    ledger_setup()
    before = history(db)
    session.rollback()

    result = run_cli("demo", "--volunteers", "15", "--days", "10")

    assert result.exit_code == 1, result.output
    assert history(db) == before


def test_demo_with_a_handful_of_volunteers_builds_a_clean_ledger(run_cli):
    """A small demo is as valid as a large one."""
    result = run_cli("demo", "--volunteers", "5", "--days", "3")

    assert result.exit_code == 0, result.output
    assert run_cli("ledger", "verify").exit_code == 0


def test_ledger_export_writes_a_beancount_file_that_bean_check_accepts(posted, run_cli, tmp_path):
    """`--output` gets the whole journal (and no half-written scratch file is left behind)."""
    target = tmp_path / "out" / "ledger.beancount"
    target.parent.mkdir()

    result = run_cli("ledger", "export", "--format", "beancount", "--output", str(target))

    assert result.exit_code == 0, result.output
    assert result.stderr == f"wrote {target}\n"
    assert result.stdout == ""
    assert sorted(p.name for p in target.parent.iterdir()) == ["ledger.beancount"]
    journal = target.read_text(encoding="utf-8")
    assert f"  txn: {posted.id}\n" in journal
    assert '"兑换 \\"大米\\"; 5kg | 驿站"' in journal
    checked = subprocess.run([str(BEAN_CHECK), str(target)], capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_ledger_export_prints_an_hledger_journal_to_standard_output(posted, run_cli, tmp_path):
    """Without `--output` the journal goes to standard output and nothing else does."""
    result = run_cli("ledger", "export", "--format", "hledger")

    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    journal = result.stdout
    assert journal.startswith("; timebank ledger export (hledger).")
    assert "commodity 1. MIN" in journal
    assert "account Assets:Vol:1:HOUR  ; code: vol:1:HOUR\n" in journal
    assert f"* service_credit |   ; txn:{posted.id}, actor:1\n" in journal
    assert "* redemption | 兑换 \"大米\", 5kg / 驿站  ; txn:" in journal
    assert "    Assets:Vol:1:PTS  0 PTS = 5 PTS\n" in journal
    if HLEDGER is not None:
        path = tmp_path / "stdout.journal"
        path.write_text(journal, encoding="utf-8")
        env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
        checked = subprocess.run(
            [HLEDGER, "-f", str(path), "check", "accounts", "commodities"],
            capture_output=True, text=True, timeout=120, env=env,
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr


def test_ledger_export_refuses_an_unknown_format(posted, run_cli, tmp_path):
    """click rejects the format before anything is written."""
    target = tmp_path / "ledger.txt"

    result = run_cli("ledger", "export", "--format", "ledger", "--output", str(target))

    assert result.exit_code == 2
    assert "Invalid value for '--format'" in result.stderr
    assert "'beancount'" in result.stderr and "'hledger'" in result.stderr
    assert not target.exists()


def test_ledger_expire_holds_expires_a_past_due_hold_and_frees_the_held_amount(session, posted, run_cli):
    """A hold past its expiry is marked expired and its minutes become spendable; one still running stays."""
    code = rules.volunteer_code(1, ledger.Commodity.HOUR)
    moment = utcnow()
    due = ledger.hold(
        session, code, 60, actor=1, now=moment - dt.timedelta(hours=2),
        expires_at=moment - dt.timedelta(hours=1), idempotency_key="cli:hold:due",
    )
    running = ledger.hold(
        session, code, 30, actor=1, now=moment - dt.timedelta(hours=2),
        expires_at=moment + dt.timedelta(days=1), idempotency_key="cli:hold:running",
    )
    session.commit()
    assert ledger.balance(session, code).available == 30
    session.rollback()

    result = run_cli("ledger", "expire-holds")

    assert result.exit_code == 0, result.output
    assert result.stdout == "1 hold(s) expired\n"
    statuses = dict(session.execute(select(Hold.id, Hold.status).where(Hold.id.in_([due.id, running.id]))).all())
    assert statuses == {due.id: "expired", running.id: "open"}
    assert ledger.balance(session, code) == ledger.Balance(posted=120, held=30)
    assert list(ledger.verify(session)) == []


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get_json(url: str) -> tuple[int, dict] | None:
    """The status and JSON body at `url`, or None while nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read())
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def stop(proc: subprocess.Popen) -> None:
    """Ask the server to shut down gracefully; kill its whole process group if it does not.

    It is given longer than the job queue worker beside it may take to finish its job (`embedded.stop_worker`'s
    grace), so a shutdown still within its bounds on a loaded machine is never cut short and called a failure.
    """
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=WORKER_GRACE_S + 10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.mark.slow
@pytest.mark.parametrize("how", [["--workers", "1"], ["--dev"]], ids=["gunicorn", "dev"])
def test_the_console_script_serves_healthz_with_a_generated_secret_key(tmp_path, how):
    """`timebank serve` (gunicorn, or the dev server) on the migrated database answers /healthz and keeps its own 0600 secret key."""
    database_file = tmp_path / "timebank.db"
    database = Database(f"sqlite:///{database_file}")
    upgrade(database.engine)
    database.dispose()
    instance = tmp_path / "instance"
    env = {key: value for key, value in os.environ.items() if not key.startswith("TIMEBANK_")}
    env.update(TIMEBANK_DATABASE_URL=f"sqlite:///{database_file}", TIMEBANK_INSTANCE_PATH=str(instance))
    port = free_port()
    url = f"http://127.0.0.1:{port}/healthz"
    log_path = tmp_path / "serve.log"

    with log_path.open("wb") as log, subprocess.Popen(
        [str(TIMEBANK), "serve", "--port", str(port), *how],
        env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    ) as proc:
        try:
            answer = None
            deadline = time.monotonic() + 60  # a loaded machine starts Python slowly
            while answer is None and time.monotonic() < deadline:
                assert proc.poll() is None, log_path.read_text(errors="replace")
                answer = get_json(url)
                if answer is None:
                    time.sleep(0.2)
            assert answer is not None, "no answer within 60 s:\n" + log_path.read_text(errors="replace")
            status, body = answer
            assert status == 200, body
            assert body["status"] == "ok" and body["database"] == "reachable"
            secret = instance / "secret_key"
            assert stat.S_IMODE(secret.stat().st_mode) == 0o600
            assert len(secret.read_text().strip()) >= 32
        finally:
            stop(proc)
        assert proc.returncode in ((0,) if how != ["--dev"] else (0, -signal.SIGTERM)), log_path.read_text(errors="replace")
    with pytest.raises(ProcessLookupError):  # no gunicorn worker (or reloaded child) outlived its master
        os.killpg(proc.pid, 0)
