"""Coordinators' printed summaries: batches of service record certificates, national-record exports, social workers' training."""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request, send_file, stream_with_context, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from sqlalchemy.orm import Session

from timebank.auth.login import current_actor, now, requires, vault
from timebank.certify import batch as batches
from timebank.certify import education, exports
from timebank.certify.schemas import BatchSchema
from timebank.jobs.queue import enqueue
from timebank.certify.tasks import batch_folder
from timebank.exports import views as exports_views
from timebank.localtime import local_day
from timebank.orgs.services import get_organisation, tree
from timebank.people.access import MANAGERS
from timebank.people.services import load
from timebank.web import database, db_session, done, form_data, submit

bp = Blueprint("certify_records", __name__, url_prefix="/certify")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def send_batch(batch_id: int) -> None:
    """Send a committed batch's job to the queue, with the verification address as this site answers it."""
    enqueue("certify.batch", batch_id, url_for("certify.verify", key="KEY", _external=True))


def _choices() -> dict[str, Any]:
    paths = current_actor().paths(MANAGERS)
    organisations = tree(db_session(), root_paths=paths) if paths else []
    top = min((o.path.count("/") for o in organisations), default=0)
    today = local_day(now())
    return {
        "organisations": [(o.id, "\u3000" * (o.path.count("/") - top) + o.name) for o in organisations],
        "period": {"start": today.replace(month=1, day=1).isoformat(), "end": today.isoformat()},
    }


@bp.get("/records")
@requires(*MANAGERS)
def records() -> ResponseReturnValue:
    """Batches of service record certificates and exports for the national system, for an organisation and a period."""
    return render_template("certify/records.html", form={}, **_choices())


@bp.post("/batches")
@requires(*MANAGERS)
def start_batch() -> ResponseReturnValue:
    """Queue a batch and start it in the background; the coordinator watches its progress."""
    session = db_session()

    def queue() -> ResponseReturnValue:
        batch = batches.request_batch(session, form_data(), actor=current_actor(), now=now())
        session.commit()
        send_batch(batch.id)
        return done(gettext("The batch has started. This page shows its progress."), "certify_records.batch", batch_id=batch.id)

    return submit(queue, template="certify/records.html", **_choices())


def _batch_state(batch_id: int) -> dict[str, Any]:
    found = batches.managed_batch(db_session(), batch_id, actor=current_actor())
    return {
        "id": found.id,
        "status": "stalled" if batches.stalled(found, now()) else found.status,
        "done": found.done,
        "total": found.total,
        "error": found.error,
        "download": url_for("certify_records.download", batch_id=found.id) if found.status == "done" else None,
    }


@bp.get("/batches/<int:batch_id>")
@requires(*MANAGERS)
def batch(batch_id: int) -> ResponseReturnValue:
    """A batch's progress (the page reloads itself until it is done or failed), then its download."""
    found = batches.managed_batch(db_session(), batch_id, actor=current_actor())
    return render_template("certify/batch.html", batch=found, state=_batch_state(batch_id)), 200, {"Cache-Control": "no-store"}


@bp.get("/batches/<int:batch_id>.json")
@requires(*MANAGERS)
def batch_json(batch_id: int) -> ResponseReturnValue:
    """A batch's progress as JSON."""
    return jsonify(_batch_state(batch_id)), 200, {"Cache-Control": "no-store"}


@bp.get("/batches/<int:batch_id>/download")
@requires(*MANAGERS)
def download(batch_id: int) -> ResponseReturnValue:
    """The finished batch's PDF."""
    found = batches.managed_batch(db_session(), batch_id, actor=current_actor())
    path = batches.batch_file(found, batch_folder())
    name = f"certificates-{found.organisation_id}-{found.period_start}-{found.period_end}.pdf"
    return send_file(path, mimetype="application/pdf", as_attachment=True, download_name=name)


@bp.get("/export.csv")
@requires(*MANAGERS)
def export_csv() -> ResponseReturnValue:
    """The service records of an organisation and period in the national record's fields, as CSV (UTF-8, for Excel)."""
    return _export("csv")


@bp.post("/export.xlsx")
@requires(*MANAGERS)
def export_xlsx() -> ResponseReturnValue:
    """Ask for the same as an XLSX workbook, written in the background; then its page."""
    return submit(lambda: exports_views.ask("service_records", form_data()), template="certify/records.html", **_choices())


@bp.post("/export-full")
@requires(*MANAGERS)
def export_full() -> ResponseReturnValue:
    """The same with whole ID numbers, for entry into the national system; the export is recorded in the audit log."""
    return _export("xlsx" if request.form.get("format") == "xlsx" else "csv", full_ids=True)


def _export(fmt: str, *, full_ids: bool = False) -> ResponseReturnValue:
    session = db_session()

    def build() -> ResponseReturnValue:
        values = load(BatchSchema(), request.form if full_ids else request.args)
        organisation = get_organisation(session, values["organisation_id"])
        reader = session
        if full_ids:
            exports.audit_full_export(session, organisation, values["start"], values["end"], actor=current_actor(), now=now())
            session.commit()  # the audit entry stands before the first number leaves
            # The rows stream from a reading session: SQLite's write lock is not held while the file goes out.
            reader = database().session(write=False)
        lines = exports.rows(reader, organisation, values["start"], values["end"], actor=current_actor(),
                             vault=vault() if full_ids else None)
        headings = next(lines)  # taken once the actor is checked, so a refusal answers before anything streams
        every = _closing(itertools.chain([headings], lines), reader if reader is not session else None)
        stem = f"service-records-{organisation.id}-{values['start']}-{values['end']}"
        if fmt == "csv":
            body = stream_with_context(exports.csv_chunks(every))
            return Response(body, mimetype="text/csv; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="{stem}.csv"'})
        scratch = tempfile.TemporaryFile()
        exports.write_xlsx(every, scratch)
        scratch.seek(0)
        return send_file(scratch, mimetype=XLSX, as_attachment=True, download_name=f"{stem}.xlsx")

    return submit(build, template="certify/records.html", **_choices())


def _closing(lines: Iterator[list[str]], reader: Session | None) -> Iterator[list[str]]:
    """The rows, closing the reading session of their own (if any) once they are out."""
    try:
        yield from lines
    finally:
        if reader is not None:
            reader.close()


# -- social workers' continuing education ----------------------------------------------


def _education() -> dict[str, Any]:
    session, actor = db_session(), current_actor()
    found = education.standings(session, actor=actor, now=now())
    return {
        "standings": found,
        "short": [s for s in found if s.short],
        "workers": [(s.person.id, s.person.real_name) for s in found],
        "today": local_day(now()).isoformat(),
    }


@bp.get("/continuing-education")
@requires(*MANAGERS)
def continuing_education() -> ResponseReturnValue:
    """Social workers' training hours in the current registration period, and who is short."""
    return render_template("certify/education.html", form={}, **_education())


@bp.post("/continuing-education")
@requires(*MANAGERS)
def record_training() -> ResponseReturnValue:
    """Record a training a social worker took."""

    def save() -> ResponseReturnValue:
        education.record_training(db_session(), form_data(), actor=current_actor(), now=now())
        return done(gettext("The training has been recorded."), "certify_records.continuing_education")

    return submit(save, template="certify/education.html", **_education())
