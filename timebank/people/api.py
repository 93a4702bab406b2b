"""JSON API under /api/v1 (see timebank/openapi.py)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("people_api", __name__, url_prefix="/api/v1")
