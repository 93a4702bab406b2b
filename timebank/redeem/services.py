"""Stations (驿站): opening them in an organisation and finding them in the actor's subtrees."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from timebank.audit.services import record
from timebank.domain import InvalidInput
from timebank.orgs.models import Organisation
from timebank.orgs.services import get_organisation
from timebank.people.access import MANAGERS, Actor
from timebank.redeem.models import Station

CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
#: field -> (longest allowed, required)
STATION_FIELDS = {"name": (100, True), "address": (200, False), "opening_hours": (100, False)}


def _station_values(data: Mapping[str, Any]) -> dict[str, str | None]:
    """The trimmed station fields, or InvalidInput naming each bad one."""
    values: dict[str, str | None] = {}
    problems: dict[str, list[str]] = {}
    for field, (longest, required) in STATION_FIELDS.items():
        value = (data.get(field) or "").strip()
        if required and not value:
            problems[field] = ["This field is required."]
        elif len(value) > longest:
            problems[field] = ["Use at most %d characters." % longest]
        elif CONTROL_CHARS.search(value):
            problems[field] = ["Line breaks and control characters are not allowed."]
        values[field] = value or None
    if problems:
        raise InvalidInput(errors=problems)
    return values


def create_station(
    session: Session, organisation_id: int, data: Mapping[str, Any], *, actor: Actor, now: dt.datetime
) -> Station:
    """Open a station in an organisation the actor manages."""
    organisation = get_organisation(session, organisation_id)
    actor.require(MANAGERS, organisation)
    values = _station_values(data)
    station = Station(organisation_id=organisation.id, created_at=now, **values)
    session.add(station)
    session.flush()
    record(session, actor=actor.id, action="create_station", target=("station", station.id), changes={field: [None, value] for field, value in values.items()}, now=now)
    return station


def stations_within(session: Session, paths: list[str]) -> list[Station]:
    """The open stations of the organisations below any of `paths`, by organisation then name."""
    if not paths:
        return []
    stmt = (
        select(Station)
        .join(Organisation, Organisation.id == Station.organisation_id)
        .where(Station.closed_at.is_(None), or_(*[Organisation.path.startswith(path) for path in paths]))
        .order_by(Organisation.path, Station.name, Station.id)
    )
    return list(session.scalars(stmt))
