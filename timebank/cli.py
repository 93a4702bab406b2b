"""The `timebank` command: serve, migrate, verify and export the ledger, build demo data.

Every command reads the same settings as the service (it runs inside the app)
and calls services, never views.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from werkzeug.serving import run_simple
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from flask.cli import FlaskGroup

from timebank import ledger, migrate
from timebank.app import ROOT, create_app
from timebank.db import Database, utcnow
from timebank.domain import DomainError
from timebank.ledger.seal import seal_committed
from timebank.ledger.export import FORMATS, export
from timebank.ledger.models import SYSTEM_ACTOR
from timebank.ledger.reports import totals
from timebank.orgs.models import LEVELS
from timebank.people.cli import people
from timebank.redeem.cli import stations
from timebank.certify.cli import certify
from timebank.jobs import embedded
from timebank.jobs.cli import jobs, worker
from timebank.events.ties import check_attendances
from timebank.redeem.ties import check_redemptions
from timebank.workbench.tallies import check_tallies

#: The sub-ledgers `timebank ledger verify` ties to the ledger, beside its own invariants and seal chain
#: (and the workbench's tallies, kept from the postings' points and the people and redemptions they follow).
SUBLEDGER_CHECKS = (check_attendances, check_redemptions, check_tallies)


def _database() -> Database:
    return current_app.extensions["timebank.database"]


def pending_migrations(database: Database) -> bool:
    """True unless the database is at the newest migration."""
    script = ScriptDirectory.from_config(migrate.alembic_config(database.engine))
    with database.engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    return current != set(script.get_heads())


@click.group(cls=FlaskGroup, create_app=create_app, add_version_option=False, load_dotenv=False)
def main() -> None:
    """timebank: the volunteer service hours and points ledger."""


main.add_command(people)
main.add_command(stations)
main.add_command(certify)
main.add_command(worker)
main.add_command(jobs)


@main.command()
@click.option("--dev", is_flag=True, help="Flask's reloading development server instead of gunicorn.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=lambda: 2 * (os.cpu_count() or 1) + 1, type=int, help="gunicorn workers.")
@click.option("--no-worker", is_flag=True, help="Start no job queue worker beside the server (on Redis, workers run apart).")
def serve(dev: bool, host: str, port: int, workers: int, no_worker: bool) -> None:
    """Serve the web app and API (gunicorn on wsgi:app), with a job queue worker beside it on the embedded default."""
    if pending_migrations(_database()):
        raise click.ClickException("The database is not up to date: run `timebank db upgrade` first.")
    queue_url = current_app.config.get("QUEUE_URL") or ""
    with_worker = not no_worker and not queue_url.startswith(("redis://", "rediss://", "unix://"))
    if dev:
        _serve_dev(host, port, with_worker=with_worker)
        return
    args = [sys.executable, "-m", "gunicorn", "--chdir", str(ROOT), "--bind", f"{host}:{port}"]
    args += ["--workers", str(workers), "--access-logfile", "-"]
    if with_worker:
        args += ["--config", "python:timebank.jobs.embedded"]  # the master starts and stops one job queue worker
    args.append("wsgi:app")
    os.execv(sys.executable, args)


@main.command()
@click.option("--organisation", "organisation_name", required=True, help="The root organisation's name, e.g. 陕县.")
@click.option("--level", type=click.Choice(LEVELS), default="district", show_default=True, help="The root's level.")
@click.option("--name", "admin_name", required=True, help="The first admin's real name.")
@click.option("--phone", required=True, help="The first admin's mobile number (they sign in with it).")
@click.password_option("--password", envvar="TIMEBANK_INIT_PASSWORD", prompt="The first admin's password",
                       help="Read from TIMEBANK_INIT_PASSWORD, or asked for (never echoed).")
def init(organisation_name: str, level: str, admin_name: str, phone: str, password: str) -> None:
    """Make a fresh database usable: its root organisation and first admin (refused once either exists)."""
    from timebank.people.bootstrap import initialise

    database = _database()
    if pending_migrations(database):
        raise click.ClickException("The database is not up to date: run `timebank db upgrade` first.")
    with database.session() as session:
        try:
            root, admin = initialise(
                session, organisation={"name": organisation_name, "level": level},
                admin={"real_name": admin_name, "phone": phone, "password": password},
                vault=current_app.extensions["timebank.vault"], now=utcnow(),
            )
        except DomainError as exc:
            problems = [f"{field}: {'; '.join(messages)}" for field, messages in exc.errors.items()]
            raise click.ClickException(" ".join([str(exc), *problems])) from None
        session.commit()
        click.echo(f"organisation {root.id} {root.name} ({root.level}); admin {admin.id} {admin.real_name}, signs in with {admin.phone}")


def _serve_dev(host: str, port: int, *, with_worker: bool) -> None:
    """Werkzeug's reloading server, with one job queue worker for as long as it runs (not restarted by a reload)."""
    # The reloader runs this command again in a child on every edit (WERKZEUG_RUN_MAIN set there): only the
    # outer process, which lives until Ctrl-C or SIGTERM, starts the worker.
    worker_proc = embedded.start_worker() if with_worker and os.environ.get("WERKZEUG_RUN_MAIN") != "true" else None
    try:
        # Flask ignores app.run() inside its own CLI; serve with Werkzeug directly, reloading on edits.
        run_simple(host, port, current_app._get_current_object(), use_reloader=True, use_debugger=True)
    finally:  # Ctrl-C, or SIGTERM (the reloader turns it into SystemExit)
        if worker_proc is not None:
            embedded.stop_worker(worker_proc)


