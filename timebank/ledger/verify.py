"""Recompute every balance from the postings and check every invariant.

Each check is one set-based query, so the whole verification is a handful of
scans however long the history is. A breach names what is wrong and where.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from timebank.ledger.seal import check_chain

APPEND_ONLY_TRIGGERS = {
    "sqlite": {
        "transactions_no_update",
        "transactions_no_delete",
        "postings_no_update",
        "postings_no_delete",
        "ledger_seals_no_update",
        "ledger_seals_no_delete",
    },
    "postgresql": {
        "transactions_append_only",
        "transactions_no_truncate",
        "postings_append_only",
        "postings_no_truncate",
        "postings_balanced",
        "transactions_balanced",
        "ledger_seals_append_only",
        "ledger_seals_no_truncate",
    },
}


@dataclass(frozen=True)
class Breach:
    """One broken invariant."""

    check: str
    detail: str

    def __str__(self) -> str:
        return f"{self.check}: {self.detail}"


CHECKS: list[tuple[str, str, str]] = [
    (
        "balance",
        """
        SELECT a.code, a.balance, COALESCE(s.total, 0) AS total
        FROM accounts a
        LEFT JOIN (SELECT account_id, SUM(amount) AS total FROM postings GROUP BY account_id) s
          ON s.account_id = a.id
        WHERE a.running_balance AND a.balance <> COALESCE(s.total, 0)
        ORDER BY a.id
        """,
        "account {code} says {balance} but its postings sum to {total}",
    ),
    (
        "derived_balance",
        """
        SELECT code, balance, held FROM accounts
        WHERE NOT running_balance AND (balance <> 0 OR held <> 0)
        ORDER BY id
        """,
        "derived-balance account {code} carries balance {balance} / held {held} in its row",
    ),
    (
        "held",
        """
        SELECT a.code, a.held, COALESCE(h.total, 0) AS total
        FROM accounts a
        LEFT JOIN (SELECT account_id, SUM(amount) AS total FROM holds
                   WHERE status = 'open' GROUP BY account_id) h ON h.account_id = a.id
        WHERE a.held <> COALESCE(h.total, 0)
        ORDER BY a.id
        """,
        "account {code} says {held} held but its open holds sum to {total}",
    ),
    (
        "negative",
        """
        SELECT code, balance, held FROM accounts
        WHERE NOT allow_negative AND balance - held < 0
        ORDER BY id
        """,
        "account {code} is below zero: balance {balance}, held {held}",
    ),
    (
        "negative_allowed",
        "SELECT code FROM accounts WHERE allow_negative AND owner_type <> 'system' ORDER BY id",
        "account {code} belongs to a person or place but may go negative",
    ),
    (
        "cap",
        """
        SELECT code, balance, max_balance FROM accounts
        WHERE max_balance IS NOT NULL AND balance > max_balance
        ORDER BY id
        """,
        "account {code} holds {balance}, above its cap of {max_balance}",
    ),
    (
        "legs",
        """
        SELECT t.id, COUNT(p.id) AS legs
        FROM transactions t LEFT JOIN postings p ON p.transaction_id = t.id
        GROUP BY t.id HAVING COUNT(p.id) < 2
        ORDER BY t.id
        """,
        "transaction {id} has {legs} posting(s); at least two are required",
    ),
    (
        "unbalanced",
        """
        SELECT transaction_id, commodity, SUM(amount) AS total
        FROM postings GROUP BY transaction_id, commodity HAVING SUM(amount) <> 0
        ORDER BY transaction_id
        """,
        "transaction {transaction_id} does not balance in {commodity}: off by {total}",
    ),
    (
        "commodity",
        """
        SELECT p.id, p.commodity, a.code, a.commodity AS account_commodity
        FROM postings p JOIN accounts a ON a.id = p.account_id
        WHERE p.commodity <> a.commodity
        ORDER BY p.id
        """,
        "posting {id} is in {commodity} but account {code} counts {account_commodity}",
    ),
    (
        "balance_after",
        """
        SELECT r.id, r.code, r.balance_after, r.running FROM (
          SELECT p.id, a.code, p.balance_after,
                 SUM(p.amount) OVER (PARTITION BY p.account_id ORDER BY p.id) AS running
          FROM postings p JOIN accounts a ON a.id = p.account_id
          WHERE a.running_balance
        ) r
        WHERE r.balance_after IS NULL OR r.balance_after <> r.running
        ORDER BY r.id
        """,
        "posting {id} on {code} records balance {balance_after}, but the running total is {running}",
    ),
    (
        "reversal",
        """
        SELECT r.id, r.reverses_id, p.account_id, SUM(p.amount) AS total
        FROM transactions r
        JOIN postings p ON p.transaction_id = r.id OR p.transaction_id = r.reverses_id
        WHERE r.reverses_id IS NOT NULL
        GROUP BY r.id, r.reverses_id, p.account_id HAVING SUM(p.amount) <> 0
        ORDER BY r.id
        """,
        "reversal {id} does not undo transaction {reverses_id} on account #{account_id} (off by {total})",
    ),
    (
        "hold",
        """
        SELECT id, status FROM holds
        WHERE (status = 'captured') <> (transaction_id IS NOT NULL AND captured_amount IS NOT NULL)
           OR (status = 'open') <> (resolved_at IS NULL)
        ORDER BY id
        """,
        "hold {id} is {status} but its resolution is not recorded consistently",
    ),
]


def installed_triggers(session: Session) -> set[str]:
    """Names of the enabled ledger triggers in this database."""
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(
            text(
                "SELECT tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE NOT t.tgisinternal AND t.tgenabled <> 'D' "
                "AND c.relname IN ('transactions', 'postings', 'ledger_seals') "
                "AND c.relnamespace = current_schema()::regnamespace"
            )
        )
    else:
        rows = session.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
    return {row[0] for row in rows}


#: A check another package adds (a sub-ledger tied to the ledger): it yields its own breaches.
Check = Callable[[Session], Iterable[Breach]]


def verify(session: Session, *, limit_per_check: int = 100, checks: Iterable[Check] = ()) -> Iterator[Breach]:
    """Yield every breach of the ledger's invariants, its seal chain and the `checks` given; nothing yielded means clean."""
    expected = APPEND_ONLY_TRIGGERS[session.get_bind().dialect.name]
    for missing in sorted(expected - installed_triggers(session)):
        yield Breach("triggers", f"ledger trigger {missing} is missing or disabled")
    yield from run_checks(session, CHECKS, limit_per_check=limit_per_check)
    yield from limited("seal", (found.detail for found in check_chain(session)), limit_per_check)
    for check in checks:
        yield from check(session)


