"""Nightly: grade every volunteer and team, and compute this month's supervision index (and last month's on the 1st)."""

from __future__ import annotations

import datetime as dt
import logging

from flask_babel import lazy_gettext
from huey import crontab

from timebank.db import utcnow
from timebank.grading import index, services
from timebank.jobs.registry import periodic
from timebank.localtime import local_day
from timebank.web import database

log = logging.getLogger(__name__)


@periodic("grading.nightly", crontab(minute="0", hour="18"), every=lazy_gettext("every night at 02:00"))
def nightly() -> dict[str, int]:
    """Grade everyone for the new day (18:00 UTC is 02:00 in Shanghai), then refresh the supervision indices."""
    now = utcnow()
    with database().session() as session:
        counts = services.grade_volunteers(session, now=now)
        session.commit()
        today = local_day(now)
        months = [today] if today.day > 1 else [today, today - dt.timedelta(days=1)]
        for month in months:
            index.compute_month(session, month, now=now)
        session.commit()
    log.info("graded: %s", counts)
    return counts
