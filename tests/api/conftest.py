"""Fixtures for the JSON API: stations, device tokens, and a read-only look at what was written."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from timebank.auth.services import create_device_token, revoke_device_token
from timebank.db import Database
from timebank.redeem.models import Station
from tests.conftest import NOW, SYSTEM

#: Ask for Chinese, as the volunteers' phones do.
ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


@pytest.fixture
def make_station(session: Session, org_tree) -> Callable[..., Station]:
    """A station (驿站) of an organisation, committed."""

    def make(org: str = "east", name: str = "东城驿站") -> Station:
        station = Station(organisation_id=org_tree[org].id, name=name, created_at=NOW)
        session.add(station)
        session.commit()
        return station

    return make


@pytest.fixture
def device_token(session: Session) -> Callable[..., tuple[int, str]]:
    """The id and plain bearer token of a new device for a station (revoked if asked), committed."""

    def make(station: Station, *, revoked: bool = False) -> tuple[int, str]:
        token, plain = create_device_token(
            session, {"name": "收银平板", "scope_type": "station", "scope_id": station.id}, actor=SYSTEM, now=NOW
        )
        if revoked:
            revoke_device_token(session, token.id, actor=SYSTEM, now=NOW)
        session.commit()
        return token.id, plain

    return make


@pytest.fixture
def count(db: Database) -> Callable[..., int]:
    """How many rows of a model match, read in a fresh read-only session."""

    def rows(model: type, *conditions) -> int:
        with db.session(write=False) as reader:
            return reader.scalar(select(func.count()).select_from(model).where(*conditions)) or 0

    return rows
