"""`timebank people ...`: volunteers' records from the command line (calls services only)."""

from __future__ import annotations

import sys
import warnings
import zipfile
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from openpyxl import load_workbook

from timebank.db import utcnow
from timebank.domain import DomainError, NotAllowed
from timebank.people.access import actor_for
from timebank.people.importing import ImportReport, prepare_import, read_rows, write_import
from timebank.people.models import Person, Status

people = AppGroup("people", help="Volunteers' records.")


@people.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--organisation", "organisation_id", type=int, required=True, help="Organisation (id) the volunteers join.")
@click.option("--actor", "actor_id", type=int, required=True, help="The coordinator or admin (person id) registering them.")
@click.option("--dry-run", is_flag=True, help="Check every row, then write nothing.")
def import_command(file: Path, organisation_id: int, actor_id: int, dry_run: bool) -> None:
    """Register every volunteer in a CSV or XLSX FILE, or none of them if any row is refused."""
    database = current_app.extensions["timebank.database"]
    now = utcnow()
    # Checked on a reading session, so the file is read without holding the write lock.
    with database.session(write=False) as session:
        person = session.get(Person, actor_id)
        if person is None or person.status != Status.ACTIVE.value:
            raise click.ClickException(f"person {actor_id} is not an active coordinator or admin")
        try:
            with click.progressbar(length=estimate_rows(file) or 0, label=f"checking {file.name}", file=sys.stderr) as bar:
                prepared = prepare_import(
                    session, read_rows(file, file.name), organisation_id=organisation_id,
                    actor=actor_for(session, person), vault=current_app.extensions["timebank.vault"],
                    now=now, progress=lambda: bar.update(1),
                )
        except NotAllowed:
            raise click.ClickException(
                f"person {actor_id} may not register volunteers in organisation {organisation_id}"
            ) from None
        except DomainError as exc:
            raise click.ClickException(_says(exc)) from None
    with prepared:
        report = prepared.report
        _print_report(report)
        if not report.ok:
            raise click.ClickException(
                f"nothing imported: {report.refused_rows} of {report.rows_read} rows refused; correct them and run again"
            )
        if dry_run:
            click.echo(f"dry run: all {report.rows_read} rows would be imported; nothing was written")
            return
        with database.session() as session:
            try:
                written = write_import(session, prepared, now=now)
            except DomainError as exc:
                raise click.ClickException(_says(exc)) from None
            session.commit()
    click.echo(f"imported {written} volunteers")


def _says(error: DomainError) -> str:
    return error.template % error.params if error.params else error.template


def estimate_rows(path: str | Path) -> int | None:
    """About how many data rows a file holds (for a progress bar), or None if it cannot tell."""
    path = Path(path)
    try:
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                workbook = load_workbook(path, read_only=True)
            try:
                rows = workbook.worksheets[0].max_row
            finally:
                workbook.close()
            return max(0, rows - 1) if rows else None
        with path.open("rb") as handle:
            return max(0, sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b"")) - 1)
    except (OSError, zipfile.BadZipFile, KeyError, ValueError):
        return None


def _print_report(report: ImportReport) -> None:
    """One line per refused row's problem: row, column, message."""
    for problem in report.problems:
        message = problem.message % problem.params if problem.params else problem.message
        column = f"  {problem.column} ({problem.field})" if problem.column else ""
        shown = f"  [{problem.value}]" if problem.value is not None else ""
        click.echo(f"row {problem.row}{column}: {message}{shown}")
    hidden = report.problem_count - len(report.problems)
    if hidden:
        click.echo(f"... and {hidden} more problems")
    click.echo(f"{report.rows_read} rows read, {report.refused_rows} refused")
