"""Asking for an export, writing it in the background (streaming, with progress), handing it over, and forgetting it.

The rows come from a reading session, so SQLite's write lock is held only for
the progress written every PROGRESS_EVERY rows; the workbook is written in
openpyxl's streaming mode, so memory stays flat however many rows there are.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from timebank.certify.exports import write_xlsx
from timebank.db import Database
from timebank.domain import Conflict, DomainError, InvalidInput, NotFound
from timebank.jobs.failures import record_failure
from timebank.exports.kinds import KINDS, as_json
from timebank.exports.models import Export, ExportStatus
from timebank.people.access import Actor, actor_for
from timebank.people.services import load

log = logging.getLogger(__name__)

PROGRESS_EVERY = 1000  # rows between two progress writes
#: An export silent this long lost its worker (a restart, a crash): it is offered again.
STALLED_AFTER = dt.timedelta(minutes=10)
#: Files and their rows are kept this long after they were asked for, then pruned.
KEEP = dt.timedelta(hours=24)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def request_export(session: Session, kind: str, data: dict[str, Any], *, actor: Actor, now: dt.datetime) -> Export:
    """Someone asks for an export: its parameters checked and recorded (the caller sends its job once committed)."""
    found = KINDS.get(kind) if isinstance(kind, str) else None
    if found is None:
        raise InvalidInput(errors={"kind": ["Choose what to export."]})
    values = load(found.schema(), data)
    # Refuse now what the job would refuse: the actor's right over what the rows cover (checked before the headings).
    rows = iter(found.rows(session, values, actor))
    next(rows)
    getattr(rows, "close", lambda: None)()
    export = Export(kind=kind, params_json=json.dumps(as_json(values)), requested_by=actor.id, requested_at=now,
                    status=ExportStatus.QUEUED.value)
    session.add(export)
    session.flush()
    return export


def own_export(session: Session, export_id: int, *, actor: Actor) -> Export:
    """The export, to the one who asked for it only (anyone else: NotFound, as if it did not exist)."""
    export = session.get(Export, export_id) if export_id else None
    if export is None or export.requested_by != actor.id:
        raise NotFound("Unknown export.")
    return export


def stalled(export: Export, now: dt.datetime) -> bool:
    """True for an export still queued or running whose worker gave no sign of life for STALLED_AFTER."""
    last = export.progressed_at or export.requested_at
    return export.status in (ExportStatus.QUEUED.value, ExportStatus.RUNNING.value) and now - last > STALLED_AFTER


def state(export: Export, *, now: dt.datetime) -> str:
    """What the export's page says: queued, running, done, failed, or stalled."""
    return "stalled" if stalled(export, now) else export.status


def ask_again(session: Session, export_id: int, *, actor: Actor, now: dt.datetime) -> Export:
    """A failed or stalled export, queued once more (the caller sends its job again once committed)."""
    export = own_export(session, export_id, actor=actor)
    if export.status != ExportStatus.FAILED.value and not stalled(export, now):
        raise Conflict("This export is not failed or stopped; it cannot be asked for again now.")
    export.status, export.error, export.rows, export.finished_at, export.progressed_at = ExportStatus.QUEUED.value, None, 0, None, now
    return export


def file_name(export: Export) -> str:
    """The name the download carries."""
    return f"{KINDS[export.kind].stem(json.loads(export.params_json))}.xlsx"


def export_file(export: Export, folder: Path) -> Path:
    """Where a finished export's file lies, or NotFound."""
    path = folder / export.filename if export.filename else None
    if export.status != ExportStatus.DONE.value or path is None or not path.is_file():
        raise NotFound("This export has no file to download: it is not finished, it failed, or its file was removed.")
    return path


def run_export(database: Database, export_id: int, folder: Path, *, now: Callable[[], dt.datetime]) -> None:
    """Write the export's file, its progress on its row; a finished one is left as it is.

    A failure is written on the row for whoever asked, and raised again (but
    for a refusal, which no retry would pass), so that the queue retries it.
    """
    with database.session(write=False) as session:
        export = session.get(Export, export_id)
        if export is None or export.status == ExportStatus.DONE.value:
            return
        kind, values = KINDS[export.kind], load(KINDS[export.kind].schema(), json.loads(export.params_json))
    folder.mkdir(parents=True, exist_ok=True)
    name = f"export-{export_id}-{secrets.token_hex(8)}.xlsx"
    partial = folder / f".{name}.partial"
    try:
        with database.session() as writer, database.session(write=False) as reader:
            export = writer.get(Export, export_id)
            actor = actor_for(reader, export.requested_by)
            export.status, export.rows, export.error, export.progressed_at = ExportStatus.RUNNING.value, 0, None, now()
            writer.commit()
            with partial.open("wb") as out:
                write_xlsx(_counted(kind.rows(reader, values, actor), writer, export_id, now), out, sheet=kind.sheet)
            partial.replace(folder / name)
            export = writer.get(Export, export_id)
            export.status, export.filename, export.finished_at = ExportStatus.DONE.value, name, now()
            writer.commit()
    except Exception as exc:
        log.exception("export %s failed", export_id)
        partial.unlink(missing_ok=True)
        record_failure(database, Export, export_id, exc, now())
        if not isinstance(exc, DomainError):
            raise


def _counted(rows: Iterator[Sequence[Any]], writer: Session, export_id: int, now: Callable[[], dt.datetime]) -> Iterator[Sequence[Any]]:
    """The rows, with how many went out written on the export's row every PROGRESS_EVERY (headings not counted)."""
    done = -1
    for row in rows:
        yield row
        done += 1
        if done and done % PROGRESS_EVERY == 0:
            _progress(writer, export_id, done, now())
    _progress(writer, export_id, max(done, 0), now())


def _progress(writer: Session, export_id: int, done: int, at: dt.datetime) -> None:
    export = writer.get(Export, export_id)
    export.rows, export.progressed_at = done, at
    writer.commit()


def prune(session: Session, folder: Path, *, now: dt.datetime) -> int:
    """Forget exports asked for more than KEEP ago with their files, and any file older than that; how many exports."""
    cutoff = now - KEEP
    old = session.scalars(select(Export).where(Export.requested_at < cutoff)).all()
    for export in old:
        if export.filename:
            (folder / export.filename).unlink(missing_ok=True)
    # A file is written after its export was asked for, so one older than KEEP belongs to no live export: one a
    # dead worker left half-written, or one a second run (a retry beside the queue's own) wrote and nobody names.
    for leftover in folder.glob("*export-*") if folder.is_dir() else ():
        if dt.datetime.fromtimestamp(leftover.stat().st_mtime, dt.timezone.utc) < cutoff:
            leftover.unlink(missing_ok=True)
    session.execute(delete(Export).where(Export.id.in_([export.id for export in old])))
    return len(old)
