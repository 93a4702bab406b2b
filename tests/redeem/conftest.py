"""Fixtures for the station counter: a station in `east` with its clerk, a catalogue, funded volunteers."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from timebank.auth.codes import phone_code
from timebank.ledger import post, rules
from timebank.people.access import actor_for
from timebank.people.models import Person
from timebank.redeem import catalogue, counter
from timebank.redeem.models import CatalogueItem, Station
from timebank.redeem.services import create_station
from tests.conftest import ACTOR, NOW, SECRET, SYSTEM

_keys = itertools.count(1)


@dataclass
class Shop:
    """A station, its clerk, and the catalogue items the tests redeem."""

    station: Station
    clerk: Person
    rice: CatalogueItem  # goods, 60 points, stock 10, at most 2 a day
    haircut: CatalogueItem  # a service, 20 points, no stock
    care: CatalogueItem  # an hour of home care, paid with 60 minutes of time credit

    def counter(self, session: Session) -> counter.Counter:
        """The clerk at the counter."""
        return counter.open_counter(session, self.station.id, actor=actor_for(session, self.clerk))


@pytest.fixture
def shop(session: Session, org_tree, make_person) -> Shop:
    """A station in `east` open every day 08:00–20:00, its clerk and a catalogue, committed."""
    station = create_station(session, org_tree["east"].id, {"name": "26度万家驿站", "address": "人民路26号"}, actor=SYSTEM, now=NOW)
    catalogue.set_station_hours(session, station.id, {"open_days": "1234567", "opens_at": "08:00", "closes_at": "20:00"}, actor=SYSTEM, now=NOW)
    rules.open_system_accounts(session, now=NOW)
    counter.open_station_accounts(session, station.id, now=NOW)
    session.commit()
    clerk = make_person("station_staff", name="吴桂英", station_id=station.id)
    rice = catalogue.create_item(session, {"name": "大米 5kg", "kind": "goods", "price": 60, "station_id": station.id, "limit_per_day": 2}, actor=SYSTEM, now=NOW)
    haircut = catalogue.create_item(session, {"name": "理发服务", "kind": "service", "price": 20, "organisation_id": org_tree["street"].id}, actor=SYSTEM, now=NOW)
    care = catalogue.create_item(session, {"name": "居家照护一小时", "kind": "service", "commodity": "HOUR", "price": 60, "organisation_id": org_tree["east"].id}, actor=SYSTEM, now=NOW)
    catalogue.change_stock(session, station.id, {"item_id": rice.id, "change": 10, "reason": "received"}, actor=SYSTEM, now=NOW)
    session.commit()
    return Shop(station, clerk, rice, haircut, care)


@pytest.fixture
def fund(session: Session) -> Callable[..., None]:
    """Credits a volunteer with points (and the minutes that earned them), as an approved attendance would."""

    def give(volunteer: Person, *, points: int, minutes: int = 60) -> None:
        rules.open_system_accounts(session, now=NOW)
        rules.open_volunteer_accounts(session, volunteer.id, categories=("elderly",), now=NOW)
        post(session, rules.service_credit_legs(volunteer.id, minutes=minutes, category="elderly", points=points),
             kind="service_credit", idempotency_key=f"fund:{next(_keys)}", actor=ACTOR, now=NOW)
        session.commit()

    return give


def visit_ticket(session: Session, shop: Shop, volunteer: Person, *, at: dt.datetime = NOW) -> str:
    """What scanning the volunteer's phone code at the counter gives the basket."""
    code = phone_code(volunteer, SECRET, now=at)
    return counter.start_visit(session, shop.counter(session), code, SECRET, now=at).ticket


def basket(ticket: str, *lines: tuple[CatalogueItem, int], key: str | None = None) -> dict:
    """A redemption request: the visit, a basket key, and (item, quantity) lines."""
    return {"visit": ticket, "idempotency_key": key or f"basket-{next(_keys):08d}",
            "lines": [{"item_id": item.id, "quantity": quantity} for item, quantity in lines]}
