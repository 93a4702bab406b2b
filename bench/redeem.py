"""Redemption benchmark: a station's counter API under a crowd, against the same server's /healthz.

Run as `python -m bench.redeem [--db sqlite|postgres] [--quick]`. On a fresh
migrated database it seeds a community with one station (no fixed opening
hours, so it is open whenever the run happens), a catalogue (goods with stock,
one with a daily limit, a service, a voucher), 1,000 funded volunteers (150
with --quick) and a visit ticket for each, as scanning their member codes at
the counter would give, and the station's device token; then serves the app
with gunicorn (sync workers, as `timebank serve` runs it) and measures
(DESIGN.md, "Performance yardsticks"):

1. /healthz throughput (it asks the database `SELECT 1`) with wrk, at the same
   concurrency as the bursts, just before the main burst and just after it.
2. The burst: every volunteer redeems one basket once (one to three lines,
   all affordable and in stock), `POST /api/v1/stations/<id>/redemptions` with
   the device token, as fast as the server takes them (wrk, each request once,
   each with its own basket key): per_s, p50 and p99; `ratio` = per_s /
   healthz per_s, aim >= 1/3.
3. Oversell: more volunteers than there are eggs each ask for one at once;
   exactly the stock is sold and the rest are refused (409 out_of_stock).
4. Overdraw: volunteers holding points for three vouchers each send five
   baskets for one at once; exactly three of each go through (409
   not_enough_points for the rest).

Then it counts from the database: `oversold` = units sold beyond the stock
received (or stock below zero), `overdrawn` = volunteer points accounts below
zero, `doubled` = redemptions beyond the answers that created one (or beyond
one ledger transaction each), `lost` = created answers without a redemption,
`errors` = answers other than the expected ones (201, or 409 in the races) and
requests lost to socket errors or timeouts; and whether every station
reconciles and the ledger verifies clean. The last line printed is one JSON
object of the figures. The load tools are in bench/load.py.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, insert, select

from bench.common import gunicorn, note, percentile, print_table, run_server_bench, workers_peak_rss_mb
from bench.load import Load, exchange, http_request, wrk
from timebank import ledger
from timebank.auth.services import create_device_token
from timebank.db import Database, utcnow
from timebank.ledger import Account, Commodity, OwnerType, Transaction, rules
from timebank.orgs.services import create_organisation
from timebank.people.access import Actor, Grant, actor_for
from timebank.people.models import Person, Role, RoleGrant, Status
from timebank.redeem import catalogue, counter, reports
from timebank.redeem.duty import DUTY_SALT
from timebank.redeem.models import CatalogueItem, MovementReason, Redemption, RedemptionLine, StationStock, StockMovement
from timebank.redeem.services import create_station
from timebank.signing import timed_serializer

SETUP_ACTOR = Actor(0, (Grant("admin", 0, "/"),))
WORKERS = 2 * (os.cpu_count() or 1) + 1  # what `timebank serve` starts by default
CONCURRENCY = 16  # wrk connections, for /healthz and for the bursts alike
POINTS = 300  # each volunteer's points: more than any burst basket costs
VOUCHER_PRICE = 10
VOUCHERS_AFFORDED, VOUCHERS_ASKED = 3, 5


@dataclass(frozen=True)
class Settings:
    """How big the run is."""

    volunteers: int  # each redeems one basket in the burst
    eggs: int  # stock of the oversell item; every volunteer asks for one
    savers: int  # volunteers in the overdraw race
    warmup: int  # untimed baskets before measuring
    healthz_seconds: int  # before the burst, and again after it


QUICK = Settings(volunteers=150, eggs=40, savers=16, warmup=30, healthz_seconds=1)
FULL = Settings(volunteers=1000, eggs=200, savers=60, warmup=100, healthz_seconds=3)


@dataclass(frozen=True)
class Seeded:
    """What the server is measured on."""

    station_id: int
    token: str  # the station tablet's device token
    device_id: int
    clerk_id: int  # the coordinator, on duty at the tablet
    items: dict[str, int]  # name -> catalogue item id
    volunteers: list[str]  # member keys: the burst's, then the warm-up's, then the savers'


# -- setup (not timed) -------------------------------------------------------------


def seed(database: Database, settings: Settings, now: dt.datetime) -> Seeded:
    """A community, its station and catalogue, a coordinator who set up the tablet, funded volunteers.

    The volunteers go in by bulk SQL; their points come as one service credit
    each, through the ledger, so the books balance as they would for real.
    Savers get points for exactly VOUCHERS_AFFORDED vouchers.
    """
    with database.session() as session:
        parent = None
        for name, level in (("陕县", "district"), ("大营镇", "street"), ("东城社区", "community")):
            parent = create_organisation(session, name=name, level=level, parent_id=parent and parent.id, actor=SETUP_ACTOR, now=now)
        community = parent
        station = create_station(session, community.id, {"name": "26度万家驿站", "address": "人民路26号"}, actor=SETUP_ACTOR, now=now)
        rules.open_system_accounts(session, now=now)
        counter.open_station_accounts(session, station.id, now=now)
        items = {}
        for name, kind, price, stock, extra in (
            ("大米 5kg", "goods", 60, settings.volunteers, {"limit_per_day": 2}),
            ("食用油 5L", "goods", 50, settings.volunteers, {}),
            ("洗衣液", "goods", 15, settings.volunteers, {}),
            ("鸡蛋一盒", "goods", 10, settings.eggs, {}),
            ("理发服务", "service", 20, None, {}),
            ("茶叶券", "voucher", VOUCHER_PRICE, 10 * settings.volunteers, {}),
        ):
            item = catalogue.create_item(session, {"name": name, "kind": kind, "price": price, "station_id": station.id, **extra}, actor=SETUP_ACTOR, now=now)
            if stock:
                catalogue.change_stock(session, station.id, {"item_id": item.id, "change": stock, "reason": "received"}, actor=SETUP_ACTOR, now=now)
            items[name] = item.id
        total = settings.volunteers + settings.warmup + settings.savers
        people = [
            {
                "phone": f"139{n:08d}", "real_name": f"志愿者{n}", "home_organisation_id": community.id,
                "status": Status.ACTIVE.value, "member_key": secrets.token_hex(16), "created_at": now, "approved_at": now,
            }
            for n in range(total + 1)
        ]
        session.execute(insert(Person), people)
        ids = list(session.scalars(select(Person.id).order_by(Person.id)))
        coordinator, volunteer_ids = ids[0], ids[1:]
        grants = [{"person_id": coordinator, "role": Role.COORDINATOR.value}] + [{"person_id": v, "role": Role.VOLUNTEER.value} for v in volunteer_ids]
        session.execute(insert(RoleGrant), [{**g, "organisation_id": community.id, "granted_at": now} for g in grants])
        for n, volunteer in enumerate(volunteer_ids):
            points = POINTS if n < settings.volunteers + settings.warmup else VOUCHERS_AFFORDED * VOUCHER_PRICE
            rules.open_volunteer_accounts(session, volunteer, categories=("elderly",), now=now)
            ledger.post(session, rules.service_credit_legs(volunteer, minutes=60, category="elderly", points=points),
                        kind="service_credit", idempotency_key=f"bench-credit:{volunteer}", actor=coordinator, now=now)
        session.flush()
        token, plain = create_device_token(session, {"name": "前台平板", "scope_type": "station", "scope_id": station.id},
                                            actor=actor_for(session, session.get(Person, coordinator)), now=now)
        keys = list(session.scalars(select(Person.member_key).where(Person.id.in_(volunteer_ids)).order_by(Person.id)))
        seeded = Seeded(station.id, plain, token.id, coordinator, items, keys)
        session.commit()
    return seeded


def with_bearer(request: bytes, seeded: Seeded, secret_key: str) -> bytes:
    """The request with the station tablet's `Authorization: Bearer` header and its clerk's duty ticket."""
    duty = timed_serializer(secret_key, DUTY_SALT, utcnow()).dumps([seeded.device_id, seeded.clerk_id, 1])
    return request.replace(b"\r\n", f"\r\nAuthorization: Bearer {seeded.token}\r\nX-Counter-Duty: {duty}\r\n".encode(), 1)


def baskets(port: int, seeded: Seeded, secret_key: str, member_keys: Sequence[str], lines_of, label: str) -> list[bytes]:
    """One redemption request per member key, with a visit ticket as the counter's scan gives it and its own basket key."""
    tickets = timed_serializer(secret_key, counter.VISIT_SALT, utcnow())
    path = f"/api/v1/stations/{seeded.station_id}/redemptions"
    return [
        with_bearer(http_request(port, "POST", path, body={
            "visit": tickets.dumps([key, seeded.station_id]), "idempotency_key": f"{label}-{n:06d}-{secrets.token_hex(4)}",
            "lines": [{"item_id": seeded.items[name], "quantity": quantity} for name, quantity in lines_of(n)],
        }), seeded, secret_key)
        for n, key in enumerate(member_keys)
    ]


