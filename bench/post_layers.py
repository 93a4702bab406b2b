"""Where `post()`'s time goes between the raw floor and a request's posting, one layer at a time.

Run as `python -m bench.post_layers [--db sqlite|postgres] [--quick]`. On a
fresh database set up as bench.ledger sets it up, the same one-point
redemption is written five ways, taking turns in rounds (the best round of
each counts, as in bench.ledger):

1. `raw`: bench.ledger's floor, through the DB-API driver on one connection
   (BEGIN, INSERT the transaction, the guarded UPDATE of each balance, INSERT
   both postings, COMMIT).
2. `raw+lookup`: the same, with the SELECT of the accounts by code that
   `post()` needs (it is given codes, not ids).
3. `core`: `post()`'s own prebuilt Core statements on a SQLAlchemy Connection
   held open (no pool, no ORM session).
4. `connection`: as 3, with a connection taken from the pool and given back
   for each posting (on PostgreSQL the pool pings it first).
5. `post`: `ledger.post()` in a new ORM session with its commit, as a request
   posts it (bench.ledger's `post`).

Each step's cost is its time per posting less the step before it. The last
line printed is one JSON object of the rates (per second) and the costs (µs).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from sqlalchemy import select

from bench.common import best_of_rounds, dbapi_connection, dbapi_sql, fresh_database, note, parse_args, print_figures, print_table, rate_for, warm_up
from bench.ledger import (
    FULL, INSERT_TRANSACTION, INSERT_TWO_POSTINGS, QUICK, UPDATE_BALANCE, account_ids, open_accounts, poster, raw_move_balances,
    raw_postings_row, raw_poster, raw_transaction_row, redemption_legs,
)
from timebank.db import Database
from timebank.ledger import Kind
from timebank.ledger.models import Account
from timebank.ledger.posting import INSERT_POSTINGS, MOVE_BALANCE, RESOLVE_ACCOUNTS, _insert_transaction, transaction_fingerprint

NOW = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.timezone.utc)
LAYERS = ("raw", "raw+lookup", "core", "connection", "post")
LOOKUP = "SELECT id, code, commodity, running_balance, closed_at FROM accounts WHERE code IN (:code_0, :code_1)"


def raw_with_lookup(connection: Any, dialect: str) -> Callable[[], None]:
    """The floor, with the accounts looked up by code inside the transaction, as `post()` must (it is given codes)."""
    begin = "BEGIN IMMEDIATE" if dialect == "sqlite" else "BEGIN"
    lookup, insert_transaction, update_balance, insert_postings = (
        dbapi_sql(sql, dialect) for sql in (LOOKUP, INSERT_TRANSACTION, UPDATE_BALANCE, INSERT_TWO_POSTINGS)
    )
    now = NOW.replace(tzinfo=None).isoformat(" ") if dialect == "sqlite" else NOW
    serial = itertools.count()

    def post_next() -> None:
        n = next(serial)
        legs = redemption_legs(n)
        connection.execute(begin)
        ids = {row[1]: row[0] for row in connection.execute(lookup, {"code_0": legs[0].code, "code_1": legs[1].code}).fetchall()}
        txn = connection.execute(insert_transaction, raw_transaction_row(f"bench:lookup:{n}", now)).fetchone()[0]
        pairs = [(ids[leg.code], leg.amount) for leg in legs]
        after = raw_move_balances(connection, update_balance, pairs)
        connection.execute(insert_postings, raw_postings_row(txn, pairs, after))
        connection.execute("COMMIT")

    return post_next


def core_poster(database: Database, *, pooled: bool) -> Callable[[], None]:
    """`post()`'s statements, prebuilt, on a SQLAlchemy Connection: held open, or taken from the pool each time."""
    serial = itertools.count()
    held = None if pooled else database.engine.connect()

    def post_on(connection: Any) -> None:
        n = next(serial)
        legs = redemption_legs(n)
        accounts = {row.code: row for row in connection.execute(RESOLVE_ACCOUNTS, {"codes": sorted(leg.code for leg in legs)})}
        values = dict(kind="redemption", idempotency_key=f"bench:core:{pooled}:{n}", fingerprint=transaction_fingerprint("redemption", legs, None),
                      memo=None, ref_type=None, ref_id=None, actor_id=1, event_at=NOW, created_at=NOW, reverses_id=None)
        txn = connection.execute(_insert_transaction(connection.dialect.name), values).scalar()
        rows = []
        for leg in sorted(legs, key=lambda leg: accounts[leg.code].id):
            after = connection.execute(MOVE_BALANCE, {"account_id": accounts[leg.code].id, "delta": leg.amount, "release": 0}).first()
            rows.append(dict(transaction_id=txn, account_id=accounts[leg.code].id, commodity=accounts[leg.code].commodity, amount=leg.amount, balance_after=after.balance))
        connection.execute(INSERT_POSTINGS, rows)

    def post_next() -> None:
        if held is not None:
            with held.begin():
                post_on(held)
        else:
            with database.engine.begin() as connection:
                post_on(connection)

    return post_next


def measure(database: Database, settings: Any) -> dict[str, object]:
    """Rates of the five ways, and what each step costs."""
    note("opening and funding the accounts ...")
    open_accounts(database)
    with dbapi_connection(database) as raw, dbapi_connection(database) as raw_lookup:
        ids = account_ids(database)
        paths = {
            "raw": raw_poster(raw, database.dialect, ids),
            "raw+lookup": raw_with_lookup(raw_lookup, database.dialect),
            "core": core_poster(database, pooled=False),
            "connection": core_poster(database, pooled=True),
            "post": poster(database, Kind.REDEMPTION, "layers", redemption_legs),
        }
        for post_next in paths.values():
            warm_up(post_next, settings.warmup)
        note(f"{settings.rounds} rounds of {settings.seconds} s each way ...")
        rates = best_of_rounds(settings.rounds, {name: partial(rate_for, settings.seconds, post_next) for name, post_next in paths.items()})
    with database.session(write=False) as session:
        assert session.scalar(select(Account.id).limit(1)) is not None
    micros = {name: 1e6 / rates[name] for name in LAYERS}
    steps = {f"{after} - {before}": micros[after] - micros[before] for before, after in zip(LAYERS, LAYERS[1:])}
    print_table(f"One-point redemption, five ways, on {database.dialect}", ["way", "per s", "µs each", "ratio to raw"],
                [[name, f"{rates[name]:,.0f}", f"{micros[name]:,.0f}", f"{rates[name] / rates['raw']:.2f}"] for name in LAYERS])
    print_table("What each step costs", ["step", "µs"], [[step, f"{cost:,.0f}"] for step, cost in steps.items()])
    return {**{f"{name}_per_s": round(rates[name]) for name in LAYERS}, "ratio": round(rates["post"] / rates["raw"], 3),
            **{f"us_{step.replace(' - ', '_minus_').replace('+', '_')}": round(cost) for step, cost in steps.items()}}


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args("bench.post_layers", (__doc__ or "").splitlines()[0], argv)
    settings = QUICK if args.quick else FULL
    with fresh_database(args.db, "post_layers") as url:
        database = Database(url)
        try:
            figures = measure(database, settings)
        finally:
            database.dispose()
    print_figures({"bench": "post_layers", "db": args.db, "quick": args.quick, **figures})


if __name__ == "__main__":
    main()
