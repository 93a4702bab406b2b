"""Fixtures the needs tests share: staff of each kind, a resident, and a need recorded for them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from timebank.needs import services
from timebank.needs.models import Need
from timebank.people.access import Actor, actor_for
from tests.conftest import NOW

PHONE = "13700000001"


@pytest.fixture
def staff(session: Session, make_person) -> dict[str, Actor]:
    """A grid worker, a social worker and a coordinator of `east`, and a social worker of `west`, as actors."""
    made = {
        "grid": make_person("grid_worker", name="网格员小张"),
        "social": make_person("social_worker", name="孙社工"),
        "coordinator": make_person("coordinator", name="陈协调"),
        "west_social": make_person("social_worker", org="west", name="周社工"),
    }
    return {key: actor_for(session, person) for key, person in made.items()}


@pytest.fixture
def place_need(session: Session, org_tree, staff) -> Callable[..., Need]:
    """Records a need for a new resident of `east` through the grid worker (colour and fields as given), committed."""
    phones = iter(range(13700000100, 13700099999))

    def place(*, by: str = "grid", at: dt.datetime = NOW, org: str = "east", **fields) -> Need:
        data = {
            "description": "帮忙买菜，腿脚不便", "contact_phone": str(next(phones)), "real_name": "李奶奶",
            "organisation_id": org_tree[org].id, "channel": "grid", "privacy_consent": True, **fields,
        }
        need = services.record_need(session, data, actor=staff[by], now=at)
        session.commit()
        return need

    return place