def limited(name: str, details: Iterable[str], limit: int) -> Iterator[Breach]:
    """One breach per detail, up to `limit`, then one saying there are more."""
    for count, detail in enumerate(details):
        if count == limit:
            yield Breach(name, f"... and more (showing the first {limit})")
            return
        yield Breach(name, detail)


def ref_totals(ref_type: str, *, except_kinds: tuple[str, ...] = ()) -> str:
    """SQL: per record of `ref_type` and person, the net HOUR, CERT and PTS its transactions moved on that person's accounts.

    For a sub-ledger's check (attendances, redemptions) to tie its records to
    the ledger; `ref_type` and `except_kinds` are the caller's constants.
    """
    excluded = "".join(f" AND t.kind <> '{kind}'" for kind in except_kinds)
    return f"""
        SELECT t.ref_id, a.owner_id,
               SUM(CASE WHEN p.commodity = 'HOUR' THEN p.amount ELSE 0 END) AS hour,
               SUM(CASE WHEN p.commodity = 'CERT' THEN p.amount ELSE 0 END) AS cert,
               SUM(CASE WHEN p.commodity = 'PTS' THEN p.amount ELSE 0 END) AS pts
        FROM transactions t
        JOIN postings p ON p.transaction_id = t.id
        JOIN accounts a ON a.id = p.account_id AND a.owner_type = 'volunteer'
        WHERE t.ref_type = '{ref_type}'{excluded}
        GROUP BY t.ref_id, a.owner_id
    """


def run_checks(session: Session, checks: Iterable[tuple[str, str, str]], *, limit_per_check: int = 100) -> Iterator[Breach]:
    """Run (name, SQL, message) checks; each row a query returns is one breach."""
    for name, sql, message in checks:
        yield from limited(name, (message.format(**row) for row in session.execute(text(sql)).mappings()), limit_per_check)
