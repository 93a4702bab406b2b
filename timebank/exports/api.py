"""JSON API for exports: ask for one (202 with its status address), follow its progress, download it."""

from __future__ import annotations

from flask import jsonify, send_file, url_for
from flask.typing import ResponseReturnValue
from marshmallow import Schema, fields, validate

from timebank.auth.login import current_actor, now, requires
from timebank.exports import services
from timebank.exports.kinds import KINDS
from timebank.exports.tasks import export_folder
from timebank.exports.views import export_state, send_export
from timebank.openapi import api_blueprint, documented, json_body
from timebank.people.access import MANAGERS
from timebank.web import db_session

bp = api_blueprint("exports_api", __name__)


class ExportRequestSchema(Schema):
    """What to export: `redemptions` (start, end: every station below the caller) or `service_records` (organisation_id, start, end)."""

    kind = fields.String(required=True, validate=validate.OneOf(list(KINDS)))
    organisation_id = fields.Integer(metadata={"description": "service_records only"})
    start = fields.Date(required=True)
    end = fields.Date(required=True)


class ExportOutSchema(Schema):
    """An export: how far it is, and once done where to download it."""

    id = fields.Integer()
    kind = fields.String()
    status = fields.String(metadata={"description": "queued, running, done, failed, or stalled (its worker stopped: ask again)"})
    rows = fields.Integer(metadata={"description": "rows written so far"})
    error = fields.String(allow_none=True)
    requested_at = fields.String()
    status_url = fields.String()
    download = fields.String(allow_none=True)


def _out(export_id: int, state: dict) -> dict:
    return ExportOutSchema().dump({**state, "status_url": url_for("exports_api.export", export_id=export_id),
                                   "download": url_for("exports_api.download", export_id=export_id) if state["download"] else None})


@bp.post("/exports")
@documented(body=ExportRequestSchema, response=ExportOutSchema, status=202, location=True)
@requires(*MANAGERS)
def request_export() -> ResponseReturnValue:
    """Ask for an XLSX export; it is written in the background (follow `status_url`, then `download`)."""
    data = json_body()
    session = db_session()
    export = services.request_export(session, data.get("kind"), data, actor=current_actor(), now=now())
    session.commit()
    send_export(export.id)
    body = _out(export.id, export_state(export))
    return jsonify(body), 202, {"Location": body["status_url"]}


@bp.get("/exports/<int:export_id>")
@documented(response=ExportOutSchema)
@requires(*MANAGERS)
def export(export_id: int) -> ResponseReturnValue:
    """How far an export is (the one who asked for it only)."""
    found = services.own_export(db_session(), export_id, actor=current_actor())
    return jsonify(_out(found.id, export_state(found))), 200, {"Cache-Control": "no-store"}


@bp.get("/exports/<int:export_id>/download")
@documented(media=services.XLSX)
@requires(*MANAGERS)
def download(export_id: int) -> ResponseReturnValue:
    """The finished export's workbook (404 until it is done, or once it is pruned)."""
    found = services.own_export(db_session(), export_id, actor=current_actor())
    return send_file(services.export_file(found, export_folder()), mimetype=services.XLSX, as_attachment=True, download_name=services.file_name(found))
