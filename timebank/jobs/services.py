"""The jobs table: what the queue's signals write, what admins list and send again, what a restarted worker recovers."""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from timebank.domain import Conflict, NotFound
from timebank.jobs.models import Job, JobStatus

#: Shown on the jobs page and by `timebank jobs`, in this order.
LISTED = (JobStatus.RUNNING, JobStatus.FAILED, JobStatus.INTERRUPTED, JobStatus.QUEUED, JobStatus.SCHEDULED)
#: A job running this long on a host that never came back may be sent again by an admin.
STALE_AFTER = dt.timedelta(minutes=30)
#: Finished jobs are kept this long, then pruned.
KEEP_DONE = dt.timedelta(days=2)


def note(session: Session, job_id: str, name: str, fields: dict[str, Any], *, now: dt.datetime) -> None:
    """Write what the queue just did with a job onto its row (made on first sight); two plain statements at most, as every job pays it."""
    values = dict(fields)
    attempt = values.pop("attempt", False)
    changes = {**values, "attempts": Job.attempts + 1} if attempt else values
    if session.execute(update(Job).where(Job.id == job_id).values(**changes)).rowcount == 0:
        base = {"status": JobStatus.QUEUED.value, "args_json": "[]", "attempts": 1 if attempt else 0}
        session.execute(insert(Job).values({**base, **values, "id": job_id, "name": name, "enqueued_at": now}))


def listed(session: Session, *, statuses: tuple[JobStatus, ...] = LISTED, limit: int = 200) -> list[Job]:
    """Jobs in the given states: running first, then failed, then waiting; newest first within each."""
    order = {status.value: i for i, status in enumerate(statuses)}
    rows = session.scalars(
        select(Job).where(Job.status.in_([s.value for s in statuses])).order_by(Job.enqueued_at.desc()).limit(limit)
    ).all()
    return sorted(rows, key=lambda row: order[row.status])


def may_send_again(found: Job, *, now: dt.datetime) -> bool:
    """Failed and interrupted jobs, and one running so long its host must be gone."""
    if found.status in (JobStatus.FAILED.value, JobStatus.INTERRUPTED.value):
        return True
    return found.status == JobStatus.RUNNING.value and found.started_at is not None and now - found.started_at > STALE_AFTER


def resend(session: Session, job_id: str, *, periodic: bool) -> Job | None:
    """Mark a job queued again (the caller then sends it under the same id); None for an unknown id.

    A periodic task is not sent again: its next run follows its schedule, so its row says so and stays failed.
    """
    found = session.get(Job, job_id)
    if found is None:
        return None
    if periodic:
        found.status, found.error = JobStatus.FAILED.value, "interrupted; it runs again on its schedule"
    else:
        found.status, found.eta, found.finished_at = JobStatus.QUEUED.value, None, None
    return found


def checked_retry(session: Session, job_id: str, *, now: dt.datetime) -> Job:
    """The job an admin asks to run again, if it may be: failed, interrupted, or running long past any sign of life."""
    found = session.get(Job, job_id)
    if found is None:
        raise NotFound("Unknown job.")
    if not may_send_again(found, now=now):
        raise Conflict("This job is not failed or stopped; it cannot be sent again now.")
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def orphans(session: Session, *, host: str, now: dt.datetime) -> list[str]:
    """Jobs left running by a dead worker of this host, and jobs a shutdown interrupted: their ids, to be sent again."""
    found = []
    for row in session.scalars(select(Job).where(Job.status.in_([JobStatus.RUNNING.value, JobStatus.INTERRUPTED.value]))):
        worker_host, _, pid = (row.worker or "").rpartition(":")
        if row.status == JobStatus.INTERRUPTED.value or (worker_host == host and pid.isdigit() and not _alive(int(pid))):
            found.append(row.id)
    return found


def prune(session: Session, *, now: dt.datetime) -> int:
    """Forget finished jobs older than KEEP_DONE; how many."""
    result = session.execute(delete(Job).where(Job.status == JobStatus.DONE.value, Job.finished_at < now - KEEP_DONE))
    return result.rowcount or 0
