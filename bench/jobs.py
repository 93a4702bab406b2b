"""Job queue benchmark: jobs per second through a real consumer on SQLite and on Redis, and the time from enqueue to start.

Run as `python -m bench.jobs [--db sqlite|postgres] [--quick]`. For each queue
backend (a SqliteHuey file, as the embedded default runs; RedisHuey at
TIMEBANK_BENCH_REDIS_URL) it starts `timebank worker` (2 threads) as its own
process, then:

- a burst: N empty jobs sent as fast as the sender can, timed from the first
  send until the jobs table shows the last one done — the whole path a real
  job takes, including the three writes that make every job visible on the
  jobs page (queued, running, done);
- paced: M jobs sent one every 50 ms, each one's start taken from its row
  (started_at − enqueued_at), so the consumer is waiting, as it mostly is.

`--db` is where the jobs table lives (the app's database).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import func, select

from bench.common import ROOT, clean_up_when_stopped, die_with_parent, fresh_database, note, parse_args, percentile, print_figures, print_table
from timebank.app import create_app
from timebank.jobs import job
from timebank.jobs.models import Job, JobStatus
from timebank.jobs.queue import queue_of

REDIS_URL = os.environ.get("TIMEBANK_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
NAME = "bench.noop"
PACE = 0.05  # seconds between paced jobs


@job(NAME, retries=0)
def noop(n: int) -> int:
    """Nothing: what is measured is the queue."""
    return n


def _done(database, since: int) -> int:
    with database.session(write=False) as session:
        return int(session.scalar(select(func.count()).where(Job.name == NAME, Job.status == JobStatus.DONE.value, Job.args_json.like(f"[{since}%"))) or 0)


def _wait_done(database, tag: int, count: int, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while _done(database, tag) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {_done(database, tag)} of {count} jobs done within {timeout} s")
        time.sleep(0.01)
    return time.perf_counter()


def measure(backend: str, url: str, directory: Path, burst: int, paced: int) -> dict[str, float]:
    """The burst rate and the paced start latencies of one backend."""
    queue_url = f"sqlite:///{directory / 'queue.db'}" if backend == "sqlite" else REDIS_URL
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "DATA_KEY": "bench", "QUEUE_URL": queue_url, "QUEUE_NAME": f"bench-{uuid.uuid4().hex[:8]}"})
    queue, database = queue_of(app), app.extensions["timebank.database"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TIMEBANK_DATABASE_URL": url, "TIMEBANK_INSTANCE_PATH": str(directory),
           "TIMEBANK_SECRET_KEY": "bench", "TIMEBANK_DATA_KEY": "bench", "TIMEBANK_QUEUE_URL": queue_url, "TIMEBANK_QUEUE_NAME": app.config["QUEUE_NAME"]}
    log = directory / f"worker-{backend}.log"
    with log.open("w") as output:
        worker = subprocess.Popen([sys.executable, "-c", "import bench.jobs; from timebank.cli import main; main()", "worker", "--workers", "2", "--no-periodic"],
                                  env=env, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=die_with_parent)
    try:
        queue.enqueue(NAME, 0)  # warm: the worker is up once its first job is done
        _wait_done(database, 0, 1, 60)
        start = time.perf_counter()
        for n in range(burst):
            queue.enqueue(NAME, 1_000_000 + n)
        end = _wait_done(database, 1, burst, 300)
        per_s = burst / (end - start)
        for n in range(paced):
            queue.enqueue(NAME, 2_000_000 + n)
            time.sleep(PACE)
        _wait_done(database, 2, paced, 60)
        with database.session(write=False) as session:
            rows = session.execute(select(Job.started_at, Job.enqueued_at).where(Job.name == NAME, Job.args_json.like("[2%"))).all()
        starts = [(started - enqueued).total_seconds() * 1000 for started, enqueued in rows]
    finally:
        worker.terminate()
        worker.wait(30)
        queue.huey.storage.flush_all()
        database.dispose()
    return {"per_s": round(per_s, 1), "p50_start_ms": round(percentile(starts, 0.5), 1), "p99_start_ms": round(percentile(starts, 0.99), 1)}


def main(argv: list[str] | None = None) -> None:
    """Measure both backends and print the table and the JSON line."""
    args = parse_args("bench.jobs", __doc__.splitlines()[0], argv)
    clean_up_when_stopped()
    burst, paced = (200, 40) if args.quick else (2000, 200)
    print(f"jobs benchmark, jobs table on {args.db}{' (quick)' if args.quick else ''}: {burst} jobs in a burst, {paced} paced")
    figures: dict[str, dict[str, float]] = {}
    for backend in ("sqlite", "redis"):
        note(f"{backend} queue…")
        with fresh_database(args.db, f"jobs_{backend}") as url, tempfile.TemporaryDirectory(prefix="timebank_bench_jobs_") as directory:
            figures[backend] = measure(backend, url, Path(directory), burst, paced)
    print_table("jobs through the queue (real consumer, 2 threads)", ("queue", "burst jobs/s", "p50 start ms", "p99 start ms"),
                [(b, f["per_s"], f["p50_start_ms"], f["p99_start_ms"]) for b, f in figures.items()])
    print_figures({
        "bench": "jobs", "db": args.db, "quick": args.quick, "n": burst,
        "sqlite_per_s": figures["sqlite"]["per_s"], "redis_per_s": figures["redis"]["per_s"],
        "p50_start_ms": figures["sqlite"]["p50_start_ms"], "p99_start_ms": figures["sqlite"]["p99_start_ms"],
        "redis_p50_start_ms": figures["redis"]["p50_start_ms"], "redis_p99_start_ms": figures["redis"]["p99_start_ms"],
    })


if __name__ == "__main__":
    main()
