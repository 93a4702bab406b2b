"""Exports' work on the job queue: writing one, and pruning old files."""

from __future__ import annotations

from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext
from huey import crontab

from timebank.db import utcnow
from timebank.exports import services
from timebank.jobs.registry import job, periodic
from timebank.web import database


def export_folder() -> Path:
    """Where finished exports are kept until pruned: the instance folder."""
    return Path(current_app.instance_path) / "exports"


@job("exports.write", retries=3, retry_delay=30)
def write_export(export_id: int) -> None:
    """Write an export's file, its progress on its row."""
    services.run_export(database(), export_id, export_folder(), now=utcnow)


@periodic("exports.prune", crontab(minute="41", hour="*"), every=lazy_gettext("every hour"))
def prune_exports() -> int:
    """Forget exports (rows and files) asked for more than a day ago."""
    with database().session() as session:
        pruned = services.prune(session, export_folder(), now=utcnow())
        session.commit()
    return pruned