BURST_BASKETS = (
    (("大米 5kg", 1),),
    (("食用油 5L", 1), ("洗衣液", 2)),
    (("理发服务", 1), ("洗衣液", 1)),
    (("大米 5kg", 1), ("理发服务", 1), ("茶叶券", 2)),
)


def check_token(port: int, seeded: Seeded, secret_key: str) -> None:
    """Refuse to measure anything if the device token does not open the station's counter."""
    request = with_bearer(http_request(port, "GET", f"/api/v1/stations/{seeded.station_id}/catalogue", close=True), seeded, secret_key)
    answer = exchange(port, request)
    if not answer.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"the device token was not accepted: {answer[:300]!r}")


# -- counting ---------------------------------------------------------------------


@dataclass(frozen=True)
class Books:
    """What the database holds after the run."""

    redemptions: int
    oversold: int
    overdrawn: int
    extra_transactions: int  # ledger transactions beyond one per redemption
    sold: dict[int, int]  # item id -> units redeemed
    vouchers_per_saver: dict[int, int]  # how many savers got each number of vouchers
    reconciled: bool
    breaches: int


def count_books(database: Database, seeded: Seeded, savers: Sequence[str]) -> Books:
    """Count redemptions, stock and balances; reconcile every station; verify the ledger."""
    with database.session(write=False) as session:
        redemptions = session.scalar(select(func.count()).select_from(Redemption))
        sold = dict(session.execute(select(RedemptionLine.item_id, func.sum(RedemptionLine.quantity)).group_by(RedemptionLine.item_id)).all())
        received = dict(session.execute(
            select(StockMovement.item_id, func.sum(StockMovement.change)).where(StockMovement.reason == MovementReason.RECEIVED.value)
            .group_by(StockMovement.item_id)).all())
        tracked = set(session.scalars(select(CatalogueItem.id).where(CatalogueItem.tracks_stock)))
        oversold = sum(max(0, int(sold.get(item, 0)) - int(received.get(item, 0))) for item in tracked)
        oversold += max(0, -(session.scalar(select(func.min(StationStock.quantity))) or 0))
        overdrawn = session.scalar(select(func.count()).select_from(Account).where(
            Account.owner_type == OwnerType.VOLUNTEER.value, Account.commodity == Commodity.PTS.value, Account.balance < 0))
        per_redemption = select(func.count().label("n")).where(Transaction.ref_type == "redemption", Transaction.kind == "redemption").group_by(Transaction.ref_id).subquery()
        extra = session.scalar(select(func.coalesce(func.sum(per_redemption.c.n - 1), 0)))
        voucher = seeded.items["茶叶券"]
        got = dict(session.execute(
            select(Person.member_key, func.coalesce(func.sum(RedemptionLine.quantity), 0))
            .outerjoin(Redemption, Redemption.volunteer_id == Person.id)
            .outerjoin(RedemptionLine, (RedemptionLine.redemption_id == Redemption.id) & (RedemptionLine.item_id == voucher))
            .where(Person.member_key.in_(savers)).group_by(Person.member_key)).all())
        vouchers = Counter(int(got.get(key, 0)) for key in savers)
        reconciled = all(r.agrees for r in reports.reconcile_all(session))
        breaches = len(list(ledger.verify(session)))
    return Books(redemptions, oversold, overdrawn, int(extra), {k: int(v) for k, v in sold.items()}, dict(vouchers), reconciled, breaches)


