"""The queue's own periodic housekeeping, and the ledger's: holds past their expiry, the seal chain, old job records."""

from __future__ import annotations

import logging

from flask_babel import lazy_gettext
from huey import crontab

from timebank import ledger
from timebank.db import utcnow
from timebank.jobs import services
from timebank.jobs.registry import periodic
from timebank.ledger.models import SYSTEM_ACTOR
from timebank.ledger.seal import seal_committed
from timebank.web import database

log = logging.getLogger(__name__)


@periodic("ledger.expire_holds", crontab(minute="*"), every=lazy_gettext("every minute"))
def expire_holds() -> int:
    """Expire open holds past their expiry, freeing what they reserved (it was a cron line)."""
    with database().session() as session:
        expired = ledger.expire_holds(session, actor=SYSTEM_ACTOR, now=utcnow())
        session.commit()
    if expired:
        log.info("%d hold(s) expired", len(expired))
    return len(expired)


@periodic("ledger.seal", crontab(minute="*"), every=lazy_gettext("every minute"))
def seal_ledger() -> int:
    """Seal the transactions committed since the last run into the hash chain (off the posting path)."""
    sealed = seal_committed(database())
    if sealed:
        log.info("%d transaction(s) sealed", sealed)
    return sealed


@periodic("jobs.prune", crontab(minute="17", hour="*"), every=lazy_gettext("every hour"))
def prune_jobs() -> int:
    """Forget finished jobs older than two days."""
    with database().session() as session:
        pruned = services.prune(session, now=utcnow())
        session.commit()
    return pruned
