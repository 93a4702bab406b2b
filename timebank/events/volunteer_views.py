"""Volunteers' pages: activities near them, sign-up, the check-in page a scanned code opens, their attendances."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("volunteering", __name__)