# -- the run ------------------------------------------------------------------------


def measure(database: Database, url: str, settings: Settings, directory: Path) -> dict[str, object]:
    """Seed, serve, load, count: every figure of the run."""
    n = settings.volunteers
    note(f"seeding a station, its catalogue and {n + settings.warmup + settings.savers:,} volunteers ...")
    seeded = seed(database, settings, utcnow())
    secret_key = secrets.token_urlsafe(32)
    env = {
        "TIMEBANK_DATABASE_URL": url, "TIMEBANK_SECRET_KEY": secret_key,
        "TIMEBANK_DATA_KEY": secrets.token_urlsafe(32), "TIMEBANK_INSTANCE_PATH": str(directory),
    }
    crowd = seeded.volunteers[:n]
    warmers = seeded.volunteers[n:n + settings.warmup]
    savers = seeded.volunteers[n + settings.warmup:]
    note(f"starting gunicorn with {WORKERS} workers ...")
    with gunicorn("wsgi:app", env=env, workers=WORKERS, log=directory / "gunicorn.log") as port:
        check_token(port, seeded, secret_key)
        healthz = [http_request(port, "GET", "/healthz")]
        burst_requests = baskets(port, seeded, secret_key, crowd, lambda i: BURST_BASKETS[i % len(BURST_BASKETS)], "burst")

        def run(requests: list[bytes]) -> Load:
            return wrk(port, "once", requests, connections=min(CONCURRENCY, len(requests)), directory=directory)

        note("warming up ...")
        wrk(port, "repeat", healthz, connections=CONCURRENCY, directory=directory, seconds=1)
        warm = run(baskets(port, seeded, secret_key, warmers, lambda i: BURST_BASKETS[i % len(BURST_BASKETS)], "warmup"))
        note(f"/healthz for {settings.healthz_seconds} s, the burst of {n:,} redemptions, /healthz again ...")
        before = wrk(port, "repeat", healthz, connections=CONCURRENCY, directory=directory, seconds=settings.healthz_seconds)
        burst = run(burst_requests)
        after = wrk(port, "repeat", healthz, connections=CONCURRENCY, directory=directory, seconds=settings.healthz_seconds)
        note(f"oversell: {n:,} volunteers at once for {settings.eggs} boxes of eggs ...")
        oversell = run(baskets(port, seeded, secret_key, crowd, lambda _i: (("鸡蛋一盒", 1),), "eggs"))
        note(f"overdraw: {settings.savers} volunteers, {VOUCHERS_ASKED} baskets each at once, points for {VOUCHERS_AFFORDED} ...")
        asking = [key for key in savers for _ in range(VOUCHERS_ASKED)]
        overdraw = run(baskets(port, seeded, secret_key, asking, lambda _i: (("茶叶券", 1),), "vouchers"))
        rss_mb = workers_peak_rss_mb(port)
    books = count_books(database, seeded, savers)
    return {**report(settings, seeded, before + after, warm, burst, oversell, overdraw, books), "rss_mb": rss_mb}


