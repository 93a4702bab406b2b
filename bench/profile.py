"""What one request costs in process: SQL statements, CPU time, Python calls and CPU instructions.

Run as `python -m bench.profile checkin|redeem|healthz [--db sqlite|postgres]
[--requests 200] [--warmup 50] [--profiler cprofile|pyinstrument] [--instructions]`.

It seeds a fresh database as the server benchmark of the same path does
(bench/checkin.py, bench/redeem.py), builds the app in this process and sends
it `--warmup` requests untimed, then `--requests` more, each a distinct
volunteer's check-in or basket, straight into the WSGI app (no network, no
test client: the requests are built beforehand). It counts:

- `statements`: SQL statements per request (BEGIN and COMMIT aside), from the
  engine's own events: the same on any machine, under any load.
- `cpu_ms`: CPU time per request (process time; noisy on a shared machine).
- with `--profiler cprofile`: Python function calls per request (deterministic)
  and the functions that cost most; with `--profiler pyinstrument`: the call
  tree, sampled.
- with `--instructions`: CPU instructions per request, counted by valgrind's
  callgrind over the measured requests only (it runs this command again under
  valgrind, which switches counting on after the warm-up and off before the
  exit; about fifty times slower, so use 20 to 50 requests). Instructions do
  not drift with the machine's load, so they compare runs taken on different
  days; `healthz` gives the floor to set a path's figure against. With
  `--callgrind-out FILE` the call graph is kept, to read with
  `callgrind_annotate --inclusive=yes FILE`.

The last line printed is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import event
from werkzeug.test import EnvironBuilder

from bench.common import DATABASES, die_with_parent, fresh_database, note, print_figures
from timebank.db import Database, utcnow

PATHS = ("checkin", "redeem", "healthz")
CONTROL_POLL_SECONDS = 0.02
VALGRIND_READY_TIMEOUT = 1800  # seeding and importing under valgrind is slow


@dataclass(frozen=True)
class Requests:
    """The WSGI environs of one path's requests, built beforehand, and the status each must answer."""

    warmup: list[dict[str, Any]]
    measured: list[dict[str, Any]]
    expected: int


