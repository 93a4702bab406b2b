"""A background run's failure, written on the row its requester watches (a certificate batch, an export)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from timebank.db import Database
from timebank.domain import DomainError

log = logging.getLogger(__name__)


def failure_message(exc: Exception) -> str:
    """What the requester is told: a refusal's own words, otherwise only the kind of error (the log has the rest)."""
    if isinstance(exc, DomainError) and exc.params:
        return str(exc.template % exc.params)
    return str(getattr(exc, "template", None) or type(exc).__name__)


def record_failure(database: Database, model: type[Any], row_id: int, exc: Exception, at: dt.datetime) -> None:
    """Mark the row failed, with why and when, in a transaction of its own; a database that is gone leaves only the log."""
    try:
        with database.session() as session:
            row = session.get(model, row_id)
            if row is not None:
                row.status, row.error, row.finished_at = "failed", failure_message(exc)[:500], at
                session.commit()
    except Exception:
        log.exception("could not record the failure of %s %s", model.__tablename__, row_id)
