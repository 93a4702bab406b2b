"""The app's huey: SqliteHuey in the instance folder by default, RedisHuey for `redis://` URLs; every signal written to `jobs`."""

from __future__ import annotations

import datetime as dt
import importlib
import json
import logging
import os
import socket
import sqlite3
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from huey import RedisHuey
from huey import signals as S
from huey.api import Huey, Task, TaskWrapper
from huey.storage import SqliteStorage

from timebank.db import Database, utcnow
from timebank.jobs import services
from timebank.jobs.models import Job, JobStatus
from timebank.jobs.registry import SPECS, Spec

log = logging.getLogger(__name__)


def worker_name() -> str:
    """This process as the jobs table names it: host:pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


class QueueFile(SqliteStorage):
    """huey's SQLite queue, synchronised as the app's database is: WAL with synchronous=NORMAL (no fsync per job; safe from corruption)."""

    def _create_connection(self) -> sqlite3.Connection:
        conn = super()._create_connection()
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn


def make_huey(url: str | None, instance_path: str, *, name: str = "timebank", immediate: bool = False) -> Huey:
    """The queue's storage the URL asks for: none (a SQLite file in the instance folder), sqlite:///FILE or redis://…."""
    if url and url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(name, url=url, results=False, utc=True, immediate=immediate)
    if url and not url.startswith("sqlite:///"):
        raise ValueError(f"TIMEBANK_QUEUE_URL must be redis://… or sqlite:///FILE, not {url!r}")
    filename = url.removeprefix("sqlite:///") if url else str(Path(instance_path) / "queue.db")
    if not immediate:
        Path(filename).parent.mkdir(parents=True, exist_ok=True)
    return Huey(name, storage_class=QueueFile, filename=filename, results=False, utc=True, immediate=immediate)


class Queue:
    """The app's queue: its huey with every registered job bound to the app, and the signals kept in `jobs`."""

    def __init__(self, app: Flask, huey: Huey) -> None:
        self.app, self.huey = app, huey
        self.tasks: dict[str, TaskWrapper] = {}
        for spec in SPECS.values():
            self.tasks[spec.name] = self._bind(spec)
        huey.signal()(self._signalled)

    @property
    def database(self) -> Database:
        return self.app.extensions["timebank.database"]

    def _bind(self, spec: Spec) -> TaskWrapper:
        app = self.app

        def run(*args: Any) -> Any:
            with app.app_context():
                return spec.fn(*args)

        run.__name__ = spec.name.replace(".", "_")
        if spec.schedule is not None:
            return self.huey.periodic_task(spec.schedule, retries=spec.retries, retry_delay=spec.retry_delay, retry_backoff=2, name=spec.name)(run)
        return self.huey.task(retries=spec.retries, retry_delay=spec.retry_delay, retry_backoff=2, name=spec.name)(run)

    def enqueue(self, name: str, *args: Any, delay: int | None = None, job_id: str | None = None) -> str:
        """Send a registered job (after the request's commit: the job reads what the request wrote); its id."""
        wrapper = self.tasks[name]
        json.dumps(args)  # a job's arguments are JSON values, so that it can be sent again
        eta = utcnow().replace(tzinfo=None) + dt.timedelta(seconds=delay) if delay else None
        task: Task = wrapper.task_class(args, {}, id=job_id, eta=eta)
        self.huey.enqueue(task)
        return task.id

    def send_again(self, job_id: str) -> bool:
        """Send a recorded job once more under its own id (retry, or recovery after its worker died)."""
        with self.database.session() as session:
            found = session.get(Job, job_id)
            spec = SPECS.get(found.name) if found is not None else None
            if spec is None:
                return False
            services.resend(session, job_id, periodic=spec.schedule is not None)
            name, args = found.name, json.loads(found.args_json)
            session.commit()
        if spec.schedule is not None:
            return False
        self.enqueue(name, *args, job_id=job_id)
        return True

    def recover(self) -> list[str]:
        """Send again what this host's dead workers left running, and whatever a shutdown interrupted."""
        with self.database.session() as session:
            orphans = services.orphans(session, host=socket.gethostname(), now=utcnow())
            session.commit()
        return [job_id for job_id in orphans if self.send_again(job_id)]

    def _signalled(self, signal: str, task: Task, *extra: Any) -> None:
        """Keep the job's row in step with the queue (a failure here is logged, never the job's)."""
        now = utcnow()
        fields: dict[str, Any]
        if signal in (S.SIGNAL_ENQUEUED, S.SIGNAL_SCHEDULED):
            eta = task.eta.replace(tzinfo=dt.timezone.utc) if task.eta else None
            status = JobStatus.SCHEDULED if eta and eta > now else JobStatus.QUEUED
            fields = {"status": status.value, "eta": eta, "args_json": json.dumps(list(task.args or ()))}
        elif signal == S.SIGNAL_EXECUTING:
            fields = {"status": JobStatus.RUNNING.value, "started_at": now, "worker": worker_name(), "attempt": True}
        elif signal == S.SIGNAL_COMPLETE:
            fields = {"status": JobStatus.DONE.value, "finished_at": now, "error": None}
        elif signal == S.SIGNAL_ERROR:
            error = extra[0] if extra else None
            final = not task.retries
            fields = {"status": (JobStatus.FAILED if final else JobStatus.SCHEDULED).value, "error": f"{type(error).__name__}: {error}"[:2000], "finished_at": now}
            if not final:
                fields["eta"] = now + dt.timedelta(seconds=task.retry_delay or 0)
        elif signal == S.SIGNAL_INTERRUPTED:
            fields = {"status": JobStatus.INTERRUPTED.value}
        elif signal in (S.SIGNAL_REVOKED, S.SIGNAL_EXPIRED, S.SIGNAL_CANCELED, S.SIGNAL_TIMEOUT):
            fields = {"status": JobStatus.FAILED.value, "error": signal, "finished_at": now}
        else:
            return
        try:
            with self.database.session() as session:
                services.note(session, task.id, task.name, fields, now=now)
                session.commit()
        except Exception:
            log.exception("could not record %s of job %s", signal, task.id)


def build_queue(app: Flask) -> Queue:
    """The queue the app's config asks for, with every job of TASK_MODULES registered."""
    from timebank.jobs import TASK_MODULES

    for module in TASK_MODULES:
        importlib.import_module(module)
    huey = make_huey(app.config.get("QUEUE_URL"), app.instance_path, name=app.config.get("QUEUE_NAME") or "timebank", immediate=bool(app.config.get("QUEUE_IMMEDIATE")))
    return Queue(app, huey)


def queue_of(app: Flask) -> Queue:
    """The app's queue, built on first use (a page that never sends a job opens no queue)."""
    found = app.extensions.get("timebank.queue")
    if found is None:
        found = app.extensions["timebank.queue"] = build_queue(app)
    return found


def enqueue(name: str, *args: Any, delay: int | None = None) -> str:
    """Send a registered job through the current app's queue; its id."""
    return queue_of(current_app._get_current_object()).enqueue(name, *args, delay=delay)
