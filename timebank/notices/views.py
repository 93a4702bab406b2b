"""The inbox (站内信) with its bell, each person's channels and quiet hours, and the outbox for staff."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext
from sqlalchemy.exc import SQLAlchemyError

from timebank.auth.login import current_person, now, requires
from timebank.notices import services
from timebank.notices.kinds import CHANNELS, KINDS
from timebank.notices.models import OutboxStatus
from timebank.notices.render import render_notice
from timebank.people.models import Role
from timebank.web import db_session, done, form_data, submit

bp = Blueprint("notices", __name__, url_prefix="/notices")
CHANNEL_NAMES = {"sms": lazy_gettext("SMS"), "email": lazy_gettext("Email")}
OUTBOX_STATUS_NAMES = {
    "pending": lazy_gettext("Waiting"),
    "sending": lazy_gettext("Sending"),
    "sent": lazy_gettext("Sent"),
    "failed": lazy_gettext("Failed"),
    "held": lazy_gettext("Kept here (no gateway)"),
}


@bp.get("")
@requires()
def inbox() -> ResponseReturnValue:
    """The signed-in person's notices, newest first, unread ones marked."""
    notices = services.inbox(db_session(), current_person().id)
    return render_template("notices/inbox.html", notices=[(notice, *render_notice(notice)) for notice in notices])


@bp.post("/<int:notice_id>/open")
@requires()
def open_notice(notice_id: int) -> ResponseReturnValue:
    """Mark a notice read and go to what it is about."""
    notice = services.mark_read(db_session(), current_person().id, notice_id, now=now())
    link = notice.link or url_for("notices.inbox")
    db_session().commit()
    return redirect(link if link.startswith("/") and not link.startswith("//") else url_for("notices.inbox"))


@bp.post("/read")
@requires()
def read_all() -> ResponseReturnValue:
    """Mark every notice read."""
    services.mark_read(db_session(), current_person().id, None, now=now())
    return done(gettext("Every notice is marked read."), "notices.inbox")


def _preferences_page() -> dict:
    person_id = current_person().id
    return {"kinds": [(key, spec.title) for key, spec in KINDS.items()], "channels": [(c, CHANNEL_NAMES[c]) for c in CHANNELS],
            "chosen": services.preferences_of(db_session(), person_id), "settings": services.settings_of(db_session(), person_id)}


@bp.route("/preferences", methods=["GET", "POST"])
@requires()
def preferences() -> ResponseReturnValue:
    """Which notices come by SMS or email beyond the inbox, the email address, and the quiet hours."""
    if request.method == "GET":
        return render_template("notices/preferences.html", **_preferences_page())

    def save() -> ResponseReturnValue:
        services.set_preferences(db_session(), current_person().id, form_data(lists=tuple(KINDS)))
        return done(gettext("Your notice settings are saved."), "notices.preferences")

    return submit(save, template="notices/preferences.html", **_preferences_page())


@bp.get("/outbox")
@requires(Role.COORDINATOR, Role.ADMIN)
def outbox() -> ResponseReturnValue:
    """Every outbound message, newest first: what went, what waits for quiet hours to end, what no gateway took."""
    status = request.args.get("status") if request.args.get("status") in {s.value for s in OutboxStatus} else None
    return render_template("notices/outbox.html", messages=services.outbox(db_session(), status=status), status=status,
                           statuses=[(s.value, OUTBOX_STATUS_NAMES[s.value]) for s in OutboxStatus], channel_names=CHANNEL_NAMES, status_names=OUTBOX_STATUS_NAMES)


@bp.app_context_processor
def bell() -> dict:
    """`unread_notices()` for the header's bell: the signed-in person's unread count, read only where a page shows it."""

    def unread_notices() -> int:
        person = current_person()
        if person is None:
            return 0
        try:
            return services.unread_count(db_session(), person.id)
        except SQLAlchemyError:  # the error page of a database that is down still renders, without a count
            return 0

    return {"unread_notices": unread_notices}
