"""A large volunteer file imported in the background: saved, recorded, read and written by a job, its report kept.

A file of more than BACKGROUND_ROWS rows would hold a page (or an API call)
for too long: it is saved in the instance folder (for its owner's process
only), recorded as a `PeopleImport`, and the `people.import` job runs the same
two steps as the page, `prepare_import` on a reading session then
`write_import` in one short transaction. Its report (the figures and every
refused row's problems) is kept on the record for the status page.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
import logging
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import IO

from sqlalchemy import select
from sqlalchemy.orm import Session

from timebank.db import Database
from timebank.domain import DomainError, NotFound
from timebank.jobs.failures import record_failure
from timebank.orgs.services import get_organisation
from timebank.people.access import MANAGERS, Actor, actor_for
from timebank.people.idnumbers import IdVault
from timebank.people.importing import WEB_MAX_ROWS, ImportReport, RowProblem, prepare_import, read_rows, write_import
from timebank.people.models import PeopleImport, Role

log = logging.getLogger(__name__)

#: Files with more rows than this are imported by a job, not in the request (config: PEOPLE_IMPORT_BACKGROUND_ROWS).
BACKGROUND_ROWS = 500
FINISHED = ("done", "refused")
#: A file whose import failed (its retries spent) is deleted this long after it was uploaded: it holds ID numbers.
KEEP_FAILED = dt.timedelta(hours=24)


def more_rows_than(stream: IO[bytes], filename: str, limit: int) -> bool:
    """True if the file has more than `limit` data rows; the stream is rewound (a file that cannot be read raises FileRefused)."""
    rows = read_rows(stream, filename)
    try:
        return sum(1 for _ in itertools.islice(rows, limit + 1)) > limit
    finally:
        getattr(rows, "close", lambda: None)()
        stream.seek(0)


def save_file(stream: IO[bytes], folder: Path, original_name: str) -> str:
    """Keep an uploaded file in `folder` under a random name, readable by this process's user only; its name."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    name = f"{secrets.token_hex(16)}{Path(original_name).suffix.lower()}"
    descriptor = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        while chunk := stream.read(64 * 1024):
            out.write(chunk)
    return name


def queue_import(session: Session, *, filename: str, original_name: str, organisation_id: int, actor: Actor, now: dt.datetime) -> PeopleImport:
    """Record a saved file's import for the job (the caller commits, then sends `people.import`)."""
    actor.require(MANAGERS, get_organisation(session, organisation_id))
    record = PeopleImport(requested_by=actor.id, organisation_id=organisation_id, filename=filename,
                          original_name=original_name[:200], status="queued", created_at=now)
    session.add(record)
    session.flush()
    return record


def own_import(session: Session, import_id: int, *, actor: Actor) -> PeopleImport:
    """The import, to the one who asked for it or an admin over its organisation; anyone else: NotFound."""
    record = session.get(PeopleImport, import_id) if import_id else None
    if record is None:
        raise NotFound("Unknown import.")
    if record.requested_by != actor.id and not actor.may((Role.ADMIN,), get_organisation(session, record.organisation_id)):
        raise NotFound("Unknown import.")
    return record


def report_of(record: PeopleImport) -> ImportReport | None:
    """The kept report of a finished import (None before)."""
    if record.report_json is None:
        return None
    kept = json.loads(record.report_json)
    problems = [RowProblem(**problem) for problem in kept.pop("problems")]
    return ImportReport(**kept, problems=problems)


def _kept(report: ImportReport) -> str:
    return json.dumps(dataclasses.asdict(report), ensure_ascii=False, default=str)


def run_import(database: Database, import_id: int, folder: Path, *, vault: IdVault, now: Callable[[], dt.datetime]) -> None:
    """Read, check and (if every row passed) write the import's file, its report on its record; a finished one is left alone.

    A failure is written on the record and raised again (but for a refusal,
    which no retry would pass), so that the queue retries it.
    """
    with database.session() as writer:
        record = writer.get(PeopleImport, import_id)
        if record is None or record.status in FINISHED:
            return
        record.status, record.error = "running", None
        path, name, organisation_id, actor_id = folder / record.filename, record.original_name, record.organisation_id, record.requested_by
        writer.commit()
    try:
        with database.session(write=False) as reading:
            prepared = prepare_import(reading, read_rows(path, name), organisation_id=organisation_id,
                                      actor=actor_for(reading, actor_id), vault=vault, now=now(), max_rows=WEB_MAX_ROWS)
        with prepared, database.session() as writer:
            record = writer.get(PeopleImport, import_id, with_for_update=True)
            if record.status in FINISHED:  # another run finished it meanwhile
                return
            if prepared.report.ok:
                write_import(writer, prepared, now=now())
            record.status = "done" if prepared.report.ok else "refused"
            record.report_json, record.finished_at = _kept(prepared.report), now()
            writer.commit()
        path.unlink(missing_ok=True)
    except Exception as exc:
        log.exception("people import %s failed", import_id)
        record_failure(database, PeopleImport, import_id, exc, now())
        if not isinstance(exc, DomainError):
            raise
        path.unlink(missing_ok=True)  # a refused file is not read again


def prune_files(session: Session, folder: Path, *, now: dt.datetime) -> int:
    """Delete the files of imports that failed and were uploaded more than KEEP_FAILED ago; how many imports."""
    cutoff = now - KEEP_FAILED
    old = session.scalars(select(PeopleImport).where(PeopleImport.status == "failed", PeopleImport.created_at < cutoff)).all()
    pruned = 0
    for record in old:
        path = folder / record.filename
        if path.exists():
            path.unlink()
            pruned += 1
    return pruned
