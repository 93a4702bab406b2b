"""`timebank certify ...`: printed certificates and national-record exports from the command line (calls services only)."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from timebank.certify import exports
from timebank.certify.batch import batch_certificates, count_members
from timebank.db import utcnow
from timebank.domain import DomainError, NotAllowed
from timebank.orgs.models import Organisation
from timebank.people.access import actor_for
from timebank.people.models import Person, Status

certify = AppGroup("certify", help="Certificates and service records.")
#: Where the QR codes of certificates printed from the command line point.
DEFAULT_BASE_URL = "http://127.0.0.1:8000"


def _setting(session, organisation_id: int, actor_id: int):
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise click.ClickException(f"no organisation {organisation_id}")
    person = session.get(Person, actor_id)
    if person is None or person.status != Status.ACTIVE.value:
        raise click.ClickException(f"person {actor_id} is not an active coordinator or admin")
    return organisation, actor_for(session, person)


def _message(exc: DomainError) -> str:
    return exc.template % exc.params if exc.params else exc.template


period_options = [
    click.option("--organisation", "organisation_id", type=int, required=True, help="Organisation (id): its volunteers and those below it."),
    click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), required=True, help="First day of the period (YYYY-MM-DD)."),
    click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), required=True, help="Last day of the period (YYYY-MM-DD)."),
    click.option("--actor", "actor_id", type=int, required=True, help="The coordinator or admin (person id) issuing them."),
]


def with_period(command):
    for option in reversed(period_options):
        command = option(command)
    return command


@certify.command("batch")
@with_period
@click.option("--output", type=click.Path(dir_okay=False, writable=True, path_type=Path), required=True, help="The PDF to write.")
@click.option("--base-url", default=lambda: os.environ.get("TIMEBANK_PUBLIC_URL", DEFAULT_BASE_URL), show_default="$TIMEBANK_PUBLIC_URL or " + DEFAULT_BASE_URL, help="The service's public address, for the verification QR codes.")
def batch_command(organisation_id: int, start: dt.datetime, end: dt.datetime, actor_id: int, output: Path, base_url: str) -> None:
    """One PDF of numbered service record certificates for every active volunteer of an organisation, for a period."""
    if end < start:
        raise click.ClickException("the period ends before it starts")
    database = current_app.extensions["timebank.database"]
    base = base_url.rstrip("/")
    scratch = output.with_name(f".{output.name}.partial")
    with database.session() as session:
        organisation, actor = _setting(session, organisation_id, actor_id)
        total = count_members(session, organisation)
        try:
            with scratch.open("wb") as out, click.progressbar(length=total, label="certificates", file=sys.stderr) as bar:
                done = 0
                for count in batch_certificates(session, organisation, start.date(), end.date(), out, verify_url=lambda key: f"{base}/certify/verify/{key}", actor=actor, now=utcnow()):
                    session.commit()
                    bar.update(count - done)
                    done = count
            scratch.replace(output)
        except NotAllowed:
            raise click.ClickException(f"person {actor_id} may not issue certificates for organisation {organisation_id}") from None
        except DomainError as exc:
            raise click.ClickException(_message(exc)) from None
        finally:
            scratch.unlink(missing_ok=True)
    click.echo(f"wrote {done} certificates to {output}")


@certify.command("export")
@with_period
@click.option("--format", "fmt", type=click.Choice(exports.FORMATS), default="csv", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, writable=True, path_type=Path), required=True, help="The file to write.")
@click.option("--full-ids", is_flag=True, help="Whole ID numbers, for entry into the national system (recorded in the audit log).")
def export_command(organisation_id: int, start: dt.datetime, end: dt.datetime, actor_id: int, fmt: str, output: Path, full_ids: bool) -> None:
    """The service records of an organisation and period in the national record's fields, as CSV or XLSX."""
    database = current_app.extensions["timebank.database"]
    if full_ids:  # the audit entry stands before the first number is written
        with database.session() as session:
            organisation, actor = _setting(session, organisation_id, actor_id)
            try:
                exports.audit_full_export(session, organisation, start.date(), end.date(), actor=actor, now=utcnow())
            except NotAllowed:
                raise click.ClickException(f"person {actor_id} may not export the records of organisation {organisation_id}") from None
            session.commit()
    with database.session(write=False) as session:
        organisation, actor = _setting(session, organisation_id, actor_id)
        try:
            lines = exports.rows(session, organisation, start.date(), end.date(), actor=actor,
                                 vault=current_app.extensions["timebank.vault"] if full_ids else None)
            if fmt == "csv":
                with output.open("w", encoding="utf-8", newline="") as out:
                    for chunk in exports.csv_chunks(lines):
                        out.write(chunk)
            else:
                with output.open("wb") as out:
                    exports.write_xlsx(lines, out)
        except NotAllowed:
            raise click.ClickException(f"person {actor_id} may not export the records of organisation {organisation_id}") from None
    click.echo(f"wrote {output}")
