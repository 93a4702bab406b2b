"""Service record certificates for everyone of an organisation and a period, into one PDF that streams.

`batch_certificates` numbers a chunk of volunteers' certificates, yields so
the caller commits (the command line, or the queue's job that reports
progress), then draws them and appends them to the open output, outside any
write transaction. A batch run again after its worker died finds the
certificates it numbered already (one per person per batch) and draws them
again: no serial is ever issued twice.
People are read a chunk at a time by id and let go after it, so memory stays
flat however many there are.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from timebank.certify.models import BatchStatus, Certificate, CertificateBatch
from timebank.certify.pdf import Holder, chunk_pdf, draw_service_record
from timebank.certify.schemas import BatchSchema
from timebank.certify.records import service_record
from timebank.certify.services import record_certificates
from timebank.certify.stars import person_thresholds
from timebank.certify.stream import StreamingPdf
from timebank.db import Database
from timebank.domain import DomainError, NotFound
from timebank.jobs.failures import record_failure
from timebank.fonts import SharedSubset
from timebank.orgs.models import Organisation
from timebank.orgs.services import get_organisation
from timebank.people.access import MANAGERS, Actor, actor_for
from timebank.people.models import Person, Status
from timebank.people.services import load

CHUNK = 50  # people per commit: on SQLite the write lock is held while their certificates are numbered
#: A chunk takes seconds; a batch silent this long lost its worker (a restart, a crash) and is offered again.
STALLED_AFTER = dt.timedelta(minutes=10)
log = logging.getLogger(__name__)


def holder(person: Person) -> Holder:
    """The person as a certificate prints them: the ID number only masked."""
    return Holder(person.real_name, person.id_number_masked or "", person.volunteer_number)


def _members(path: str):
    return (
        select(Person)
        .join(Organisation, Organisation.id == Person.home_organisation_id)
        .where(Organisation.path.startswith(path), Person.status == Status.ACTIVE.value)
    )


def count_members(session: Session, organisation: Organisation) -> int:
    """Active people whose home is the organisation or below it."""
    return int(session.scalar(select(func.count()).select_from(_members(organisation.path).subquery())) or 0)


def members(session: Session, path: str, *, chunk: int = CHUNK) -> Iterator[list[Person]]:
    """The active people below an organisation's path, a chunk at a time in id order (keyset: each chunk one quick query)."""
    after = 0
    while True:
        found = list(session.scalars(_members(path).where(Person.id > after).order_by(Person.id).limit(chunk)))
        if not found:
            return
        yield found
        after = found[-1].id


def batch_certificates(
    session: Session, organisation: Organisation, start: dt.date, end: dt.date, out: BinaryIO,
    *, verify_url: Callable[[str], str], actor: Actor, now: dt.datetime, batch_id: int | None = None, chunk: int = CHUNK,
) -> Iterator[int]:
    """Write every member's service record certificate into `out`; yields how many are drawn, once per chunk and at the end.

    Each yield is where the caller commits: a chunk is numbered inside a transaction, drawn outside one.
    """
    actor.require(MANAGERS, organisation)
    # Plain values: the caller's commits expire the objects, and each chunk is let go.
    path, title = organisation.path, f"志愿服务记录证明 {organisation.name} {start}–{end}"
    document, subset = StreamingPdf(out), SharedSubset()  # one embedded font for the whole file
    homes: dict[int, tuple[str, list[int]]] = {}  # organisation id -> (name, star thresholds): read once each
    done = 0
    for people in members(session, path, chunk=chunk):
        issued = issued_in_batch(session, batch_id, [person.id for person in people])
        records = []
        for person in people:
            if person.home_organisation_id not in homes:
                homes[person.home_organisation_id] = (get_organisation(session, person.home_organisation_id).name, person_thresholds(session, person))
            records.append((person, service_record(session, person, start, end, thresholds=homes[person.home_organisation_id][1])))
        # The chunk's new certificates numbered in one look-up and one flush; a batch run again keeps its serials.
        new = iter(record_certificates(session, [(p, found) for p, found in records if p.id not in issued], actor=actor, now=now, batch_id=batch_id))
        numbered = []
        for person, found in records:
            certificate = issued[person.id] if person.id in issued else next(new)
            numbered.append((found, holder(person), certificate, homes[person.home_organisation_id][0], verify_url(certificate.verify_key)))
        # The caller commits the chunk's numbers here, before the drawing: on SQLite the write lock is let go
        # while the pages are drawn, so check-ins and redemptions get in between the chunks.
        yield done
        # The chunk's certificates drawn on one canvas: its resources written and read back once, not once each.
        document.add(chunk_pdf(draw_service_record, numbered, subset=subset))
        done += len(numbered)
        session.expunge_all()
    document.close(title, embedding=subset.embedding())
    yield done


