"""Ledger benchmark: posting rate against raw SQL, credit scaling, read flatness, verification.

Run as `python -m bench.ledger [--db sqlite|postgres] [--quick]`. On one fresh
migrated database it measures (DESIGN.md, "Performance yardsticks"):

1. Posting rate. One-point redemptions (`vol:i:PTS -1`, `station:1:PTS +1`)
   through `ledger.post()`, each in its own session and commit as a request
   would post it, against a floor: the same rows written through the DB-API
   driver with the fewest statements that keep the ledger's guarantees (BEGIN,
   INSERT the transaction, the guarded balance UPDATE per account in id order,
   INSERT both postings, COMMIT). Same tables, same triggers. The two take
   turns in rounds, the best of each counts; `ratio` = post/raw, aim >= 1/3.
2. Credit scaling. Service credits (six legs, three of them on the
   `sys:issuance:*` accounts) posted by 1 and by 8 writer processes, each
   crediting its own volunteers. Processes, not threads, so that the GIL does
   not hide how the database scales. On PostgreSQL the speedup shows whether
   the issuance accounts are a hot row every credit queues behind (they must
   not be), and sampling pg_stat_activity shows how often a backend waits on
   a lock: the speedup alone is capped by the machine's cores, since the
   writers' Python needs CPU too. SQLite takes one writer at a time by
   design, so expect a speedup of about 1 there.
3. Read flatness. `ledger.balance()` and the first statement page of an
   account with 1,000 postings and of one with 1,000,000 (100,000 with
   `--quick`), loaded in bulk SQL; the ratios big/small should be about 1.
4. Verification. `ledger.verify()` over the whole database, in seconds per
   million postings; it must find no breach, including in the rows the raw
   floor and the bulk load wrote.

The last line printed is one JSON object of the figures.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import multiprocessing
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.orm import Session

from bench.common import (
    best_of_rounds,
    dbapi_connection,
    dbapi_sql,
    fresh_database,
    median_seconds,
    note,
    parse_args,
    print_figures,
    print_table,
    rate_for,
    run_for,
    warm_up,
)
from timebank import ledger
from timebank.db import Database, UTCDateTime
from timebank.ledger import Account, Commodity, Kind, Leg, OwnerType, Posting, rules

ACTOR = 1
NOW = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.timezone.utc)
STATION = 1
CATEGORY = "elderly"
WRITERS = 8
VOLUNTEERS_PER_WRITER = 25
VOLUNTEERS = range(1, WRITERS * VOLUNTEERS_PER_WRITER + 1)
FUNDING = 1_000_000  # points per volunteer: one-point redemptions never run out
SMALL_HISTORY = 1_000
SMALL_VOLUNTEER, BIG_VOLUNTEER = 900_001, 900_002  # owners of the read-flatness accounts
WRITER_WARMUP = 10  # credits each writer process posts before the barrier
WRITER_START_TIMEOUT = 120  # seconds for every writer process to start and warm up


@dataclass(frozen=True)
class Settings:
    """How long and how big each measurement is."""

    seconds: float  # per timed round
    rounds: int  # alternating rounds of each comparison; the best is reported
    warmup: int  # untimed calls before timing each posting path and each read
    big_history: int  # postings on the big account
    read_repetitions: int  # calls per read timing; the median is reported


QUICK = Settings(seconds=1.5, rounds=2, warmup=50, big_history=100_000, read_repetitions=200)
FULL = Settings(seconds=4.0, rounds=3, warmup=200, big_history=1_000_000, read_repetitions=200)


# -- accounts -------------------------------------------------------------------


def open_accounts(db: Database) -> None:
    """The system accounts, the station, and every volunteer's accounts, the spenders funded."""
    with db.session() as session:
        rules.open_system_accounts(session, now=NOW)
        ledger.open_account(
            session,
            rules.station_code(STATION),
            commodity=Commodity.PTS,
            owner_type=OwnerType.STATION,
            owner_id=STATION,
            now=NOW,
        )
        for volunteer in [*VOLUNTEERS, SMALL_VOLUNTEER, BIG_VOLUNTEER]:
            rules.open_volunteer_accounts(session, volunteer, categories=(CATEGORY,), now=NOW)
        session.commit()
    fund = poster(db, Kind.SERVICE_CREDIT, "fund", funding_legs)
    for _ in VOLUNTEERS:
        fund()


