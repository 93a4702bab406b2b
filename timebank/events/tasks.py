"""Activities' periodic work on the job queue: tomorrow's reminders and recording-deadline warnings."""

from __future__ import annotations

from flask_babel import lazy_gettext
from huey import crontab

from timebank.db import utcnow
from timebank.events import notices
from timebank.jobs.registry import periodic
from timebank.web import database


# The queue keeps UTC: 10:00 UTC is 18:00 in Shanghai, 01:00 UTC is 09:00.
@periodic("events.remind_tomorrow", crontab(minute="0", hour="10"), every=lazy_gettext("daily at 18:00"))
def remind_tomorrow() -> int:
    """Remind volunteers of tomorrow's activities."""
    with database().session() as session:
        told = notices.remind_tomorrow(session, now=utcnow())
        session.commit()
    return told


@periodic("events.recording_deadlines", crontab(minute="0", hour="1"), every=lazy_gettext("daily at 09:00"))
def recording_deadlines() -> int:
    """Warn those in charge of activities whose attendances near the recording deadline."""
    with database().session() as session:
        told = notices.warn_recording_deadlines(session, now=utcnow())
        session.commit()
    return told