def issued_in_batch(session: Session, batch_id: int | None, person_ids: list[int]) -> dict[int, Certificate]:
    """The certificates a batch numbered already for these people (a batch run again), by person."""
    if batch_id is None or not person_ids:
        return {}
    found = session.scalars(select(Certificate).where(Certificate.batch_id == batch_id, Certificate.person_id.in_(person_ids)))
    return {certificate.person_id: certificate for certificate in found}


# -- the queue's job ----------------------------------------------------------------


def request_batch(session: Session, data: dict[str, Any], *, actor: Actor, now: dt.datetime) -> CertificateBatch:
    """A coordinator asks for a batch: checked and recorded (the view sends its job once committed)."""
    values = load(BatchSchema(), data)
    organisation = get_organisation(session, values["organisation_id"])
    actor.require(MANAGERS, organisation)
    batch = CertificateBatch(
        organisation_id=organisation.id, period_start=values["start"], period_end=values["end"],
        requested_by=actor.id, requested_at=now, status=BatchStatus.QUEUED.value, total=count_members(session, organisation),
    )
    session.add(batch)
    session.flush()
    return batch


def managed_batch(session: Session, batch_id: int, *, actor: Actor) -> CertificateBatch:
    """The batch, if the actor manages its organisation."""
    batch = session.get(CertificateBatch, batch_id) if batch_id else None
    if batch is None:
        raise NotFound("Unknown batch.")
    actor.require(MANAGERS, batch.organisation)
    return batch


def stalled(batch: CertificateBatch, now: dt.datetime) -> bool:
    """True for a batch still queued or running whose worker has given no sign of life for STALLED_AFTER (its process died)."""
    last = batch.progressed_at or batch.requested_at
    return batch.status in (BatchStatus.QUEUED.value, BatchStatus.RUNNING.value) and now - last > STALLED_AFTER


def batch_file(batch: CertificateBatch, folder: Path) -> Path:
    """Where a finished batch's PDF lies, or NotFound."""
    path = folder / batch.filename if batch.filename else None
    if batch.status != BatchStatus.DONE.value or path is None or not path.is_file():
        raise NotFound("This batch has no file to download: it is not finished, it failed, or its file was removed.")
    return path


def run_batch(database: Database, batch_id: int, folder: Path, verify_url: Callable[[str], str], *, now: Callable[[], dt.datetime], chunk: int = CHUNK) -> None:
    """Make the batch's PDF, writing progress to its row; run again, it reuses its serials and draws the file afresh.

    A finished batch is left as it is. A failure is written on the row for the
    coordinator and raised again, so that the queue retries it.
    """
    with database.session(write=False) as session:
        batch = session.get(CertificateBatch, batch_id)
        if batch is None or batch.status == BatchStatus.DONE.value:
            return
    folder.mkdir(parents=True, exist_ok=True)
    name = f"batch-{batch_id}-{secrets.token_hex(8)}.pdf"
    partial = folder / f".{name}.partial"
    try:
        with database.session() as session:
            batch = session.get(CertificateBatch, batch_id)
            actor = actor_for(session, batch.requested_by)
            organisation = get_organisation(session, batch.organisation_id)
            start, end = batch.period_start, batch.period_end
            batch.status, batch.progressed_at, batch.done, batch.error = BatchStatus.RUNNING.value, now(), 0, None
            session.commit()
            with partial.open("wb") as out:
                for done in batch_certificates(session, organisation, start, end, out, verify_url=verify_url, actor=actor, now=now(), batch_id=batch_id, chunk=chunk):
                    running = session.get(CertificateBatch, batch_id)
                    running.done, running.progressed_at = done, now()
                    session.commit()
            partial.replace(folder / name)
            batch = session.get(CertificateBatch, batch_id)
            batch.status, batch.filename, batch.finished_at = BatchStatus.DONE.value, name, now()
            session.commit()
    except Exception as exc:
        log.exception("certificate batch %s failed", batch_id)
        partial.unlink(missing_ok=True)
        record_failure(database, CertificateBatch, batch_id, exc, now())
        if not isinstance(exc, DomainError):  # a refusal (the requester lost the right) will not pass on a retry
            raise
