"""The README's first command brings the worker up too: `timebank serve` (gunicorn or --dev) on the embedded default runs one, and stops it."""

from __future__ import annotations

import os
import subprocess

import pytest
from sqlalchemy import select

from tests.jobs.conftest import wait_for
from tests.test_cli import TIMEBANK, free_port, get_json, stop
from timebank.db import Database
from timebank.jobs.models import Job
from timebank.migrate import upgrade


@pytest.mark.slow
@pytest.mark.parametrize("how", [["--workers", "1"], ["--dev"]], ids=["gunicorn", "dev"])
def test_serve_on_the_embedded_default_runs_a_job_queue_worker_that_stops_with_it(tmp_path, how):
    database = Database(f"sqlite:///{tmp_path / 'timebank.db'}")
    upgrade(database.engine)
    env = {key: value for key, value in os.environ.items() if not key.startswith("TIMEBANK_")}
    env.update(TIMEBANK_DATABASE_URL=database.engine.url.render_as_string(), TIMEBANK_INSTANCE_PATH=str(tmp_path / "instance"))
    port, log = free_port(), tmp_path / "serve.log"

    def expired_holds_ran() -> bool:
        with database.session(write=False) as reader:
            return reader.scalar(select(Job.id).where(Job.name == "ledger.expire_holds", Job.status == "done")) is not None

    with log.open("wb") as out, subprocess.Popen([str(TIMEBANK), "serve", "--port", str(port), *how], env=env, cwd=tmp_path,
                                                 stdout=out, stderr=subprocess.STDOUT, start_new_session=True) as proc:
        try:
            wait_for(lambda: get_json(f"http://127.0.0.1:{port}/healthz"), timeout=40, log=log)
            wait_for(expired_holds_ran, timeout=40, log=log)  # the worker's first periodic run, through the queue file
            assert (tmp_path / "instance" / "queue.db").exists()
        finally:
            stop(proc)
    database.dispose()
    with pytest.raises(ProcessLookupError):  # the worker did not outlive the server
        os.killpg(proc.pid, 0)
