"""Nightly: fold the day's tally moves into the workbench's tallies (workbench/tallies.py)."""

from __future__ import annotations

import logging

from flask_babel import lazy_gettext
from huey import crontab

from timebank.jobs.registry import periodic
from timebank.web import database
from timebank.workbench import tallies

log = logging.getLogger(__name__)


@periodic("workbench.fold_tallies", crontab(minute="30", hour="18"), every=lazy_gettext("every night at 02:30"))
def fold_tallies() -> int:
    """Fold the moves into the tallies (18:30 UTC is 02:30 in Shanghai, after the grading): readers then sum fewer rows."""
    with database().session() as session:
        touched = tallies.fold(session)
        session.commit()
    log.info("%d tally row(s) folded", touched)
    return touched
