"""What every benchmark shares: its command line, a fresh migrated database, timing, and output.

Each benchmark prints readable tables and, as its last line, one JSON object of
its figures, so runs can be compared by machine (DESIGN.md, "Performance
yardsticks").
"""

from __future__ import annotations

import argparse
import ctypes
import http.client
import json
import math
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from timebank.db import Database
from timebank.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_ADMIN_URL = os.environ.get(
    "TIMEBANK_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
DATABASES = ("sqlite", "postgres")
K = TypeVar("K")


def parse_args(
    module: str, description: str, argv: Sequence[str] | None = None
) -> argparse.Namespace:
    """`python -m <module> [--db sqlite|postgres] [--quick] [--smoke]`; --quick ends within a minute."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=description)
    parser.add_argument("--db", choices=DATABASES, default="sqlite", help="storage to measure")
    parser.add_argument("--quick", action="store_true", help="a smaller run, under a minute")
    parser.add_argument("--smoke", action="store_true",
                        help="the least that runs every step, for the test suite to keep the benchmark alive (its figures mean nothing); implies --quick")
    args = parser.parse_args(argv)
    args.quick = args.quick or args.smoke
    return args


def clean_up_when_stopped() -> None:
    """Make SIGTERM (and SIGINT, even where the shell ignored it) end the run through its `finally` blocks.

    Python's default for SIGTERM is to die on the spot, which would leave a
    benchmark's server running and its database behind.
    """

    def stop(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


# -- databases ----------------------------------------------------------------


def run_server_bench(
    name: str, doc: str | None, measure: Callable[[Database, str, Any, Path], dict[str, object]], *, quick: Any, full: Any,
    argv: Sequence[str] | None = None,
) -> None:
    """The frame of the benchmarks that serve the app: arguments, a fresh database and folder, the JSON line."""
    args = parse_args(f"bench.{name}", (doc or "").splitlines()[0], argv)
    clean_up_when_stopped()
    settings = quick if args.quick else full
    print(f"{name} benchmark on {args.db}{' (quick)' if args.quick else ''}")
    with fresh_database(args.db, name) as url, tempfile.TemporaryDirectory(prefix=f"timebank_bench_{name}_") as directory:
        database = Database(url)
        try:
            figures = measure(database, url, settings, Path(directory))
        finally:
            database.dispose()
    print_figures({"bench": name, "db": args.db, "quick": args.quick, **figures})


@contextmanager
def fresh_database(storage: str, name: str) -> Iterator[str]:
    """The URL of a new 'sqlite' or 'postgres' database migrated to head, removed on exit."""
    fresh = _fresh_sqlite if storage == "sqlite" else _fresh_postgres
    with fresh(name) as url:
        database = Database(url)
        upgrade(database.engine)
        database.dispose()
        yield url


@contextmanager
def _fresh_sqlite(name: str) -> Iterator[str]:
    """A SQLite file in a temporary directory."""
    with tempfile.TemporaryDirectory(prefix=f"timebank_bench_{name}_") as directory:
        yield f"sqlite:///{Path(directory) / 'timebank.db'}"


@contextmanager
def _fresh_postgres(name: str) -> Iterator[str]:
    """A PostgreSQL database `timebank_bench_<name>`, dropped first if a crashed run left it."""
    database = f"timebank_bench_{name}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    drop = text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    try:
        with admin.connect() as conn:
            conn.execute(drop)
            conn.execute(text(f'CREATE DATABASE "{database}"'))
        yield make_url(POSTGRES_ADMIN_URL).set(database=database).render_as_string(
            hide_password=False
        )
    finally:
        with admin.connect() as conn:
            conn.execute(drop)
        admin.dispose()


def after_bulk_load(database: Database) -> None:
    """On PostgreSQL, what autovacuum does after a bulk load: the planner's statistics (without them a benchmark
    measures plans no production database runs) and the visibility map that index-only scans rely on."""
    if database.dialect == "postgresql":
        with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))


@contextmanager
def dbapi_connection(database: Database) -> Iterator[Any]:
    """The driver's own connection (sqlite3 or psycopg), set up as the engine sets up its own.

    It runs in autocommit mode: the caller sends BEGIN and COMMIT itself. It
    leaves the engine's pool and is closed on exit.
    """
    pooled = database.engine.raw_connection()
    connection = pooled.driver_connection
    pooled.detach()
    if database.dialect == "postgresql":
        connection.autocommit = True
    try:
        yield connection
    finally:
        pooled.close()


def dbapi_sql(sql: str, dialect: str) -> str:
    """SQL written with `:name` parameters (and no literal `%`), in the driver's paramstyle."""
    return re.sub(r"(?<!:):(\w+)", r"%(\1)s", sql) if dialect == "postgresql" else sql


# -- timing -------------------------------------------------------------------


def run_for(seconds: float, action: Callable[[], object]) -> tuple[int, float]:
    """Call `action` until `seconds` have passed: how many calls, and how long they took."""
    start = time.perf_counter()
    deadline = start + seconds
    calls = 0
    while True:
        action()
        calls += 1
        now = time.perf_counter()
        if now >= deadline:
            return calls, now - start


def rate_for(seconds: float, action: Callable[[], object]) -> float:
    """Calls of `action` per second, over `seconds`."""
    calls, elapsed = run_for(seconds, action)
    return calls / elapsed


def warm_up(action: Callable[[], object], calls: int) -> None:
    """Call `action` untimed, so that caches, prepared statements and pools are ready."""
    for _ in range(calls):
        action()


