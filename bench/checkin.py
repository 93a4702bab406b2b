"""Check-in benchmark: a crowd scanning the activity's code, against the same server's /healthz.

Run as `python -m bench.checkin [--db sqlite|postgres] [--quick]`. On a fresh
migrated database it seeds an organisation, 1,000 active volunteers (200 with
--quick) signed up for three activities under way now, and a signed-in session
cookie for each; then serves the app with gunicorn (sync workers, as `timebank
serve` runs it) on a loopback port and measures (DESIGN.md, "Performance
yardsticks"):

1. /healthz throughput (it asks the database `SELECT 1`) with wrk, at the same
   concurrency as the burst, just before the burst and just after it (the
   two together, so that other work on the machine weighs on both alike).
2. The burst: every volunteer checks in once, `POST /api/v1/check-ins` with the
   activity's check-in code, as fast as the server takes them (wrk, each request
   exactly once): per_s, p50 and p99 latency; `ratio` = per_s / healthz per_s,
   aim >= 1/3.
3. Paced: the same volunteers check in to a second activity at 200 per second,
   open loop (each request leaves on its due time whatever the answers before
   it, and latency counts from that time): p99 at 200/s, aim < 100 ms.

Then it counts attendances: `lost` = check-ins the database does not hold,
`doubled` = rows beyond one per volunteer and activity, `errors` = answers
other than success (2xx) and requests lost to socket errors or timeouts. A
third activity takes an untimed warm-up first, so every worker has run the
check-in path before the clock starts. The load tools are in bench/load.py.
The last line printed is one JSON object of the figures.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, insert, select

from bench.common import gunicorn, note, percentile, print_table, run_server_bench, workers_peak_rss_mb
from bench.load import USER_AGENT, Load, exchange, http_request, paced, wrk
from timebank.app import create_app
from timebank.auth.services import start_sign_in
from timebank.db import Database, utcnow
from timebank.events import tokens
from timebank.events.models import Attendance, SignUp, SignUpStatus
from timebank.events.services import create_activity, publish_activity
from timebank.orgs.services import create_organisation
from timebank.people.access import Actor, Grant
from timebank.people.models import Person, Role, RoleGrant, Status

SETUP_ACTOR = Actor(0, (Grant("admin", 0, "/"),))
CHECK_IN_PATH = "/api/v1/check-ins"
WORKERS = 2 * (os.cpu_count() or 1) + 1  # what `timebank serve` starts by default
CONCURRENCY = 16  # wrk connections, for /healthz and for the burst alike
PACED_RATE = 200  # check-ins per second in the open-loop run


@dataclass(frozen=True)
class Settings:
    """How big the run is."""

    volunteers: int
    warmup: int  # untimed check-ins before measuring
    healthz_seconds: int  # before the burst, and again after it


QUICK = Settings(volunteers=200, warmup=50, healthz_seconds=1)
FULL = Settings(volunteers=1000, warmup=100, healthz_seconds=3)


@dataclass(frozen=True)
class Seeded:
    """What the server is measured on: the activities' code keys and ids, the volunteers' sessions."""

    activities: dict[str, tuple[int, str]]  # warmup, burst, paced -> (id, code_key)
    volunteers: list[tuple[int, int, str]]  # (id, session_version, sign-in key)


# -- setup (not timed) -------------------------------------------------------------


def seed(database: Database, count: int, now: dt.datetime) -> Seeded:
    """A community under a street and a district, its volunteers in bulk SQL, three activities.

    The volunteers have no passwords: they never type one. The activities run
    from half an hour ago to three hours from now, accept the printed poster
    code (which never expires, so a slow run cannot fail on a code that turned
    over; checking it costs what the screen's code costs), and need a sign-up
    (so the check-in reads it, as it does for most real ones); every volunteer
    is signed up for each. The community's policy comes down from the district
    and the street, so the check-in reads a whole lineage, as it does for real.
    """
    with database.session() as session:
        parent = None
        for name, level in (("陕县", "district"), ("大营镇", "street"), ("东城社区", "community")):
            parent = create_organisation(session, name=name, level=level, parent_id=parent and parent.id, actor=SETUP_ACTOR, now=now)
        organisation = parent
        people = [
            {
                "phone": f"139{n:08d}", "real_name": f"志愿者{n}", "home_organisation_id": organisation.id,
                "status": Status.ACTIVE.value, "member_key": secrets.token_urlsafe(16), "created_at": now,
                "approved_at": now, "service_categories": "elderly",
            }
            for n in range(count + 1)
        ]
        session.execute(insert(Person), people)
        ids = list(session.scalars(select(Person.id).order_by(Person.id)))
        leader, volunteer_ids = ids[0], ids[1:]
        grants = [{"person_id": leader, "role": Role.COORDINATOR.value}] + [
            {"person_id": person, "role": Role.VOLUNTEER.value} for person in volunteer_ids
        ]
        session.execute(insert(RoleGrant), [{**g, "organisation_id": organisation.id, "granted_at": now} for g in grants])
        activities = {}
        for name in ("warmup", "burst", "paced"):
            data = {
                "title": f"重阳节敬老活动（{name}）", "category": "elderly", "organisation_id": organisation.id,
                "address": "东城社区服务中心", "starts_at": (now - dt.timedelta(minutes=30)).isoformat(),
                "ends_at": (now + dt.timedelta(hours=3)).isoformat(), "person_in_charge_id": leader,
                "signup_required": True, "poster_allowed": True,
            }
            activity = create_activity(session, data, actor=SETUP_ACTOR, now=now - dt.timedelta(days=3))
            publish_activity(session, activity.id, actor=SETUP_ACTOR, now=now - dt.timedelta(days=3))
            activities[name] = (activity.id, activity.code_key)
            signups = [
                {"activity_id": activity.id, "volunteer_id": v, "status": SignUpStatus.SIGNED_UP.value, "created_at": now}
                for v in volunteer_ids
            ]
            session.execute(insert(SignUp), signups)
        people = session.scalars(select(Person).where(Person.id.in_(volunteer_ids)).order_by(Person.id)).all()
        signed_in = [(p.id, p.session_version, start_sign_in(session, p, lasting=dt.timedelta(days=1), now=now)) for p in people]
        seeded = Seeded(activities, signed_in)
        session.commit()
    return seeded


def session_cookies(config: dict[str, str], volunteers: Sequence[tuple[int, int, str]]) -> list[str]:
    """A signed-in session cookie for each volunteer, minted with the app's own session serializer.

    Signing each volunteer in through POST /sign-in would take as long as
    the rate limiter lets it (a few sign-ins a minute from one address) and
    measure password hashing; a cookie minted here is the one sign-in would
    set. It carries what Flask-Login's sign-in stores: the user id (with the
    session version and sign-in key, as `SignedInPerson.get_id` gives it) and the "strong"
    protection's identifier of the client, computed by Flask-Login's own
    generator for the address and User-Agent the bench's requests come with.
    """
    app = create_app(config)
    try:
        serializer = app.session_interface.get_signing_serializer(app)
        environ = {"REMOTE_ADDR": "127.0.0.1"}
        with app.test_request_context("/", environ_base=environ, headers={"User-Agent": USER_AGENT}):
            client = app.login_manager._session_identifier_generator()
        name = app.config["SESSION_COOKIE_NAME"]
        return [
            f"{name}={serializer.dumps({'_user_id': f'{person}:{version}:{key}', '_fresh': False, '_id': client})}"
            for person, version, key in volunteers
        ]
    finally:
        app.extensions["timebank.database"].dispose()


def check_ins(port: int, code_key: str, cookies: Sequence[str], secret_key: str, *, close: bool = False) -> list[bytes]:
    """Each volunteer's check-in with the activity's printed check-in code."""
    code = tokens.poster_code(code_key, "in", secret_key)
    return [http_request(port, "POST", CHECK_IN_PATH, cookie=cookie, body={"code": code}, close=close) for cookie in cookies]


# -- load: wrk for throughput, a paced client for latency at a given rate ------------------


# -- the run ------------------------------------------------------------------------


def recorded(database: Database, activity_id: int) -> tuple[int, int]:
    """(attendance rows, distinct volunteers among them) of an activity."""
    with database.session(write=False) as session:
        rows, distinct = session.execute(
            select(func.count(), func.count(func.distinct(Attendance.volunteer_id))).where(Attendance.activity_id == activity_id)
        ).one()
    return rows, distinct


def check_session(port: int, cookie: str) -> None:
    """Refuse to measure anything if the minted session does not sign the volunteer in."""
    answer = exchange(port, http_request(port, "GET", "/api/v1/me", cookie=cookie, close=True))
    if not answer.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"a minted session cookie was not accepted: {answer[:300]!r}")


def measure(database: Database, url: str, settings: Settings, directory: Path) -> dict[str, object]:
    """Seed, serve, load, count: every figure of the run."""
    n = settings.volunteers
    note(f"seeding {n:,} volunteers and three activities ...")
    seeded = seed(database, n, utcnow())
    config = {"DATABASE_URL": url, "SECRET_KEY": secrets.token_urlsafe(32), "DATA_KEY": secrets.token_urlsafe(32)}
    cookies = session_cookies(config, seeded.volunteers)
    env = {
        "TIMEBANK_DATABASE_URL": url, "TIMEBANK_SECRET_KEY": config["SECRET_KEY"],
        "TIMEBANK_DATA_KEY": config["DATA_KEY"], "TIMEBANK_INSTANCE_PATH": str(directory),
    }
    note(f"starting gunicorn with {WORKERS} workers ...")
    with gunicorn("wsgi:app", env=env, workers=WORKERS, log=directory / "gunicorn.log") as port:
        check_session(port, cookies[0])
        healthz = [http_request(port, "GET", "/healthz")]

        def crowd(name: str, count: int) -> list[bytes]:
            return check_ins(port, seeded.activities[name][1], cookies[:count], config["SECRET_KEY"])

        note("warming up ...")
        wrk(port, "repeat", healthz, connections=CONCURRENCY, directory=directory, seconds=1)
        wrk(port, "once", crowd("warmup", settings.warmup), connections=CONCURRENCY, directory=directory)
        note(f"/healthz for {settings.healthz_seconds} s, the burst of {n:,} check-ins, /healthz again ...")
        before = wrk(port, "repeat", healthz, connections=CONCURRENCY, directory=directory, seconds=settings.healthz_seconds)
        burst = wrk(port, "once", crowd("burst", n), connections=min(CONCURRENCY, n), directory=directory)
        after = wrk(port, "repeat", healthz, connections=CONCURRENCY, directory=directory, seconds=settings.healthz_seconds)
        floor = before + after
        note(f"paced: {n:,} check-ins at {PACED_RATE}/s ...")
        requests = check_ins(port, seeded.activities["paced"][1], cookies, config["SECRET_KEY"], close=True)
        steady = paced(port, requests, PACED_RATE)
        rss_mb = workers_peak_rss_mb(port)
    counts = [recorded(database, seeded.activities[name][0]) for name in ("burst", "paced")]
    return {**report(n, floor, burst, steady, counts), "rss_mb": rss_mb}


def report(n: int, floor: Load, burst: Load, steady: Load, counts: list[tuple[int, int]]) -> dict[str, object]:
    """Print the tables; return the figures."""
    ratio = burst.per_s / floor.per_s
    lost = sum(n - distinct for _, distinct in counts)
    doubled = sum(rows - distinct for rows, distinct in counts)
    errors = floor.failures() + burst.failures() + steady.failures()

    def row(name: str, load: Load) -> list[str]:
        return [
            name, f"{load.answered:,}", f"{load.per_s:,.0f}", f"{percentile(load.latencies_ms, 0.5):.1f}",
            f"{percentile(load.latencies_ms, 0.99):.1f}", f"{load.failures():,}",
        ]

    print_table(
        f"Check-in under gunicorn ({WORKERS} sync workers), {CONCURRENCY} connections; paced run open loop",
        ["run", "requests", "per s", "p50 ms", "p99 ms", "failed"],
        [row("GET /healthz", floor), row("check-in burst", burst), row(f"check-in at {PACED_RATE}/s", steady)],
    )
    print_table(
        "Aims and integrity",
        ["figure", "value", "aim"],
        [
            ["ratio check-in/healthz", f"{ratio:.2f}", ">= 0.33"],
            [f"p99 at {PACED_RATE}/s (ms)", f"{percentile(steady.latencies_ms, 0.99):.1f}", "< 100"],
            ["lost check-ins", str(lost), "0"],
            ["doubled attendances", str(doubled), "0"],
        ],
    )
    return {
        "n": n,
        "workers": WORKERS,
        "concurrency": CONCURRENCY,
        "per_s": round(burst.per_s),
        "ratio": round(ratio, 3),
        "p50_ms": round(percentile(burst.latencies_ms, 0.5), 1),
        "p99_ms": round(percentile(burst.latencies_ms, 0.99), 1),
        "p99_ms_at_200": round(percentile(steady.latencies_ms, 0.99), 1),
        "p50_ms_at_200": round(percentile(steady.latencies_ms, 0.5), 1),
        "paced_per_s": round(steady.per_s),
        "lost": lost,
        "doubled": doubled,
        "errors": errors,
        "healthz_per_s": round(floor.per_s),
        "healthz_p99_ms": round(percentile(floor.latencies_ms, 0.99), 1),
    }


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the command line, measure on a fresh database, print the tables and the JSON line."""
    run_server_bench("checkin", __doc__, measure, quick=QUICK, full=FULL, argv=argv)


if __name__ == "__main__":
    main()