def account_ids(db: Database) -> dict[str, int]:
    """Every account's id by its code."""
    with db.session(write=False) as session:
        return dict(session.execute(select(Account.code, Account.id)).all())


def funding_legs(n: int) -> list[Leg]:
    """A service credit carrying enough points for the n-th volunteer never to run out."""
    return rules.service_credit_legs(VOLUNTEERS[n], minutes=60, category=CATEGORY, points=FUNDING)


def redemption_legs(n: int) -> list[Leg]:
    """The n-th one-point redemption, the volunteers taking turns."""
    return rules.redemption_legs(VOLUNTEERS[n % len(VOLUNTEERS)], STATION, 1)


def credit_legs(writer: int, n: int) -> list[Leg]:
    """The n-th service credit of a writer, to its own volunteers in turn."""
    volunteer = VOLUNTEERS[writer * VOLUNTEERS_PER_WRITER + n % VOLUNTEERS_PER_WRITER]
    return rules.service_credit_legs(volunteer, minutes=60, category=CATEGORY, points=10)


# -- 1. posting rate against raw SQL ----------------------------------------------


def poster(
    db: Database, kind: Kind, label: str, legs_for: Callable[[int], list[Leg]]
) -> Callable[[], None]:
    """Each call posts the next transaction, `legs_for(n)`, through `ledger.post()` in a session."""
    serial = itertools.count()

    def post_next() -> None:
        n = next(serial)
        with db.session() as session:
            ledger.post(
                session,
                legs_for(n),
                kind=kind,
                idempotency_key=f"bench:{label}:{n}",
                actor=ACTOR,
                now=NOW,
            )
            session.commit()

    return post_next


INSERT_TRANSACTION = """
INSERT INTO transactions (kind, idempotency_key, fingerprint, memo, ref_type, ref_id,
                          actor_id, event_at, created_at, reverses_id)
VALUES (:kind, :key, :fingerprint, NULL, NULL, NULL, :actor, :now, :now, NULL)
RETURNING id
"""
UPDATE_BALANCE = """
UPDATE accounts SET balance = balance + :delta
WHERE id = :id AND (allow_negative OR balance + :delta - held >= 0)
RETURNING balance
"""
INSERT_TWO_POSTINGS = """
INSERT INTO postings (transaction_id, account_id, commodity, amount, balance_after)
VALUES (:txn, :account_0, :commodity, :amount_0, :after_0),
       (:txn, :account_1, :commodity, :amount_1, :after_1)
"""


def raw_poster(connection: Any, dialect: str, ids: Mapping[str, int]) -> Callable[[], None]:
    """Each call writes the next redemption's rows through the DB-API driver: `post()`'s floor."""
    begin = "BEGIN IMMEDIATE" if dialect == "sqlite" else "BEGIN"
    insert_transaction, update_balance, insert_postings = (
        dbapi_sql(sql, dialect) for sql in (INSERT_TRANSACTION, UPDATE_BALANCE, INSERT_TWO_POSTINGS)
    )
    now = NOW.replace(tzinfo=None).isoformat(" ") if dialect == "sqlite" else NOW
    serial = itertools.count()

    def post_next() -> None:
        n = next(serial)
        key = f"bench:raw:{n}"
        legs = [(ids[leg.code], leg.amount) for leg in redemption_legs(n)]
        connection.execute(begin)
        txn = connection.execute(insert_transaction, raw_transaction_row(key, now)).fetchone()[0]
        after = raw_move_balances(connection, update_balance, legs)
        connection.execute(insert_postings, raw_postings_row(txn, legs, after))
        connection.execute("COMMIT")

    return post_next