def environ(path: str, method: str = "GET", *, json: Any = None, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """A request as gunicorn hands it to the app, from the bench's address and User-Agent."""
    from bench.load import USER_AGENT

    return EnvironBuilder(path, method=method, json=json, headers={"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})},
                          environ_base={"REMOTE_ADDR": "127.0.0.1"}).get_environ()


# -- the paths ----------------------------------------------------------------------


def checkin_requests(database: Database, config: dict[str, str], warmup: int, count: int) -> Requests:
    """Distinct volunteers' check-ins by the activity's printed code (the warm-up to an activity of its own)."""
    from bench.checkin import CHECK_IN_PATH, seed, session_cookies
    from timebank.events import tokens

    seeded = seed(database, max(warmup, count), utcnow())
    cookies = session_cookies(config, seeded.volunteers)

    def crowd(activity: str, n: int) -> list[dict[str, Any]]:
        code = tokens.poster_code(seeded.activities[activity][1], "in", config["SECRET_KEY"])
        return [environ(CHECK_IN_PATH, "POST", json={"code": code}, headers={"Cookie": cookie}) for cookie in cookies[:n]]

    return Requests(crowd("warmup", warmup), crowd("burst", count), 201)


def redeem_requests(database: Database, config: dict[str, str], warmup: int, count: int) -> Requests:
    """Distinct volunteers' baskets at the station's tablet (one to three lines), as in bench.redeem."""
    from bench.redeem import BURST_BASKETS, Settings, seed
    from timebank.redeem.counter import VISIT_SALT
    from timebank.redeem.duty import DUTY_SALT
    from timebank.signing import timed_serializer

    seeded = seed(database, Settings(volunteers=warmup + count, eggs=1, savers=0, warmup=0, healthz_seconds=0), utcnow())
    secret_key, now = config["SECRET_KEY"], utcnow()
    duty = timed_serializer(secret_key, DUTY_SALT, now).dumps([seeded.device_id, seeded.clerk_id, 1])
    headers = {"Authorization": f"Bearer {seeded.token}", "X-Counter-Duty": duty}
    tickets = timed_serializer(secret_key, VISIT_SALT, now)
    path = f"/api/v1/stations/{seeded.station_id}/redemptions"
    baskets = [
        environ(path, "POST", headers=headers, json={
            "visit": tickets.dumps([key, seeded.station_id]), "idempotency_key": f"profile-{n:06d}",
            "lines": [{"item_id": seeded.items[name], "quantity": quantity} for name, quantity in BURST_BASKETS[n % len(BURST_BASKETS)]],
        })
        for n, key in enumerate(seeded.volunteers[:warmup + count])
    ]
    return Requests(baskets[:warmup], baskets[warmup:], 201)


def healthz_requests(_database: Database, _config: dict[str, str], warmup: int, count: int) -> Requests:
    """The floor: `GET /healthz`, which asks the database `SELECT 1`."""
    return Requests([environ("/healthz") for _ in range(warmup)], [environ("/healthz") for _ in range(count)], 200)


BUILDERS: dict[str, Callable[[Database, dict[str, str], int, int], Requests]] = {
    "checkin": checkin_requests, "redeem": redeem_requests, "healthz": healthz_requests,
}


# -- sending ------------------------------------------------------------------------


def send(app: Flask, request: dict[str, Any]) -> int:
    """One request through the WSGI app, its body read to the end, as a server would; its status."""
    status: list[str] = []

    def start_response(line: str, _headers: list, _exc_info: Any = None) -> None:
        status.append(line)

    body = app(request, start_response)
    try:
        for _ in body:
            pass
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
    return int(status[0].split()[0])


def send_all(app: Flask, requests: Sequence[dict[str, Any]], expected: int) -> None:
    """Send each request; stop at the first answer that is not the expected one (nothing to measure then)."""
    for request in requests:
        got = send(app, request)
        if got != expected:
            raise RuntimeError(f"{request['REQUEST_METHOD']} {request['PATH_INFO']} answered {got}, not {expected}")


@contextmanager
def counting_statements(app: Flask) -> Iterator[list[str]]:
    """Every SQL statement the app's engine runs inside the block (BEGIN and COMMIT are not statements)."""
    engine = app.extensions["timebank.database"].engine
    seen: list[str] = []

    def note_statement(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", note_statement)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note_statement)


def wait_for(path: Path) -> None:
    """Sleep until `path` exists (the controlling process's signal)."""
    while not path.exists():
        time.sleep(CONTROL_POLL_SECONDS)


# -- the run ------------------------------------------------------------------------


def measure(args: argparse.Namespace, url: str, directory: Path) -> dict[str, object]:
    """Seed, build the app, warm up, send the measured requests: the figures."""
    from timebank.app import create_app

    os.environ["TIMEBANK_INSTANCE_PATH"] = str(directory)
    config = {"DATABASE_URL": url, "SECRET_KEY": secrets.token_urlsafe(32), "DATA_KEY": secrets.token_urlsafe(32)}
    database = Database(url)
    try:
        note(f"seeding for {args.warmup + args.requests} {args.path} requests ...")
        requests = BUILDERS[args.path](database, config, args.warmup, args.requests)
    finally:
        database.dispose()
    app = create_app(config)
    try:
        send_all(app, requests.warmup, requests.expected)
        if args.handshake:  # under valgrind: the parent counts instructions from "ready" to "done"
            control = Path(args.handshake)
            (control / "ready").touch()
            wait_for(control / "go")
            send_all(app, requests.measured, requests.expected)
            (control / "done").touch()
            wait_for(control / "stop")
            return {}
        figures: dict[str, object] = {}
        with counting_statements(app) as seen:
            if args.profiler == "cprofile":
                profiler = cProfile.Profile()
                profiler.runcall(send_all, app, requests.measured, requests.expected)
                stats = pstats.Stats(profiler, stream=sys.stdout)
                stats.sort_stats("tottime").print_stats(30)
                if args.stats_out:
                    stats.dump_stats(args.stats_out)
                figures["calls"] = round(stats.total_calls / args.requests)
            elif args.profiler == "pyinstrument":
                from pyinstrument import Profiler

                with Profiler(interval=0.0005) as profiler:
                    send_all(app, requests.measured, requests.expected)
                print(profiler.output_text(unicode=True, color=False, show_all=False))
            else:
                start = time.process_time()
                send_all(app, requests.measured, requests.expected)
                figures["cpu_ms"] = round((time.process_time() - start) * 1000 / args.requests, 2)
        figures["statements"] = round(len(seen) / args.requests, 2)
        if args.show_statements:
            print("\n".join(seen[-int(len(seen) / args.requests):]))
        return figures
    finally:
        app.extensions["timebank.database"].dispose()


def instructions(args: argparse.Namespace) -> int:
    """CPU instructions per measured request: this command again under callgrind, counting between ready and done."""
    with tempfile.TemporaryDirectory(prefix="timebank_profile_") as control:
        command = [
            "valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={control}/callgrind.out",
            f"--log-file={control}/valgrind.log", sys.executable, "-m", "bench.profile", args.path, "--db", args.db,
            "--warmup", str(args.warmup), "--requests", str(args.requests), "--handshake", control,
        ]
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, preexec_fn=die_with_parent)
        try:
            deadline = time.monotonic() + VALGRIND_READY_TIMEOUT
            while not (Path(control) / "ready").exists():
                if child.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the run under valgrind ended before measuring; its log:\n{(Path(control) / 'valgrind.log').read_text()[-2000:]}")
                time.sleep(0.5)
            callgrind_control("--instr=on", child.pid)
            (Path(control) / "go").touch()
            while not (Path(control) / "done").exists():
                if child.poll() is not None:
                    raise RuntimeError("the run under valgrind failed while measuring")
                time.sleep(0.5)
            counted = callgrind_control("-e", child.pid)
            callgrind_control("--instr=off", child.pid)
            (Path(control) / "stop").touch()
            child.wait()
            if args.callgrind_out:
                shutil.copyfile(Path(control) / "callgrind.out", args.callgrind_out)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
    totals = re.search(r"Totals:.*\n\s*Th \d+\s+([\d,]+)", counted)
    if totals is None:
        raise RuntimeError(f"callgrind_control gave no totals:\n{counted}")
    return round(int(totals.group(1).replace(",", "")) / args.requests)


def callgrind_control(option: str, pid: int) -> str:
    """Run callgrind_control on the valgrind process; its output."""
    return subprocess.run(["callgrind_control", option, str(pid)], check=True, capture_output=True, text=True).stdout


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("path", choices=PATHS, help="the request to measure")
    parser.add_argument("--db", choices=DATABASES, default="sqlite", help="storage to measure")
    parser.add_argument("--requests", type=int, default=200, help="measured requests")
    parser.add_argument("--warmup", type=int, default=50, help="untimed requests first")
    parser.add_argument("--profiler", choices=("cprofile", "pyinstrument"), help="profile the measured requests")
    parser.add_argument("--stats-out", help="with --profiler cprofile: also write the stats to this file (pstats), to browse by caller")
    parser.add_argument("--instructions", action="store_true", help="count CPU instructions under valgrind's callgrind")
    parser.add_argument("--callgrind-out", help="with --instructions: also keep callgrind's output in this file, to annotate")
    parser.add_argument("--show-statements", action="store_true", help="print the last request's SQL")
    parser.add_argument("--handshake", help=argparse.SUPPRESS)  # the run under valgrind: a folder of signal files
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if args.instructions:
        figures = {"instructions": instructions(args)}
    else:
        with fresh_database(args.db, f"profile_{args.path}") as url, tempfile.TemporaryDirectory(prefix="timebank_profile_") as directory:
            figures = measure(args, url, Path(directory))
        if args.handshake:
            return
    print_figures({"bench": "profile", "path": args.path, "db": args.db, "requests": args.requests, "warmup": args.warmup, **figures})


if __name__ == "__main__":
    main()
