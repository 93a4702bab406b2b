"""Redemptions tied to the ledger: a check `timebank ledger verify` runs beside the ledger's own."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy.orm import Session

from timebank.ledger import Breach
from timebank.ledger.verify import ref_totals, run_checks

CHECKS = [
    (
        "redemption_transaction",
        """
        SELECT r.id, r.number, r.transaction_id FROM redemptions r
        LEFT JOIN transactions t ON t.id = r.transaction_id
        WHERE t.id IS NULL OR t.kind <> 'redemption' OR t.ref_type <> 'redemption' OR t.ref_id <> r.id
        ORDER BY r.id
        """,
        "redemption {id} ({number}) has no redemption transaction of its own (transaction {transaction_id})",
    ),
    (
        "redemption_void",
        """
        SELECT r.id, r.number, r.void_transaction_id FROM redemptions r
        LEFT JOIN transactions t ON t.id = r.void_transaction_id
        WHERE r.status = 'voided' AND (t.id IS NULL OR t.reverses_id IS NULL OR t.reverses_id <> r.transaction_id)
        ORDER BY r.id
        """,
        "redemption {id} ({number}) is voided but its reversal {void_transaction_id} is missing or reverses something else",
    ),
    (
        "redemption_amounts",
        f"""
        SELECT q.id, q.number, q.hour, q.pts, q.want_hour, q.want_pts FROM (
          SELECT r.id, r.number, COALESCE(x.hour, 0) AS hour, COALESCE(x.pts, 0) AS pts,
                 CASE WHEN r.status = 'completed' THEN -r.minutes ELSE 0 END AS want_hour,
                 CASE WHEN r.status = 'completed' THEN -r.points ELSE 0 END AS want_pts
          FROM redemptions r
          LEFT JOIN ({ref_totals("redemption")}) x ON x.ref_id = r.id AND x.owner_id = r.volunteer_id
        ) q
        WHERE q.hour <> q.want_hour OR q.pts <> q.want_pts
        ORDER BY q.id
        """,
        "redemption {id} ({number}) moves {want_pts} points and {want_hour} min, "
        "but its transactions move {pts} and {hour} on the volunteer's accounts",
    ),
    (
        "redemption_orphan",
        """
        SELECT t.id FROM transactions t
        LEFT JOIN redemptions r ON r.transaction_id = t.id
        WHERE t.kind = 'redemption' AND r.id IS NULL
        ORDER BY t.id
        """,
        "redemption transaction {id} belongs to no redemption",
    ),
]


def check_redemptions(session: Session) -> Iterator[Breach]:
    """Every redemption and void has its transaction, and they move exactly the redemption's points and hours."""
    return run_checks(session, CHECKS)