@main.group()
def db() -> None:
    """Database migrations (Alembic)."""


@db.command()
@click.argument("revision", default="head")
def upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    migrate.upgrade(_database().engine, revision)
    click.echo(f"database at {revision}")


@db.command()
@click.argument("revision")
def downgrade(revision: str) -> None:
    """Undo migrations down to REVISION ('base' removes every table)."""
    migrate.downgrade(_database().engine, revision)
    click.echo(f"database at {revision}")


@db.command()
@click.option("-m", "--message", required=True, help="What the migration changes.")
@click.option("--empty", is_flag=True, help="Do not compare the models with the database.")
def revision(message: str, empty: bool) -> None:
    """Write a new migration, compared against the current database."""
    migrate.revision(_database().engine, message, autogenerate=not empty)


@main.group(name="ledger")
def ledger_group() -> None:
    """Check and export the ledger."""


@ledger_group.command()
def verify() -> None:
    """Recompute every balance and the seal chain, check every invariant, tie attendances and redemptions, check the workbench's tallies."""
    with _database().session(write=False) as session:
        breaches = list(ledger.verify(session, checks=SUBLEDGER_CHECKS))
        figures = totals(session)
        sealed = ledger.seal_status(session)
    for breach in breaches:
        click.echo(f"BREACH {breach}", err=True)
    summary = (
        f"{figures.accounts} accounts, {figures.transactions} transactions, "
        f"{figures.postings} postings"
    )
    if breaches:
        click.echo(f"seals: {sealed}")
        raise click.ClickException(f"{len(breaches)} breach(es) found in {summary}")
    click.echo(f"ledger clean: {summary}")
    click.echo(f"seals: {sealed}")


@ledger_group.command(name="seal")
def seal_command() -> None:
    """Seal every committed transaction into the hash chain (the periodic job runs this)."""
    database = _database()
    count = seal_committed(database)
    with database.session(write=False) as session:
        status = ledger.seal_status(session)
    click.echo(f"{count} transaction(s) sealed; {status}")


@ledger_group.command(name="export")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="beancount", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, writable=True, path_type=Path), help="File to write (default: standard output).")
def export_command(fmt: str, output: Path | None) -> None:
    """Write the whole ledger as a Beancount or hledger journal."""
    with _database().session(write=False) as session:
        if output is None:
            export(session, sys.stdout, format=fmt)
            return
        scratch = output.with_name(f".{output.name}.partial")
        try:
            with scratch.open("w", encoding="utf-8") as out:
                export(session, out, format=fmt)
            scratch.replace(output)
        finally:
            scratch.unlink(missing_ok=True)
    click.echo(f"wrote {output}", err=True)


@ledger_group.command(name="expire-holds")
def expire_holds_command() -> None:
    """Expire every open hold past its expiry, freeing what it reserved."""
    with _database().session() as session:
        expired = ledger.expire_holds(session, actor=SYSTEM_ACTOR, now=utcnow())
        session.commit()
    click.echo(f"{len(expired)} hold(s) expired")


@main.command()
@click.option("--volunteers", default=300, show_default=True, type=click.IntRange(min=2), help="How many volunteers.")
@click.option("--days", default=180, show_default=True, help="How many days of history.")
@click.option("--seed", default=2026, show_default=True, help="Random seed: the same seed, the same demo.")
def demo(volunteers: int, days: int, seed: int) -> None:
    """Create or refresh a demo database a newcomer can explore."""
    from timebank.demo import DemoRefused, build_demo, reset_demo_database

    database = _database()
    try:
        reset_demo_database(database)
    except DemoRefused as exc:
        raise click.ClickException(str(exc)) from exc
    with database.session() as session:
        summary = build_demo(
            session,
            volunteers=volunteers,
            days=days,
            seed=seed,
            now=utcnow(),
            vault=current_app.extensions["timebank.vault"],
        )
        session.commit()
    seal_committed(database)
    click.echo(summary)


if __name__ == "__main__":
    main()
