"""Rewriting the database behind the service's back, as an intruder with the database owner's rights could."""

from __future__ import annotations

import sqlite3

from sqlalchemy import text
from sqlalchemy.orm import Session

from timebank import ledger
from timebank.ledger import Breach

GUARDED = ("transactions", "postings", "ledger_seals")


def tamper(session: Session, *statements: tuple[str, dict]) -> None:
    """Run the statements with every trigger and foreign key of the ledger's tables switched off, and commit."""
    if session.get_bind().dialect.name == "postgresql":
        for table in GUARDED:
            session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER ALL"))
        for statement, params in statements:
            session.execute(text(statement), params)
        session.commit()
        return
    for table in GUARDED:
        for action in ("update", "delete"):
            session.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_{action}"))
    session.commit()
    with sqlite3.connect(session.get_bind().url.database) as raw:  # foreign keys are off by default
        for statement, params in statements:
            raw.execute(statement, params)


def breaches(session: Session, **kwargs) -> list[Breach]:
    """Every breach but the switched-off triggers the tampering itself leaves behind."""
    return [breach for breach in ledger.verify(session, **kwargs) if breach.check != "triggers"]


def deletion_of(transaction_id: int) -> tuple[tuple[str, dict], ...]:
    """Statements that take a transaction out whole: its postings, its row, and the stored balances made to agree."""
    where = {"t": transaction_id}
    return (
        ("UPDATE accounts SET balance = balance - (SELECT SUM(amount) FROM postings p "
         "WHERE p.transaction_id = :t AND p.account_id = accounts.id) "
         "WHERE running_balance AND id IN (SELECT account_id FROM postings WHERE transaction_id = :t)", where),
        ("DELETE FROM postings WHERE transaction_id = :t", where),
        ("DELETE FROM transactions WHERE id = :t", where),
    )
