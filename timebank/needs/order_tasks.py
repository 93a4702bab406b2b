"""The order loop's periodic work: offers timing out (重新派单), reminders, and visits waiting too long for approval."""

from __future__ import annotations

from flask_babel import lazy_gettext
from huey import crontab

from timebank.db import utcnow
from timebank.jobs.registry import periodic
from timebank.needs import order_notices, orders
from timebank.web import database


@periodic("orders.expire_offers", crontab(minute="*/5"), every=lazy_gettext("every 5 minutes"))
def expire_offers() -> int:
    """Time out offers past their deadline, giving their slots back; remind those whose deadline is near."""
    with database().session() as session:
        expired = orders.expire_offers(session, now=utcnow())
        order_notices.remind_offers(session, now=utcnow())
        session.commit()
    return expired


# The queue keeps UTC: 10:30 UTC is 18:30 in Shanghai.
@periodic("orders.remind_tomorrow", crontab(minute="30", hour="10"), every=lazy_gettext("daily at 18:30"))
def remind_tomorrow() -> int:
    """Remind volunteers of tomorrow's home visits, and warn staff of visits still waiting for approval."""
    with database().session() as session:
        told = order_notices.remind_tomorrow(session, now=utcnow()) + order_notices.warn_unapproved(session, now=utcnow())
        session.commit()
    return told
