"""The queue itself, with a real consumer process on SQLite and on Redis: jobs run, retry with backoff, fail visibly, and survive a killed worker."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from tests.conftest import NOW
from tests.jobs.conftest import wait_for
from timebank.certify.batch import request_batch
from timebank.certify.models import BatchStatus, Certificate, CertificateBatch
from timebank.certify.tasks import batch_folder
from timebank.jobs import services
from timebank.jobs.models import Job, JobStatus
from timebank.jobs.queue import queue_of
from timebank.people.access import actor_for


def _job(db, job_id: str) -> Job | None:
    with db.session(write=False) as reader:
        found = reader.get(Job, job_id)
        if found is not None:
            reader.expunge(found)
        return found


@pytest.mark.slow
def test_jobs_run_on_a_consumer_retry_with_backoff_and_stop_failed_with_their_error(queued_app, db, worker, run_cli_on, tmp_path):
    queue = queue_of(queued_app)
    lines, tries = tmp_path / "lines.txt", tmp_path / "tries.txt"
    plain = queue.enqueue("tests.append", str(lines), "第一行")
    flaky = queue.enqueue("tests.flaky", str(tries), 2)
    broken = queue.enqueue("tests.broken")
    assert _job(db, plain).status == JobStatus.QUEUED.value  # recorded before any consumer runs
    worker.start()

    wait_for(lambda: lines.exists() and lines.read_text() == "第一行\n", log=worker.log)
    wait_for(lambda: _job(db, plain).status == JobStatus.DONE.value, log=worker.log)
    done = wait_for(lambda: (found := _job(db, flaky)) and found.status == JobStatus.DONE.value and found, log=worker.log)
    assert done.attempts == 3 and tries.read_text().count("try") == 3  # failed twice, waited 1 s then 2 s, then ran
    failed = wait_for(lambda: (found := _job(db, broken)) and found.status == JobStatus.FAILED.value and found, log=worker.log)
    assert failed.attempts == 2 and "the printer is on fire" in failed.error

    listing = run_cli_on(queued_app, "jobs", "--status", "failed")
    assert broken in listing.output and "the printer is on fire" in listing.output
    again = run_cli_on(queued_app, "jobs", "retry", broken)
    assert again.exit_code == 0, again.output
    wait_for(lambda: _job(db, broken).attempts == 4 and _job(db, broken).status == JobStatus.FAILED.value, log=worker.log)
    refused = run_cli_on(queued_app, "jobs", "retry", plain)
    assert refused.exit_code != 0 and "cannot be sent again" in refused.output


@pytest.mark.slow
def test_a_consumer_killed_in_the_middle_of_a_batch_finishes_it_on_restart_with_each_certificate_issued_once(queued_app, db, session, worker, make_person, org_tree):
    coordinator = make_person("coordinator")
    volunteers = [make_person(name=f"志愿者{i}") for i in range(13)]
    batch = request_batch(session, {"organisation_id": org_tree["east"].id, "start": "2026-01-01", "end": "2026-11-20"}, actor=actor_for(session, coordinator), now=NOW)
    session.commit()
    assert batch.total == 14 == len(volunteers) + 1
    with queued_app.app_context():
        job_id = queue_of(queued_app).enqueue("certify.batch", batch.id, "https://tb.example/certify/verify/KEY")

    def numbered() -> int:
        with db.session(write=False) as reader:
            return reader.scalar(select(func.count()).where(Certificate.batch_id == batch.id))

    first = worker.start()
    wait_for(lambda: numbered() >= 5, log=worker.log)  # the first chunk (5 people: TIMEBANK_CERTIFY_BATCH_CHUNK) is numbered and committed; its pages are being drawn
    worker.kill(first)
    with db.session(write=False) as reader:
        assert reader.get(CertificateBatch, batch.id).status == BatchStatus.RUNNING.value
        assert reader.get(Job, job_id).status == JobStatus.RUNNING.value

    worker.start()  # finds the dead worker's job and sends it again under the same id
    wait_for(lambda: _job(db, job_id).status == JobStatus.DONE.value, log=worker.log)
    with db.session(write=False) as reader:
        finished = reader.get(CertificateBatch, batch.id)
        certificates = reader.scalars(select(Certificate).where(Certificate.batch_id == batch.id)).all()
        assert finished.status == BatchStatus.DONE.value and finished.done == 14
        assert len(certificates) == 14
        assert len({c.person_id for c in certificates}) == 14
        assert len({(c.year, c.sequence) for c in certificates}) == 14
        assert reader.scalar(select(func.count()).select_from(Certificate)) == 14  # nothing numbered outside the batch either
        assert reader.get(Job, job_id).attempts == 2
        with queued_app.app_context():
            data = (batch_folder() / finished.filename).read_bytes()
    assert len(PdfReader(io.BytesIO(data)).pages) == 14
    assert json.loads(_job(db, job_id).args_json) == [batch.id, "https://tb.example/certify/verify/KEY"]


def test_only_failed_stopped_or_long_silent_jobs_may_be_sent_again(session):
    now = dt.datetime(2026, 12, 2, tzinfo=dt.timezone.utc)
    for status in ("queued", "running", "done", "failed", "interrupted"):
        services.note(session, f"job-{status}", "tests.append", {"status": status, "started_at": now - dt.timedelta(minutes=5)}, now=now)
    rows = {row.status: row for row in session.scalars(select(Job))}
    assert {status for status, row in rows.items() if services.may_send_again(row, now=now)} == {"failed", "interrupted"}
    assert services.may_send_again(rows["running"], now=now + services.STALE_AFTER)
