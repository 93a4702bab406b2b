"""An export's page (its progress, then its download, or its error and a way to ask again), for whoever asked for it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, render_template, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext

from timebank.auth.login import current_actor, now, requires
from timebank.exports import services
from timebank.exports.models import Export
from timebank.exports.tasks import export_folder
from timebank.jobs.queue import enqueue
from timebank.people.access import MANAGERS
from timebank.web import db_session, done

bp = Blueprint("exports", __name__, url_prefix="/exports")
NO_STORE = {"Cache-Control": "no-store"}
EXPORT_NAMES = {"redemptions": lazy_gettext("Redemptions at all stations"), "service_records": lazy_gettext("Service records for the national system"),
                "pool_statement": lazy_gettext("Community pool statement"),
                "supervision_index": lazy_gettext("Supervision index of the social workers")}


def send_export(export_id: int) -> None:
    """Send a committed export's job to the queue."""
    enqueue("exports.write", export_id)


def ask(kind: str, data: dict[str, Any]) -> ResponseReturnValue:
    """A page's request for an export: recorded, committed, sent to the queue; then its page."""
    session = db_session()
    export = services.request_export(session, kind, data, actor=current_actor(), now=now())
    session.commit()
    send_export(export.id)
    return done(gettext("The export has started. This page shows its progress."), "exports.export", export_id=export.id)


def export_state(export: Export) -> dict[str, Any]:
    """What the page and the API say of an export."""
    status = services.state(export, now=now())
    return {
        "id": export.id,
        "kind": export.kind,
        "status": status,
        "rows": export.rows,
        "error": export.error,
        "requested_at": export.requested_at.isoformat(),
        "download": url_for("exports.download", export_id=export.id) if status == "done" else None,
    }


@bp.get("/<int:export_id>")
@requires(*MANAGERS)
def export(export_id: int) -> ResponseReturnValue:
    """An export's progress (the page reloads itself until it is done or failed), then its download."""
    found = services.own_export(db_session(), export_id, actor=current_actor())
    return render_template("exports/export.html", export=found, state=export_state(found), export_names=EXPORT_NAMES), 200, NO_STORE


@bp.get("/<int:export_id>.json")
@requires(*MANAGERS)
def export_json(export_id: int) -> ResponseReturnValue:
    """An export's progress as JSON."""
    return jsonify(export_state(services.own_export(db_session(), export_id, actor=current_actor()))), 200, NO_STORE


@bp.get("/<int:export_id>/download")
@requires(*MANAGERS)
def download(export_id: int) -> ResponseReturnValue:
    """The finished export's workbook."""
    found = services.own_export(db_session(), export_id, actor=current_actor())
    path = services.export_file(found, export_folder())
    return send_file(path, mimetype=services.XLSX, as_attachment=True, download_name=services.file_name(found))


@bp.post("/<int:export_id>/retry")
@requires(*MANAGERS)
def retry(export_id: int) -> ResponseReturnValue:
    """Ask once more for an export that failed or stopped."""
    session = db_session()
    services.ask_again(session, export_id, actor=current_actor(), now=now())
    session.commit()
    send_export(export_id)
    return done(gettext("The export has started again."), "exports.export", export_id=export_id)
