"""Attendances tied to the ledger: a check `timebank ledger verify` runs beside the ledger's own."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy.orm import Session

from timebank.ledger import Breach, Kind
from timebank.ledger.verify import ref_totals, run_checks

CHECKS = [
    (
        "attendance_credit",
        """
        SELECT a.id, a.transaction_id FROM attendances a
        LEFT JOIN transactions t ON t.id = a.transaction_id
        WHERE a.status = 'approved' AND a.credited_minutes > 0
          AND (t.id IS NULL OR t.ref_type <> 'attendance' OR t.ref_id <> a.id)
        ORDER BY a.id
        """,
        "attendance {id} is credited but its credit transaction {transaction_id} is missing or belongs elsewhere",
    ),
    (
        "attendance_amounts",
        f"""
        SELECT r.id, r.hour, r.cert, r.pts, r.want_hour, r.want_cert, r.want_pts FROM (
          SELECT a.id,
                 COALESCE(x.hour, 0) AS hour, COALESCE(x.cert, 0) AS cert, COALESCE(x.pts, 0) AS pts,
                 CASE WHEN a.status = 'approved' AND v.category <> 'training' THEN COALESCE(a.credited_minutes, 0) ELSE 0 END AS want_hour,
                 CASE WHEN a.status = 'approved' THEN COALESCE(a.credited_minutes, 0) ELSE 0 END AS want_cert,
                 CASE WHEN a.status = 'approved' THEN COALESCE(a.credited_points, 0) ELSE 0 END AS want_pts
          FROM attendances a
          JOIN activities v ON v.id = a.activity_id
          LEFT JOIN ({ref_totals("attendance", except_kinds=(Kind.WRITE_OFF.value,))}) x
            ON x.ref_id = a.id AND x.owner_id = a.volunteer_id
        ) r
        WHERE r.hour <> r.want_hour OR r.cert <> r.want_cert OR r.pts <> r.want_pts
        ORDER BY r.id
        """,
        "attendance {id} credits {want_hour} min, {want_cert} certified min and {want_pts} points, "
        "but its transactions give {hour}, {cert} and {pts}",
    ),
]


def check_attendances(session: Session) -> Iterator[Breach]:
    """Every credited attendance has its credit transaction, and its transactions (net of corrections) give what it records."""
    return run_checks(session, CHECKS)
