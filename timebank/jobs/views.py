"""The jobs page, for admins: what is queued, running, failed and scheduled, with a button to send a job again."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext

from timebank.auth.login import now, requires
from timebank.domain import Conflict
from timebank.jobs import services
from timebank.jobs.queue import queue_of
from timebank.jobs.registry import SPECS
from timebank.people.models import Role
from timebank.web import db_session, done

bp = Blueprint("jobs", __name__, url_prefix="/jobs")
STATUS_NAMES = {
    "queued": lazy_gettext("Queued"),
    "scheduled": lazy_gettext("Scheduled"),
    "running": lazy_gettext("Running"),
    "done": lazy_gettext("Done"),
    "failed": lazy_gettext("Failed"),
    "interrupted": lazy_gettext("Interrupted"),
}


@bp.app_template_filter("job_status")
def job_status(status: str) -> str:
    """A job's state in the reader's language."""
    return str(STATUS_NAMES.get(status, status))


@bp.get("")
@requires(Role.ADMIN)
def index() -> ResponseReturnValue:
    """Jobs that are running, failed, queued or scheduled, and the periodic tasks."""
    rows = services.listed(db_session())
    periodic = [spec for spec in SPECS.values() if spec.schedule is not None]
    return render_template("jobs/index.html", jobs=rows, periodic=periodic, may_retry=lambda row: services.may_send_again(row, now=now()))


@bp.post("/<job_id>/retry")
@requires(Role.ADMIN)
def retry(job_id: str) -> ResponseReturnValue:
    """Send a failed or stopped job again."""
    services.checked_retry(db_session(), job_id, now=now())
    db_session().rollback()  # the queue writes the row itself, in its own transaction
    if not queue_of(current_app._get_current_object()).send_again(job_id):
        raise Conflict("A periodic task is not sent again: it runs again on its schedule.")
    return done(gettext("The job was sent again."), "jobs.index")
