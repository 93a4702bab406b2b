"""Signing in's periodic housekeeping: sign-ins and seen check-in tickets past their life."""

from __future__ import annotations

import logging

from flask_babel import lazy_gettext
from huey import crontab

from timebank.auth.services import prune_sign_ins
from timebank.db import utcnow
from timebank.events.checkin import prune_used_seen_tickets
from timebank.jobs.registry import periodic
from timebank.web import database

log = logging.getLogger(__name__)


@periodic("auth.prune", crontab(minute="23", hour="*"), every=lazy_gettext("every hour"))
def prune_expired_sign_ins() -> tuple[int, int]:
    """Forget expired and signed-out sign-ins, and used seen tickets older than a ticket lives; how many of each."""
    with database().session() as session:
        now = utcnow()
        pruned = prune_sign_ins(session, now=now), prune_used_seen_tickets(session, now=now)
        session.commit()
    if any(pruned):
        log.info("pruned %d sign-in(s) and %d used seen ticket(s)", *pruned)
    return pruned
