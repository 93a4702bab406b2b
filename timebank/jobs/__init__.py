"""Background work on a job queue (huey): the registry of jobs and periodic tasks, and sending a job.

A feature registers its work in one line, in a module named in TASK_MODULES:

    @job("certify.batch", retries=5)                      # sent by `enqueue("certify.batch", batch_id, ...)`
    def make_batch(batch_id: int, verify_base: str) -> None: ...

    @periodic("ledger.expire_holds", crontab(minute="*/5"))   # run by the consumer on its schedule
    def expire_holds() -> None: ...

Jobs run inside the app's context (`database()` and the config are there) and
must be idempotent: a job may run again after a worker died in the middle.
Arguments are JSON values (ids, dates as text), so a job can be sent again.
"""

from __future__ import annotations

from huey import crontab

from timebank.jobs.registry import SPECS, Spec, job, periodic
from timebank.jobs.queue import Queue, build_queue, enqueue, queue_of

#: Modules whose import registers jobs; a new feature's `tasks` module goes here.
TASK_MODULES = (
    "timebank.jobs.periodic",
    "timebank.certify.tasks",
    "timebank.events.tasks",
    "timebank.notices.tasks",
    "timebank.auth.tasks",
    "timebank.exports.tasks",
    "timebank.people.tasks",
    "timebank.needs.tasks",
    "timebank.needs.order_tasks",
    "timebank.grading.tasks",
    "timebank.workbench.tasks",
)

__all__ = ["SPECS", "TASK_MODULES", "Queue", "Spec", "build_queue", "crontab", "enqueue", "job", "periodic", "queue_of"]
