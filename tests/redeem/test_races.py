"""Real concurrent requests at one station's counter, on a SQLite file and on PostgreSQL.

Each attempt is its own HTTP client of the same app, on its own thread, and the
threads are released together by a barrier: what a crowd of tablets (or a
double-tapping clerk) does to the JSON API.
"""

from __future__ import annotations

import secrets
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from timebank import ledger
from timebank.auth.codes import phone_code
from timebank.auth.services import create_device_token
from timebank.db import utcnow
from timebank.ledger import rules
from timebank.people.access import actor_for
from timebank.people.models import Person
from timebank.redeem import catalogue, counter, reports
from timebank.redeem.duty import start_duty
from timebank.redeem.models import CatalogueItem, Redemption, StockMovement
from tests.conftest import ACTOR, NOW, PASSWORD, SYSTEM, signed_in

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The API's clock reads NOW: a Friday, 10:00 in Shanghai, inside the shop's hours."""
    monkeypatch.setattr("timebank.redeem.api.now", lambda: NOW)


def stocked_item(session: Session, shop, *, name: str, price: int, stock: int | None) -> CatalogueItem:
    """A goods item of the shop with no limits and `stock` in store (a service when `stock` is None), committed."""
    kind = "service" if stock is None else "goods"
    item = catalogue.create_item(session, {"name": name, "kind": kind, "price": price, "station_id": shop.station.id}, actor=SYSTEM, now=NOW)
    if stock:
        catalogue.change_stock(session, shop.station.id, {"item_id": item.id, "change": stock, "reason": "received"}, actor=SYSTEM, now=NOW)
    session.commit()
    return item


def crowd(session: Session, shop, count: int, *, points: int) -> list[Person]:
    """`count` active volunteers of the shop's community with `points` each, written in bulk and committed.

    Registering them one by one through the factory would take longer than the race itself.
    """
    community = shop.station.organisation_id
    session.execute(insert(Person), [
        {"phone": f"137{n:08d}", "real_name": f"志愿者{n}", "home_organisation_id": community, "status": "active",
         "member_key": secrets.token_hex(16), "created_at": NOW, "approved_at": NOW}
        for n in range(count)
    ])
    people = list(session.scalars(select(Person).where(Person.phone.startswith("137")).order_by(Person.id)))
    for person in people:
        rules.open_volunteer_accounts(session, person.id, categories=("elderly",), now=NOW)
        ledger.post(session, rules.service_credit_legs(person.id, minutes=60, category="elderly", points=points),
                    kind="service_credit", idempotency_key=f"crowd:{person.id}", actor=ACTOR, now=NOW)
    session.commit()
    return people


def ticket(app: Flask, session: Session, shop, volunteer) -> str:
    """The visit ticket scanning the volunteer's phone code at the counter gives the basket."""
    secret = app.config["SECRET_KEY"]
    visit = counter.start_visit(session, shop.counter(session), phone_code(volunteer, secret, now=NOW), secret, now=NOW)
    session.commit()  # the test's own session must not hold SQLite's write lock while the app works
    return visit.ticket


def tablets(app: Flask, session: Session, shop, coordinator: Person, count: int) -> list[FlaskClient]:
    """`count` clients, each sending the station's device token (set up by a coordinator) and the duty of its clerk."""
    token, plain = create_device_token(session, {"name": "前台平板", "scope_type": "station", "scope_id": shop.station.id},
                                       actor=actor_for(session, coordinator), now=NOW)
    _clerk, duty = start_duty(session, token, shop.clerk.phone, PASSWORD, app.config["SECRET_KEY"], now=utcnow())
    session.commit()
    made = [app.test_client() for _ in range(count)]
    for client in made:
        client.environ_base.update(HTTP_AUTHORIZATION=f"Bearer {plain}", HTTP_X_COUNTER_DUTY=duty)
    return made


def clerks(app: Flask, shop, count: int) -> list[FlaskClient]:
    """`count` clients, each signed in as the station's clerk through the real sign-in form."""
    return [signed_in(app, shop.clerk) for _ in range(count)]


