"""Coordinators' page for importing volunteers from a spreadsheet, and its template file."""

from __future__ import annotations

import os
from typing import IO
from urllib.parse import quote

from flask import Blueprint, Response, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from werkzeug.datastructures import FileStorage

from timebank.auth.login import current_actor, now, requires, vault
from timebank.domain import InvalidInput
from timebank.jobs.queue import enqueue
from timebank.orgs.services import tree
from timebank.people import background_imports
from timebank.people.access import MANAGERS
from timebank.people.importing import WEB_MAX_ROWS, prepare_import, read_rows, template_csv, write_import
from timebank.people.models import PeopleImport, Role
from timebank.people.tasks import background_rows, import_folder
from timebank.web import database, db_session, done, record_id, submit

bp = Blueprint("imports", __name__, url_prefix="/people/import")
#: A large import's status page, apart: its address is /people/imports/<id>, like the API's.
status_bp = Blueprint("import_status", __name__, url_prefix="/people/imports")
NO_STORE = {"Cache-Control": "no-store"}

MAX_UPLOAD_BYTES = 2 * 1024 * 1024
TEMPLATE_NAME = "志愿者导入模板.csv"


@bp.route("", methods=["GET", "POST"])
@requires(Role.COORDINATOR, Role.ADMIN)
def upload() -> ResponseReturnValue:
    """Upload a CSV or XLSX of volunteers for an organisation; all are registered, or none and every problem is listed."""
    organisations = tree(db_session(), root_paths=current_actor().paths(MANAGERS))
    top = min((o.path.count("/") for o in organisations), default=0)
    context = {
        "organisations": organisations,
        "organisation_options": [(o.id, "\u3000" * (o.path.count("/") - top) + o.name) for o in organisations],
        "max_mb": MAX_UPLOAD_BYTES // (1024 * 1024),
        "max_rows": WEB_MAX_ROWS,
    }
    if request.method == "GET":
        return render_template("people/import.html", **context)

    def import_and_commit() -> ResponseReturnValue:
        file, organisation_id = _upload(organisations)
        actor, moment = current_actor(), now()
        if background_imports.more_rows_than(file.stream, file.filename, background_rows()):
            record = in_background(file.stream, file.filename, organisation_id)
            return done(gettext("The file is large: it is being imported in the background. This page shows how it went."),
                        "import_status.status", import_id=record.id)
        # Read and check the file on a reading session: the write lock is taken
        # only for the short bulk write at the end, so other requests never wait long.
        db_session().rollback()
        with database().session(write=False) as reading:
            prepared = prepare_import(
                reading, read_rows(file.stream, file.filename), organisation_id=organisation_id,
                actor=actor, vault=vault(), now=moment, max_rows=WEB_MAX_ROWS,
            )
        with prepared:
            if prepared.report.ok:
                write_import(db_session(), prepared, now=moment)
                db_session().commit()
        page = render_template("people/import.html", report=prepared.report, form=request.form, **context)
        return page, 200 if prepared.report.ok else 422

    return submit(import_and_commit, template="people/import.html", **context)


def in_background(stream: IO[bytes], filename: str, organisation_id: int) -> PeopleImport:
    """A large file saved, its import recorded and committed, then sent to the queue."""
    session = db_session()
    saved = background_imports.save_file(stream, import_folder(), filename)
    try:
        record = background_imports.queue_import(session, filename=saved, original_name=filename, organisation_id=organisation_id,
                                                 actor=current_actor(), now=now())
        session.commit()
    except BaseException:
        (import_folder() / saved).unlink(missing_ok=True)
        raise
    enqueue("people.import", record.id)
    return record


def _upload(organisations: list) -> tuple:
    """The uploaded file and the chosen organisation, or InvalidInput saying what is missing."""
    problems: dict[str, list[str]] = {}
    file = request.files.get("file")
    if file is not None and _size(file) > MAX_UPLOAD_BYTES:
        problems["file"] = ["This file is too large for the page; split it, or ask an administrator to import it."]
    elif file is None or not file.filename:
        problems["file"] = ["Choose a CSV or Excel (.xlsx) file."]
    organisation_id = request.form.get("organisation_id", type=record_id)
    if organisation_id not in {o.id for o in organisations}:
        problems["organisation_id"] = ["Choose the organisation the volunteers join."]
    if problems:
        raise InvalidInput(errors=problems)
    return file, organisation_id


def _size(file: FileStorage) -> int:
    """The uploaded file's size as received: a chunked upload says nothing in advance."""
    stream = file.stream
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    return size


@bp.get("/template.csv")
@requires(Role.COORDINATOR, Role.ADMIN)
def template() -> ResponseReturnValue:
    """The import template: the Chinese column headings and one example row."""
    disposition = f"attachment; filename=volunteers-template.csv; filename*=UTF-8''{quote(TEMPLATE_NAME)}"
    return Response(template_csv(), mimetype="text/csv", headers={"Content-Disposition": disposition})


@status_bp.get("/<int:import_id>")
@requires(Role.COORDINATOR, Role.ADMIN)
def status(import_id: int) -> ResponseReturnValue:
    """A large import's progress (the page reloads itself until it is finished), then its report."""
    record = background_imports.own_import(db_session(), import_id, actor=current_actor())
    page = render_template("people/import_status.html", record=record, report=background_imports.report_of(record))
    return page, 200, NO_STORE
