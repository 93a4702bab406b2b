"""Shared pieces of the order-loop tests: a resident with a need in `east`, its social worker, volunteers, an order."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from tests.conftest import NOW
from timebank.needs import orders
from timebank.needs.models import Need, Order, Resident
from timebank.people.access import Actor, actor_for
from timebank.people.models import Person

SECRET = "test-only-secret"
#: The order's window: tomorrow 09:00–12:00 Shanghai time.
WINDOW_START = NOW + dt.timedelta(hours=23)
WINDOW_END = NOW + dt.timedelta(hours=26)


@dataclass
class World:
    """The people of one order's story."""

    social_worker: Person
    staff: Actor
    volunteers: list[Person]
    resident: Resident
    need: Need
    make_order: Callable[..., Order]


def add_resident(session: Session, organisation_id: int, *, person_id: int | None = None, name: str = "张奶奶") -> Resident:
    """A resident of the community, with a card key (what the needs package records)."""
    resident = Resident(person_id=person_id, organisation_id=organisation_id, real_name=name, phone="13912345678",
                        address="东城社区3号楼2单元401", groups="living_alone,old_age", card_key=secrets.token_urlsafe(16)[:22],
                        created_at=NOW)
    session.add(resident)
    session.flush()
    return resident


def add_need(session: Session, resident: Resident, *, recorded_by: int | None = None) -> Need:
    """A recorded need of the resident."""
    need = Need(resident_id=resident.id, organisation_id=resident.organisation_id, channel="grid", description="需要有人陪同去医院复诊",
                contact_phone=resident.phone, colour="yellow", status="recorded", recorded_by=recorded_by, recorded_at=NOW)
    session.add(need)
    session.flush()
    return need


@pytest.fixture
def world(session: Session, make_person, org_tree) -> World:
    """A social worker of `east`, three volunteers there, and 张奶奶's recorded need."""
    social_worker = make_person("social_worker", name="王社工")
    volunteers = [make_person(name=name, skills="陪诊,理发", service_categories=["elderly"]) for name in ("赵志愿", "钱志愿", "孙志愿")]
    resident = add_resident(session, org_tree["east"].id)
    need = add_need(session, resident, recorded_by=social_worker.id)
    staff = actor_for(session, social_worker)
    session.commit()

    def make_order(*, slots: int = 1, open_for_claims: bool = False, payer: str = "none", **fields) -> Order:
        data = {"category": "elderly", "slots": slots, "window_start": WINDOW_START.isoformat(), "window_end": WINDOW_END.isoformat(),
                "expected_minutes": 90, "open_for_claims": open_for_claims, "payer": payer, **fields}
        order = orders.create_order(session, need.id, data, actor=staff, now=NOW)
        session.commit()
        return order

    return World(social_worker, staff, volunteers, resident, need, make_order)
