"""People's work on the job queue: importing a large volunteer file, and deleting the files of failed ones."""

from __future__ import annotations

from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext
from huey import crontab

from timebank.db import utcnow
from timebank.jobs.registry import job, periodic
from timebank.people import background_imports
from timebank.web import database


def import_folder() -> Path:
    """Where uploaded files wait for their import: the instance folder."""
    return Path(current_app.instance_path) / "imports"


def background_rows() -> int:
    """Files with more rows than this are imported in the background."""
    return int(current_app.config.get("PEOPLE_IMPORT_BACKGROUND_ROWS", background_imports.BACKGROUND_ROWS))


@job("people.import", retries=3, retry_delay=30)
def run_people_import(import_id: int) -> None:
    """Read, check and write a large volunteer file, its report on its record."""
    background_imports.run_import(database(), import_id, import_folder(), vault=current_app.extensions["timebank.vault"], now=utcnow)


@periodic("people.prune_imports", crontab(minute="47", hour="*"), every=lazy_gettext("every hour"))
def prune_import_files() -> int:
    """Delete the files of imports that failed a day ago or more."""
    with database().session(write=False) as session:
        return background_imports.prune_files(session, import_folder(), now=utcnow())