def raw_transaction_row(key: str, now: object) -> dict[str, object]:
    """The raw floor's transaction row, fingerprint included."""
    return {
        "kind": Kind.REDEMPTION.value,
        "key": key,
        "fingerprint": hashlib.sha256(key.encode()).hexdigest(),
        "actor": ACTOR,
        "now": now,
    }


def raw_move_balances(
    connection: Any, update_balance: str, legs: list[tuple[int, int]]
) -> dict[int, int]:
    """The guarded balance UPDATE per account, in id order; each account's balance after it."""
    after = {}
    for account_id, amount in sorted(legs):
        row = connection.execute(update_balance, {"id": account_id, "delta": amount}).fetchone()
        if row is None:
            raise RuntimeError(f"account #{account_id} cannot take {amount}: fund it first")
        after[account_id] = row[0]
    return after


def raw_postings_row(
    txn: int, legs: list[tuple[int, int]], after: Mapping[int, int]
) -> dict[str, object]:
    """The parameters of the two-row postings INSERT, legs in their given order."""
    params: dict[str, object] = {"txn": txn, "commodity": Commodity.PTS.value}
    for i, (account_id, amount) in enumerate(legs):
        params |= {
            f"account_{i}": account_id,
            f"amount_{i}": amount,
            f"after_{i}": after[account_id],
        }
    return params


def posting_rates(db: Database, settings: Settings) -> dict[str, float]:
    """Redemptions per second through `post()` and through raw SQL: best of alternating rounds."""
    with dbapi_connection(db) as connection:
        paths = {
            "post": poster(db, Kind.REDEMPTION, "post", redemption_legs),
            "raw": raw_poster(connection, db.dialect, account_ids(db)),
        }
        for post_next in paths.values():
            warm_up(post_next, settings.warmup)
        return best_of_rounds(
            settings.rounds,
            {
                name: partial(rate_for, settings.seconds, post_next)
                for name, post_next in paths.items()
            },
        )


# -- 2. concurrent credits -------------------------------------------------------


def credit_writer(
    url: str, run: str, writer: int, settings: Settings, barrier: Any, results: Any
) -> None:
    """One writer process: warm up, wait for the others, then credit its own volunteers."""
    db = Database(url)
    credit = poster(db, Kind.SERVICE_CREDIT, f"credit:{run}:{writer}", partial(credit_legs, writer))
    warm_up(credit, WRITER_WARMUP)
    barrier.wait(timeout=WRITER_START_TIMEOUT)
    results.put(run_for(settings.seconds, credit))
    db.dispose()


def credit_rate(url: str, writers: int, settings: Settings) -> float:
    """Service credits per second, summed over `writers` processes started together."""
    run = uuid.uuid4().hex[:12]  # fresh idempotency keys: a repeated key would post nothing
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(writers), context.Queue()
    processes = [
        context.Process(target=credit_writer, args=(url, run, writer, settings, barrier, results))
        for writer in range(writers)
    ]
    for process in processes:
        process.start()
    try:
        runs = collect(results, processes, WRITER_START_TIMEOUT + 10 * settings.seconds)
    except BaseException:
        for process in processes:
            process.terminate()
        raise
    finally:
        for process in processes:
            process.join()
    return sum(calls for calls, _ in runs) / max(elapsed for _, elapsed in runs)


def collect(results: Any, processes: Sequence[Any], timeout: float) -> list[Any]:
    """One result from each process, or RuntimeError as soon as one of them has died."""
    runs: list[Any] = []
    deadline = time.monotonic() + timeout
    while len(runs) < len(processes):
        try:
            runs.append(results.get(timeout=1))
        except queue.Empty:
            if any(process.exitcode for process in processes) or time.monotonic() > deadline:
                raise RuntimeError(
                    "a writer process failed or hung (its traceback is above)"
                ) from None
    return runs


