"""Coordinators' pages about people: registrations, search, records, roles."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("people", __name__, url_prefix="/people")