def unexpected(load: Load, *, allowed: tuple[int, ...] = (201,)) -> int:
    """Answers with a status the run does not expect, and requests lost to socket errors or timeouts."""
    return sum(count for status, count in load.statuses.items() if status not in allowed) + load.socket_errors


def report(settings: Settings, seeded: Seeded, floor: Load, warm: Load, burst: Load, oversell: Load, overdraw: Load, books: Books) -> dict[str, object]:
    """Print the tables; return the figures."""
    ratio = burst.per_s / floor.per_s
    created = sum(load.statuses.get(201, 0) for load in (warm, burst, oversell, overdraw))
    eggs_sold = books.sold.get(seeded.items["鸡蛋一盒"], 0)
    errors = unexpected(floor, allowed=(200,)) + unexpected(warm) + unexpected(burst) + unexpected(oversell, allowed=(201, 409)) + unexpected(overdraw, allowed=(201, 409))
    doubled = max(0, books.redemptions - created) + books.extra_transactions
    lost = max(0, created - books.redemptions)

    def row(name: str, load: Load) -> list[str]:
        statuses = " ".join(f"{status}×{count}" for status, count in sorted(load.statuses.items()))
        return [name, f"{load.answered:,}", f"{load.per_s:,.0f}", f"{percentile(load.latencies_ms, 0.5):.1f}",
                f"{percentile(load.latencies_ms, 0.99):.1f}", statuses or "-"]

    print_table(
        f"Counter API under gunicorn ({WORKERS} sync workers), {CONCURRENCY} connections, one station tablet's token",
        ["run", "requests", "per s", "p50 ms", "p99 ms", "answers"],
        [row("GET /healthz", floor), row("redemption burst", burst), row(f"oversell: {settings.eggs} in stock", oversell),
         row(f"overdraw: {VOUCHERS_AFFORDED} of {VOUCHERS_ASKED} affordable", overdraw)],
    )
    print_table(
        "Aims and integrity",
        ["figure", "value", "aim"],
        [
            ["ratio redemption/healthz", f"{ratio:.2f}", ">= 0.33"],
            ["eggs sold", f"{eggs_sold} of {settings.eggs}", str(settings.eggs)],
            ["savers by vouchers got", ", ".join(f"{k}: {v}" for k, v in sorted(books.vouchers_per_saver.items())), f"{VOUCHERS_AFFORDED}: {settings.savers}"],
            ["oversold units", str(books.oversold), "0"],
            ["overdrawn accounts", str(books.overdrawn), "0"],
            ["doubled redemptions", str(doubled), "0"],
            ["lost redemptions", str(lost), "0"],
            ["unexpected answers", str(errors), "0"],
            ["stations reconciled", "yes" if books.reconciled else "NO", "yes"],
            ["ledger breaches", str(books.breaches), "0"],
        ],
    )
    return {
        "n": settings.volunteers,
        "workers": WORKERS,
        "concurrency": CONCURRENCY,
        "per_s": round(burst.per_s),
        "ratio": round(ratio, 3),
        "p50_ms": round(percentile(burst.latencies_ms, 0.5), 1),
        "p99_ms": round(percentile(burst.latencies_ms, 0.99), 1),
        "oversell_per_s": round(oversell.per_s),
        "oversell_p99_ms": round(percentile(oversell.latencies_ms, 0.99), 1),
        "eggs": settings.eggs,
        "eggs_sold": eggs_sold,
        "savers_exact": books.vouchers_per_saver.get(VOUCHERS_AFFORDED, 0) == settings.savers,
        "oversold": books.oversold,
        "overdrawn": books.overdrawn,
        "doubled": doubled,
        "lost": lost,
        "errors": errors,
        "reconciled": books.reconciled,
        "ledger_breaches": books.breaches,
        "healthz_per_s": round(floor.per_s),
        "healthz_p99_ms": round(percentile(floor.latencies_ms, 0.99), 1),
    }


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the command line, measure on a fresh database, print the tables and the JSON line."""
    run_server_bench("redeem", __doc__, measure, quick=QUICK, full=FULL, argv=argv)


if __name__ == "__main__":
    main()