LOCK_SAMPLE_INTERVAL = 0.01  # seconds between samples of pg_stat_activity
LOCK_WAITS = text(
    "SELECT count(*) FILTER (WHERE wait_event_type = 'Lock'), count(*) FROM pg_stat_activity "
    "WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()"
)


@dataclass
class LockWaits:
    """Sampled active backends of the database, and how many of them were waiting on a lock."""

    waiting: int = 0
    active: int = 0
    sampled: bool = False

    @property
    def share(self) -> float | None:
        """The share of active backends found waiting on a lock; None where nothing was sampled."""
        if not self.sampled:
            return None
        return self.waiting / self.active if self.active else 0.0


@contextmanager
def sampling_lock_waits(db: Database, waits: LockWaits) -> Iterator[None]:
    """While inside, add to `waits` the backends seen waiting on a lock (PostgreSQL only)."""
    if db.dialect != "postgresql":
        yield
        return
    stop = threading.Event()

    def sample() -> None:
        with db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT")  # a fresh snapshot each time
            while not stop.wait(LOCK_SAMPLE_INTERVAL):
                waiting, active = conn.execute(LOCK_WAITS).one()
                waits.waiting += waiting
                waits.active += active
                waits.sampled = True

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield
    finally:
        stop.set()
        sampler.join()


# -- 3. read flatness ----------------------------------------------------------------

HISTORY_AMOUNT = 10  # points per bulk-loaded credit
SERIES = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count) "
BULK_TRANSACTIONS = SERIES + """
INSERT INTO transactions (id, kind, idempotency_key, fingerprint, actor_id, event_at, created_at)
SELECT :last_transaction + i, :kind, :key_prefix || CAST(i AS TEXT), :fingerprint, :actor,
       :now, :now
FROM n
"""
BULK_POSTINGS = SERIES + """
INSERT INTO postings (id, transaction_id, account_id, commodity, amount, balance_after)
SELECT :last_posting + 2 * i - 1, :last_transaction + i, :account, :commodity, :amount,
       :opening + :amount * i
FROM n
UNION ALL
SELECT :last_posting + 2 * i, :last_transaction + i, :counter, :commodity, -:amount, NULL
FROM n
"""
BULK_BALANCE = "UPDATE accounts SET balance = balance + :amount * :count WHERE id = :account"
POSTGRES_SEQUENCES = [
    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
    for table in ("transactions", "postings")
]


def load_history(db: Database, volunteer: int, postings: int) -> str:
    """Give the volunteer's PTS account `postings` credits in bulk SQL; return its code.

    Each transaction has two balanced postings, the volunteer's (with its
    running balance after) and the derived-balance issuance account's, and
    the account's balance column ends at their sum. Ids are given explicitly
    so that posting order is balance order. On PostgreSQL the ledger's
    triggers are skipped for the load (session_replication_role = replica);
    `verify()` checks the result afterwards.
    """
    code = rules.volunteer_code(volunteer, Commodity.PTS)
    with db.session() as session:
        if db.dialect == "postgresql":
            session.execute(text("SET LOCAL session_replication_role = replica"))
        params = history_params(session, code, postings)
        session.execute(
            text(BULK_TRANSACTIONS).bindparams(bindparam("now", type_=UTCDateTime())), params
        )
        session.execute(text(BULK_POSTINGS), params)
        session.execute(text(BULK_BALANCE), params)
        if db.dialect == "postgresql":
            for sql in POSTGRES_SEQUENCES:
                session.execute(text(sql))
        session.commit()
    return code


