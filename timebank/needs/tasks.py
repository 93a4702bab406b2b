"""Needs' periodic work on the job queue: warning social workers of needs past their response deadline."""

from __future__ import annotations

from flask_babel import lazy_gettext
from huey import crontab

from timebank.db import utcnow
from timebank.jobs.registry import periodic
from timebank.needs import alerts
from timebank.web import database


@periodic("needs.overdue", crontab(minute="5", hour="*"), every=lazy_gettext("every hour"))
def overdue_needs() -> int:
    """Warn social workers of needs past their deadline (each need and deadline once)."""
    with database().session() as session:
        told = alerts.warn_overdue(session, now=utcnow())
        session.commit()
    return told
