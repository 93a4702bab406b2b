"""JSON API for activities, sign-up, check-in by code and by member code, attendances, review and corrections."""

from __future__ import annotations

from timebank.openapi import api_blueprint

bp = api_blueprint("events_api", __name__)
