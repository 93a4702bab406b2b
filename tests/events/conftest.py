"""Factories for activities and attendances, shared by the events tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from timebank.events import services
from timebank.events.models import Activity
from timebank.people.access import actor_for
from tests.conftest import NOW, SYSTEM

SECRET = "test-secret-key"
#: An activity from 09:00 to 11:00 Shanghai time on the day of NOW (NOW is 10:00 there).
START = NOW - dt.timedelta(hours=1)
END = NOW + dt.timedelta(hours=1)


@pytest.fixture
def make_activity(session: Session, org_tree, make_person) -> Callable[..., Activity]:
    """Creates (and by default publishes) an activity in `east`, led by a social worker there."""
    leaders = {}

    def make(*, publish: bool = True, org: str = "east", starts_at: dt.datetime = START, ends_at: dt.datetime = END, **fields) -> Activity:
        if org not in leaders:
            leaders[org] = make_person("social_worker", org=org, name="王社工")
        data = {
            "title": "敬老院探访",
            "category": "elderly",
            "organisation_id": org_tree[org].id,
            "address": "东城社区敬老院",
            "starts_at": starts_at.isoformat(),
            "ends_at": ends_at.isoformat(),
            **fields,
        }
        leader = actor_for(session, leaders[org])
        activity = services.create_activity(session, data, actor=leader, now=starts_at - dt.timedelta(days=3))
        if publish:
            services.publish_activity(session, activity.id, actor=leader, now=starts_at - dt.timedelta(days=3))
        session.commit()
        return activity

    return make


@pytest.fixture
def reviewer(session: Session, make_person):
    """A social worker of `east`, as an actor."""
    return actor_for(session, make_person("social_worker", name="李社工"))


__all__ = ["NOW", "SYSTEM", "SECRET", "START", "END"]
