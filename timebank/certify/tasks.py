"""Certification's work on the job queue: a batch of service record certificates."""

from __future__ import annotations

from pathlib import Path

from flask import current_app

from timebank.certify import batch as batches
from timebank.db import utcnow
from timebank.jobs.registry import job
from timebank.web import database


def batch_folder() -> Path:
    """Where finished batch PDFs are kept: the instance folder."""
    return Path(current_app.instance_path) / "certificates"


@job("certify.batch", retries=5, retry_delay=30)
def make_batch(batch_id: int, verify_base: str) -> None:
    """Make a batch's PDF (`verify_base` is the verification address with KEY where each certificate's key goes)."""
    chunk = current_app.config.get("CERTIFY_BATCH_CHUNK") or batches.CHUNK
    batches.run_batch(database(), batch_id, batch_folder(), lambda key: verify_base.replace("KEY", key), now=utcnow, chunk=chunk)