def race(clients: Sequence[FlaskClient], send: Callable[[FlaskClient, int], object]) -> list[object]:
    """`send(client, i)` from every client at once, each on its own thread; the answers, or what was raised."""
    gate = threading.Barrier(len(clients))

    def attempt(i: int) -> object:
        gate.wait()
        try:
            return send(clients[i], i)
        except Exception as exc:  # a 500 propagates in TESTING: count it, do not lose the other answers
            return exc

    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        return list(pool.map(attempt, range(len(clients))))


def outcomes(answers: Sequence[object]) -> Counter:
    """How many answers of each (status, error code); an exception counts under its class name."""
    return Counter(
        (answer.status_code, (answer.json or {}).get("code") if answer.status_code >= 400 else None)
        if hasattr(answer, "status_code") else type(answer).__name__
        for answer in answers
    )


def redeem(client: FlaskClient, shop, visit: str, key: str, item: CatalogueItem, quantity: int = 1):
    """Post a basket of `quantity` of `item` under the basket key `key`, as the counter's tablet does."""
    body = {"visit": visit, "idempotency_key": key, "lines": [{"item_id": item.id, "quantity": quantity}]}
    return client.post(f"/api/v1/stations/{shop.station.id}/redemptions", json=body)


def assert_books_agree(session: Session, shop) -> None:
    """The ledger verifies clean and the station's accounts agree with its redemptions to the point."""
    session.expire_all()
    assert list(ledger.verify(session)) == []
    assert reports.reconcile(session, shop.station).agrees


def test_two_hundred_volunteers_racing_for_twenty_in_stock_get_exactly_twenty(app, session, shop, make_person):
    oil = stocked_item(session, shop, name="食用油 5L", price=50, stock=20)
    visits = [ticket(app, session, shop, volunteer) for volunteer in crowd(session, shop, 200, points=80)]
    clients = tablets(app, session, shop, make_person("coordinator", name="赵主任"), 200)

    answers = race(clients, lambda client, i: redeem(client, shop, visits[i], f"basket-oil-{i:04d}", oil))

    assert outcomes(answers) == {(201, None): 20, (409, "out_of_stock"): 180}
    session.expire_all()
    assert catalogue.stock_level(session, shop.station.id, oil.id) == 0
    movements = session.scalars(select(StockMovement).where(StockMovement.item_id == oil.id)).all()
    assert sum(m.change for m in movements) == 0 and min(m.quantity_after for m in movements) == 0
    sold = session.execute(select(func.count(), func.count(func.distinct(Redemption.volunteer_id)))).one()
    assert tuple(sold) == (20, 20)
    assert_books_agree(session, shop)


def test_fifty_baskets_at_once_against_points_for_ten_redeem_exactly_ten(app, session, shop, make_person, fund):
    tea = stocked_item(session, shop, name="茶叶券", price=10, stock=None)
    volunteer = make_person(name="张秀英")
    fund(volunteer, points=100)
    visit = ticket(app, session, shop, volunteer)
    clients = clerks(app, shop, 50)

    answers = race(clients, lambda client, i: redeem(client, shop, visit, f"basket-tea-{i:04d}", tea))

    assert outcomes(answers) == {(201, None): 10, (409, "not_enough_points"): 40}
    session.expire_all()
    assert ledger.balance(session, f"vol:{volunteer.id}:PTS").posted == 0
    assert ledger.balance(session, f"station:{shop.station.id}:PTS").posted == 100
    assert_books_agree(session, shop)


def test_one_basket_sent_twenty_times_at_once_is_redeemed_once(app, session, shop, make_person, fund):
    volunteer = make_person(name="李建国")
    fund(volunteer, points=200)
    visit = ticket(app, session, shop, volunteer)
    clients = clerks(app, shop, 20)

    answers = race(clients, lambda client, _i: redeem(client, shop, visit, "double-tap-0001", shop.rice, 2))

    assert outcomes(answers) == {(201, None): 1, (200, None): 19}
    assert len({answer.json["id"] for answer in answers}) == 1
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Redemption)) == 1
    assert session.scalar(select(func.count()).select_from(ledger.Transaction).where(ledger.Transaction.kind == "redemption")) == 1
    assert catalogue.stock_level(session, shop.station.id, shop.rice.id) == 8
    assert ledger.balance(session, f"vol:{volunteer.id}:PTS").posted == 80
    assert_books_agree(session, shop)
