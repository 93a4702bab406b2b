"""What one redemption costs the database: a count of SQL statements, which does not vary with the machine's load."""

from __future__ import annotations

import pytest

from tests.conftest import NOW, signed_in
from tests.events.test_checkin_cost import statements
from tests.redeem.test_counter_api import _visit, on_duty, tablet_of

#: A basket of a good with a daily limit and a service, at the counter. Who asks (the tablet's token and its
#: clerk on duty with their roles, or the signed-in clerk and their roles), the station with its organisation, the
#: volunteer, the items: 5 reads. Then the basket key claimed, the day's limit, the good's stock and its movement,
#: the lines, the ledger's five (accounts, transaction, two balances, postings) and the redemption completed.
REDEMPTION = 16
#: PostgreSQL also locks the volunteer's row, so two counters cannot both pass a daily limit (on SQLite the
#: write lock does that).
POSTGRES_ROW_LOCK = 1


@pytest.fixture
def clock(monkeypatch):
    """The API's clock reads NOW, inside the station's opening hours."""
    monkeypatch.setattr("timebank.redeem.api.now", lambda: NOW)


@pytest.mark.parametrize("at", ["tablet", "signed-in clerk"])
def test_a_redemption_takes_a_handful_of_statements(app, db, session, shop, make_person, fund, clock, at):
    volunteer, first = make_person(name="张秀英"), make_person(name="李桂兰")
    fund(volunteer, points=300)
    fund(first, points=300)
    if at == "tablet":
        _, plain = tablet_of(session, shop)
        client = app.test_client()
        headers = on_duty(client, shop, plain)
    else:
        client, headers = signed_in(app, shop.clerk), {}
    basket = [{"item_id": shop.rice.id, "quantity": 1}, {"item_id": shop.haircut.id, "quantity": 2}]
    url = f"/api/v1/stations/{shop.station.id}/redemptions"
    # The first basket of a worker builds what every later one reuses.
    earlier = client.post(url, json={"visit": _visit(client, shop, first, app, headers).json["visit"], "idempotency_key": "basket-0001", "lines": basket}, headers=headers)
    assert earlier.status_code == 201, earlier.json
    ticket = _visit(client, shop, volunteer, app, headers).json["visit"]
    with statements(app) as seen:
        answer = client.post(url, json={"visit": ticket, "idempotency_key": "basket-0002", "lines": basket}, headers=headers)
    assert answer.status_code == 201, answer.get_json()
    assert answer.json["points"] == 100 and [line["quantity"] for line in answer.json["lines"]] == [1, 2]
    assert len(seen) <= REDEMPTION + (POSTGRES_ROW_LOCK if db.dialect == "postgresql" else 0), "\n".join(seen)


def test_a_retried_basket_reads_the_first_receipt_without_writing_again(app, session, shop, make_person, fund, clock):
    volunteer = make_person(name="张秀英")
    fund(volunteer, points=300)
    client = signed_in(app, shop.clerk)
    body = {"visit": _visit(client, shop, volunteer, app).json["visit"], "idempotency_key": "basket-0003",
            "lines": [{"item_id": shop.haircut.id, "quantity": 1}]}
    url = f"/api/v1/stations/{shop.station.id}/redemptions"
    first = client.post(url, json=body)
    with statements(app) as seen:
        again = client.post(url, json=body)
    assert (first.status_code, again.status_code) == (201, 200) and again.json == first.json
    writes = [sql for sql in seen if not sql.lstrip().upper().startswith("SELECT")]
    assert len(writes) == 1 and writes[0].startswith("INSERT INTO redemptions"), "\n".join(seen)  # the claim, which found the first
