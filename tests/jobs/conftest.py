"""A real consumer process (`timebank worker`) on a SQLite or Redis queue, beside an app that sends it jobs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask

import tests.jobs.sample_jobs  # noqa: F401  (registers the sample jobs in this process too)
from timebank.app import create_app
from timebank.db import Database
from timebank.jobs.queue import queue_of

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("TIMEBANK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def db(sqlite_db: Database) -> Database:
    """The queue is what these tests are about: SQLite is the database."""
    return sqlite_db


def require_redis() -> str:
    """Redis's URL; skips without Redis, except where CI requires it (TIMEBANK_REQUIRE_REDIS=1)."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception as exc:  # any failure to reach it means: no Redis here
        if os.environ.get("TIMEBANK_REQUIRE_REDIS") == "1":
            pytest.fail(f"Redis is required (TIMEBANK_REQUIRE_REDIS=1) but unreachable at {REDIS_URL}: {exc}")
        pytest.skip(f"Redis not reachable at {REDIS_URL} ({type(exc).__name__})")
    return REDIS_URL


@pytest.fixture(params=["sqlite", "redis"])
def queue_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The queue's backend: a SqliteHuey file, or Redis."""
    if request.param == "redis":
        return require_redis()
    return f"sqlite:///{tmp_path / 'queue.db'}"


@dataclass
class Worker:
    """Starts, kills and stops `timebank worker` processes on the test's queue."""

    env: dict[str, str]
    log: Path
    procs: list[subprocess.Popen]

    def start(self) -> subprocess.Popen:
        """A consumer process of its own session (so that a kill takes it whole)."""
        code = "import tests.jobs.sample_jobs; from timebank.cli import main; main()"
        with self.log.open("ab") as out:
            proc = subprocess.Popen([sys.executable, "-c", code, "worker", "--workers", "1"], env=self.env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen) -> None:
        """SIGKILL: the worker gets no chance to say anything."""
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def stop_all(self) -> None:
        """Kill whatever still runs: the tests are over, nothing is waited for."""
        for proc in self.procs:
            if proc.poll() is None:
                self.kill(proc)


@pytest.fixture
def queued_app(db: Database, queue_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """The app on a real queue (not immediate): jobs wait for a consumer."""
    name = f"test-{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("TIMEBANK_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({
        "TESTING": True, "DATABASE_URL": db.engine.url.render_as_string(hide_password=False), "SECRET_KEY": "test-only-secret",
        "DATA_KEY": "test-only-data-key", "RATELIMIT_ENABLED": False, "QUEUE_URL": queue_url, "QUEUE_NAME": name,
    })
    yield app
    queue_of(app).huey.storage.flush_all()
    app.extensions["timebank.database"].dispose()


@pytest.fixture
def worker(queued_app: Flask, tmp_path: Path) -> Iterator[Worker]:
    """Consumers for the queued app's database and queue, stopped at the end."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("TIMEBANK_")}
    env.update(
        PYTHONPATH=str(ROOT), TIMEBANK_DATABASE_URL=queued_app.config["DATABASE_URL"], TIMEBANK_INSTANCE_PATH=queued_app.instance_path,
        TIMEBANK_SECRET_KEY="test-only-secret", TIMEBANK_DATA_KEY="test-only-data-key",
        TIMEBANK_QUEUE_URL=queued_app.config["QUEUE_URL"], TIMEBANK_QUEUE_NAME=queued_app.config["QUEUE_NAME"],
        TIMEBANK_CERTIFY_BATCH_CHUNK="5",
    )
    found = Worker(env, tmp_path / "worker.log", [])
    yield found
    found.stop_all()


def wait_for(condition: Callable[[], object], *, timeout: float = 60, log: Path | None = None) -> object:
    """Poll until `condition()` is truthy; its value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    detail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    raise AssertionError(f"not within {timeout} s\n{detail}")


@pytest.fixture
def run_cli_on() -> Callable[..., object]:
    """Runs a `timebank` command against a given app, as the console script would."""
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from timebank.cli import main

    def run(app: Flask, *args: str):
        return CliRunner().invoke(main, list(args), obj=ScriptInfo(create_app=lambda: app))

    return run