def history_params(session: Session, code: str, postings: int) -> dict[str, object]:
    """What the bulk load needs: the accounts, the amounts, and the ids to continue from."""
    account = ledger.get_account(session, code)
    return {
        "count": postings,
        "last_transaction": max_id(session, "transactions"),
        "last_posting": max_id(session, "postings"),
        "kind": Kind.SERVICE_CREDIT.value,
        "key_prefix": f"bench:history:{code}:",
        # One fingerprint for all: it only tells a retry from a reused key, and none is retried.
        "fingerprint": hashlib.sha256(f"bench:history:{code}".encode()).hexdigest(),
        "actor": ACTOR,
        "now": NOW,
        "account": account.id,
        "counter": ledger.get_account(session, rules.ISSUANCE[Commodity.PTS]).id,
        "commodity": Commodity.PTS.value,
        "amount": HISTORY_AMOUNT,
        "opening": account.balance,
    }


def max_id(session: Session, table: str) -> int:
    """The highest id in a ledger table, 0 when it is empty."""
    return session.scalar(text(f"SELECT COALESCE(MAX(id), 0) FROM {table}"))


def analyze(db: Database) -> None:
    """Refresh the planner's statistics after the bulk load."""
    with db.engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()


def read_times(
    db: Database, codes: Mapping[str, str], settings: Settings
) -> dict[tuple[str, str], float]:
    """Median seconds of `balance()` and of the first statement page of 50, by (read, history)."""
    with db.session(write=False) as session:
        reads: dict[tuple[str, str], Callable[[], object]] = {}
        for history, code in codes.items():
            reads["balance", history] = partial(ledger.balance, session, code)
            reads["statement", history] = partial(ledger.statement, session, code, limit=50)
        for read in reads.values():
            warm_up(read, settings.warmup)
        return median_seconds(reads, settings.read_repetitions)


# -- 4. verification -----------------------------------------------------------------


def verify_ledger(db: Database) -> tuple[list[ledger.Breach], float, int]:
    """The breaches `verify()` finds, the seconds it took, and how many postings it checked."""
    with db.session(write=False) as session:
        postings = session.scalar(select(func.count()).select_from(Posting))
        start = time.perf_counter()
        breaches = list(ledger.verify(session))
        return breaches, time.perf_counter() - start, postings


# -- the run -------------------------------------------------------------------------


def posting_figures(db: Database, settings: Settings) -> dict[str, object]:
    """Measure and print the posting rate of `post()` against the raw-SQL floor."""
    note("posting: ledger.post() against raw SQL ...")
    rates = posting_rates(db, settings)
    post_per_s, raw_per_s = rates["post"], rates["raw"]
    ratio = post_per_s / raw_per_s
    print_table(
        f"Posting one-point redemptions, one commit each (best of {settings.rounds} rounds)",
        ["path", "transactions/s"],
        [
            ["ledger.post()", f"{post_per_s:,.0f}"],
            ["raw SQL through the driver", f"{raw_per_s:,.0f}"],
            ["ratio post/raw (aim >= 0.33)", f"{ratio:.2f}"],
        ],
    )
    return {
        "post_per_s": round(post_per_s),
        "raw_per_s": round(raw_per_s),
        "ratio": round(ratio, 3),
    }


def credit_figures(db: Database, url: str, settings: Settings) -> dict[str, object]:
    """Measure and print service credits per second with 1 and with 8 writer processes."""
    note(f"credits: 1 and {WRITERS} writer processes ...")
    waits = LockWaits()

    def many_writers() -> float:
        with sampling_lock_waits(db, waits):
            return credit_rate(url, WRITERS, settings)

    rates = best_of_rounds(
        settings.rounds, {"one": partial(credit_rate, url, 1, settings), "many": many_writers}
    )
    credit_1, credit_8 = rates["one"], rates["many"]
    speedup = credit_8 / credit_1
    lock_share = "n/a" if waits.share is None else f"{waits.share:.1%}"
    print_table(
        "Service credits (6 legs, 3 on sys:issuance:*), each writer its own volunteers"
        f" (best of {settings.rounds})",
        ["writer processes", "credits/s"],
        [
            ["1", f"{credit_1:,.0f}"],
            [str(WRITERS), f"{credit_8:,.0f}"],
            [f"speedup {WRITERS} writers", f"{speedup:.2f}"],
            [f"lock waits among active backends ({WRITERS} writers)", lock_share],
        ],
    )
    return {
        "credit_per_s_1": round(credit_1),
        "credit_per_s_8": round(credit_8),
        "speedup_8_writers": round(speedup, 2),
        "lock_wait_share_8_writers": None if waits.share is None else round(waits.share, 3),
    }


