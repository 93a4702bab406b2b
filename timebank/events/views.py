"""Organisers' pages: activities, the venue screen, the poster and the kiosk."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("events", __name__, url_prefix="/activities")
