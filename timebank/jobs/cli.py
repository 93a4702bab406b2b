"""`timebank worker` runs the queue's consumer; `timebank jobs` lists jobs and sends a failed one again."""

from __future__ import annotations

import logging

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from timebank.db import utcnow
from timebank.jobs import services
from timebank.jobs.models import JobStatus
from timebank.jobs.queue import queue_of
from timebank.jobs.registry import SPECS


@click.command()
@with_appcontext
@click.option("--workers", default=2, show_default=True, type=click.IntRange(min=1), help="Jobs run at once (threads).")
@click.option("--no-periodic", is_flag=True, help="Run no periodic tasks here (every host but one, in production).")
def worker(workers: int, no_periodic: bool) -> None:
    """Run the job queue's consumer: background jobs and periodic tasks."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    queue = queue_of(current_app._get_current_object())
    recovered = queue.recover()
    if recovered:
        click.echo(f"sent again {len(recovered)} job(s) a stopped worker left: {', '.join(recovered)}", err=True)
    consumer = queue.huey.create_consumer(
        workers=workers, worker_type="thread", periodic=not no_periodic, initial_delay=0.05, backoff=1.5, max_delay=1.0,
        scheduler_interval=1, check_worker_health=True,
    )
    consumer.run()


@click.group(cls=AppGroup, invoke_without_command=True)
@with_appcontext
@click.option("--status", type=click.Choice([s.value for s in services.LISTED]), help="Only jobs in this state.")
@click.pass_context
def jobs(ctx: click.Context, status: str | None) -> None:
    """List queued, running, failed and scheduled jobs (and the periodic tasks)."""
    if ctx.invoked_subcommand is not None:
        return
    statuses = (JobStatus(status),) if status else services.LISTED
    with queue_of(current_app._get_current_object()).database.session(write=False) as session:
        rows = services.listed(session, statuses=statuses)
    for row in rows:
        when = row.eta if row.status == JobStatus.SCHEDULED.value else row.started_at or row.enqueued_at
        error = f"  {row.error.splitlines()[0]}" if row.error and row.status != JobStatus.DONE.value else ""
        click.echo(f"{row.status:<11} {row.id}  {row.name}{row.args_json}  {when:%Y-%m-%d %H:%M:%S}  tries {row.attempts}  {row.worker or ''}{error}")
    if not status:
        for spec in SPECS.values():
            if spec.schedule is not None:
                click.echo(f"{'periodic':<11} {spec.name}  {spec.every}")


@jobs.command()
@click.argument("job_id")
def retry(job_id: str) -> None:
    """Send a failed or stopped job again, under its own id."""
    queue = queue_of(current_app._get_current_object())
    with queue.database.session() as session:
        try:
            services.checked_retry(session, job_id, now=utcnow())
        except Exception as exc:
            raise click.ClickException(getattr(exc, "template", str(exc))) from exc
    if not queue.send_again(job_id):
        raise click.ClickException("A periodic task is not sent again: it runs again on its schedule.")
    click.echo(f"sent {job_id} again")
