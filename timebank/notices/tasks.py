"""Notices on the job queue: every minute, gather the quiet bursts into the outbox and send what is due."""

from __future__ import annotations

import logging

from flask import current_app
from flask_babel import lazy_gettext
from huey import crontab

from timebank.db import utcnow
from timebank.jobs.registry import periodic
from timebank.notices import services
from timebank.notices.channels import channels_from_config
from timebank.notices.render import digest, outbound, render
from timebank.web import database

log = logging.getLogger(__name__)


@periodic("notices.deliver", crontab(minute="*"), every=lazy_gettext("every minute"))
def deliver() -> tuple[int, int]:
    """Write each quiet burst of notices to the outbox (one message per channel), then send what is due."""
    written = gather_due()
    return written, send_due()


@outbound
def gather_due() -> int:
    """One transaction per person: their undelivered notices become outbox messages and are marked delivered together."""
    db, now, written = database(), utcnow(), 0
    with db.session(write=False) as session:
        people = services.due_people(session, now=now)
    for person_id in people:
        with db.session() as session:
            written += len(services.gather(session, person_id, render, digest, now=now))
            session.commit()
    return written


def send_due() -> int:
    """Send each due message through its channel's adapter, claimed first so that it goes once at most."""
    db, channels, sent = database(), channels_from_config(current_app.config), 0
    with db.session() as session:
        claimed = services.claim_due(session, now=utcnow())
        session.commit()
    for message_id in claimed:
        with db.session() as session:
            message = session.get(services.OutboxMessage, message_id)
            try:
                went, error = channels[message.channel].send(message), None
            except Exception as exc:  # the gateway's refusal is the message's failure, shown in the outbox
                log.warning("outbox message %s on %s failed: %s", message_id, message.channel, exc)
                went, error = False, f"{type(exc).__name__}: {exc}"
            services.settle(session, message_id, sent=went, error=error, now=utcnow())
            session.commit()
            sent += bool(went)
    return sent