def read_figures(db: Database, settings: Settings) -> dict[str, object]:
    """Load a small and a big history, then measure and print balance and statement read times."""
    note(f"loading histories of {SMALL_HISTORY:,} and {settings.big_history:,} postings ...")
    sizes = {"small": SMALL_HISTORY, "big": settings.big_history}
    codes = {
        "small": load_history(db, SMALL_VOLUNTEER, SMALL_HISTORY),
        "big": load_history(db, BIG_VOLUNTEER, settings.big_history),
    }
    analyze(db)
    note("reading balances and statements ...")
    ms = {key: seconds * 1e3 for key, seconds in read_times(db, codes, settings).items()}
    ratios = {read: ms[read, "big"] / ms[read, "small"] for read in ("balance", "statement")}
    print_table(
        f"Reads of one account (median of {settings.read_repetitions}, taking turns)",
        ["history", "postings", "balance() ms", "statement() ms"],
        [
            *(
                [h, f"{n:,}", f"{ms['balance', h]:.3f}", f"{ms['statement', h]:.3f}"]
                for h, n in sizes.items()
            ),
            ["ratio big/small", "", f"{ratios['balance']:.2f}", f"{ratios['statement']:.2f}"],
        ],
    )
    return {
        "big_history": settings.big_history,
        **{
            f"{read}_ms_{h}": round(ms[read, h], 3)
            for read in ("balance", "statement")
            for h in sizes
        },
        "read_ratio": round(ratios["statement"], 2),
        "balance_read_ratio": round(ratios["balance"], 2),
    }


def verify_figures(db: Database) -> dict[str, object]:
    """Measure and print how long `verify()` takes over the whole database, and what it finds."""
    note("verifying the whole ledger ...")
    breaches, verify_s, postings = verify_ledger(db)
    per_million = verify_s * 1e6 / postings
    print_table(
        "ledger.verify() over the whole database",
        ["postings", "seconds", "s per million postings", "breaches"],
        [[f"{postings:,}", f"{verify_s:.2f}", f"{per_million:.2f}", str(len(breaches))]],
    )
    for breach in breaches:
        print(f"  breach: {breach}")
    return {
        "postings": postings,
        "verify_s": round(verify_s, 2),
        "verify_s_per_million_postings": round(per_million, 2),
        "breaches": len(breaches),
    }


def measure(db: Database, url: str, settings: Settings) -> dict[str, object]:
    """Run every measurement on one database, printing its tables; return all the figures."""
    note("opening and funding accounts ...")
    open_accounts(db)
    return {
        **posting_figures(db, settings),
        **credit_figures(db, url, settings),
        **read_figures(db, settings),
        **verify_figures(db),
    }


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the command line, measure on a fresh database, print the tables and the JSON line."""
    args = parse_args("bench.ledger", __doc__.splitlines()[0], argv)
    settings = QUICK if args.quick else FULL
    print(f"ledger benchmark on {args.db}{' (quick)' if args.quick else ''}")
    with fresh_database(args.db, "ledger") as url:
        db = Database(url)
        try:
            figures = measure(db, url, settings)
        finally:
            db.dispose()
    print_figures({"bench": "ledger", "db": args.db, "quick": args.quick, **figures})


if __name__ == "__main__":
    main()
