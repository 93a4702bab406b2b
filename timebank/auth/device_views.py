"""Device tokens for station tablets and check-in kiosks."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("devices", __name__, url_prefix="/devices")