def best_of_rounds(rounds: int, measures: Mapping[str, Callable[[], float]]) -> dict[str, float]:
    """Each measure's highest figure over `rounds` rounds, the measures taking turns.

    Taking turns exposes every measure to the same drift; other work on the
    machine only ever slows a round down, so the best round is the steadiest
    estimate (as `timeit` takes the fastest run).
    """
    best = dict.fromkeys(measures, 0.0)
    for _ in range(rounds):
        for name, measure in measures.items():
            best[name] = max(best[name], measure())
    return best


def median_seconds(actions: Mapping[K, Callable[[], object]], repetitions: int) -> dict[K, float]:
    """The median time of one call of each action, over `repetitions` rounds.

    In each round every action is called once, in turn, so that drift in the
    machine's load touches them all alike.
    """
    times: dict[K, list[float]] = {name: [] for name in actions}
    for _ in range(repetitions):
        for name, action in actions.items():
            start = time.perf_counter()
            action()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(samples) for name, samples in times.items()}


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile of `values`: `share` 0.5 is the median, 0.99 the p99."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(share * len(ordered))) - 1]


# -- serving --------------------------------------------------------------------

PR_SET_PDEATHSIG = 1  # linux/prctl.h
SERVER_START_TIMEOUT = 300  # seconds for gunicorn and its workers to answer the first request (a loaded machine is slow to import)
SERVER_STOP_TIMEOUT = 15
#: The gunicorn master serving on each port (see `workers_peak_rss_mb`).
SERVERS: dict[int, int] = {}


@contextmanager
def gunicorn(
    app: str, *, env: Mapping[str, str], workers: int, log: Path, ready_path: str = "/healthz"
) -> Iterator[int]:
    """gunicorn serving `app` (sync workers, as `timebank serve` runs it) on a free loopback port.

    Yields the port once `ready_path` answers 200. The listening socket is made
    here and handed over (`fd://`), so no other process can take the port in
    between. On exit, even on failure, the server and its workers are stopped.
    """
    listener = socket.create_server(("127.0.0.1", 0), backlog=2048)
    port = listener.getsockname()[1]
    args = [
        sys.executable, "-m", "gunicorn", "--chdir", str(ROOT), "--bind", f"fd://{listener.fileno()}",
        "--workers", str(workers), "--no-control-socket", "--log-level", "warning", app,
    ]
    with log.open("w") as output:
        server = subprocess.Popen(
            args, env={**os.environ, **env}, pass_fds=(listener.fileno(),), stdout=output,
            stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=die_with_parent,
        )
    listener.close()  # the server holds its own copy
    SERVERS[port] = server.pid
    try:
        _wait_until_ready(server, port, ready_path, log)
        yield port
    finally:
        SERVERS.pop(port, None)
        _stop(server)


def workers_peak_rss_mb(port: int) -> float | None:
    """The largest peak resident memory (VmHWM) of the workers of the gunicorn serving on `port`, in MB (Linux).

    Read before the server stops, it is the most any worker held at once during the run.
    """
    master = SERVERS.get(port)
    if master is None:
        return None
    peaks = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue  # gone, or not ours to read
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("PPid", "").strip() == str(master) and "VmHWM" in fields:
            peaks.append(int(fields["VmHWM"].split()[0]) / 1024)
    return round(max(peaks), 1) if peaks else None


def _prctl() -> Callable[..., int] | None:
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None  # not Linux: the `finally` blocks are all there is


# Looked up here, not in the child: between fork and exec the child should do as little as it can.
PRCTL = _prctl()


def die_with_parent() -> None:
    """`preexec_fn` for a benchmark's child process: on Linux, SIGTERM it if the benchmark dies, even by SIGKILL."""
    if PRCTL is not None:
        PRCTL(PR_SET_PDEATHSIG, signal.SIGTERM)


def _wait_until_ready(server: subprocess.Popen, port: int, path: str, log: Path) -> None:
    """Return once `path` answers 200; RuntimeError, with the server's log, if it dies or never does."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            break
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            connection.request("GET", path)
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            connection.close()
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not come up; its log:\n{log.read_text()[-3000:]}")


def _stop(server: subprocess.Popen) -> None:
    """Stop gunicorn, which stops its workers before it exits; kill its process group if it lingers."""
    if server.poll() is None:
        server.send_signal(signal.SIGINT)  # gunicorn's quick shutdown
        try:
            server.wait(SERVER_STOP_TIMEOUT)
            return
        except subprocess.TimeoutExpired:
            pass
    # The master is not reaped yet, so its id still names the group it started: itself and its workers.
    try:
        os.killpg(server.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    server.wait()


# -- output -------------------------------------------------------------------


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A titled table: the first column left-aligned, the others right-aligned."""
    cells = [[str(cell) for cell in row] for row in [header, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        first, *rest = row
        return "  ".join(
            [first.ljust(widths[0]), *(c.rjust(w) for c, w in zip(rest, widths[1:], strict=True))]
        )

    print(f"\n{title}")
    print(line(cells[0]))
    print("  ".join("-" * width for width in widths))
    for row in cells[1:]:
        print(line(row))


def note(message: str) -> None:
    """A progress line on stderr, so stdout keeps only tables and the JSON line."""
    print(message, file=sys.stderr, flush=True)


def print_figures(figures: Mapping[str, object]) -> None:
    """The benchmark's figures as one JSON object: always the last line printed."""
    print(json.dumps(figures, ensure_ascii=False), flush=True)
