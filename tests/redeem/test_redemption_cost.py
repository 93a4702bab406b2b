"""What one redemption costs the database: a count of SQL statements, which does not vary with the machine's load."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from tests.conftest import NOW, signed_in
from tests.events.test_checkin_cost import statements
from tests.redeem.test_counter_api import _visit, on_duty, tablet_of
from timebank.auth.models import DeviceToken

#: A basket of a good with a daily limit and a service, at the counter. Who asks and where, then who comes and what
#: they take: at the tablet, its token, then the station with its organisation and the clerk on duty with their
#: roles (one read), then the volunteer beside the basket's items (one read); signed in, the clerk, their roles and
#: the station. Then the ledger accounts the basket moves, read before the first write. Under the write lock: the
#: basket key claimed, the day's limit, the good's stock and its movement, the lines, the ledger's four
#: (transaction, two balances, postings) and the redemption completed.
REDEMPTION = {"tablet": 14, "signed-in clerk": 15}
#: PostgreSQL also locks the volunteer's row for a basket with a limited item, so two counters cannot both pass
#: the limit (on SQLite the write lock does that).
POSTGRES_ROW_LOCK = 1
#: A service alone: no limit to read, no stock to take, no row to lock, on either database.
SERVICE_ALONE = 11


@pytest.fixture
def clock(monkeypatch):
    """The API's clock reads NOW, inside the station's opening hours."""
    monkeypatch.setattr("timebank.redeem.api.now", lambda: NOW)


def _at(app, session, shop, at):
    if at == "tablet":
        _, plain = tablet_of(session, shop)
        client = app.test_client()
        return client, on_duty(client, shop, plain)
    return signed_in(app, shop.clerk), {}


def _redeem_twice(app, client, headers, shop, first, volunteer, basket):
    """The first basket of a worker builds what every later one reuses; the second one's statements."""
    url = f"/api/v1/stations/{shop.station.id}/redemptions"
    earlier = client.post(url, json={"visit": _visit(client, shop, first, app, headers).json["visit"], "idempotency_key": "basket-0001", "lines": basket}, headers=headers)
    assert earlier.status_code == 201, earlier.json
    ticket = _visit(client, shop, volunteer, app, headers).json["visit"]
    with statements(app) as seen:
        answer = client.post(url, json={"visit": ticket, "idempotency_key": "basket-0002", "lines": basket}, headers=headers)
    assert answer.status_code == 201, answer.get_json()
    return answer, seen


@pytest.mark.parametrize("at", ["tablet", "signed-in clerk"])
def test_a_redemption_takes_a_handful_of_statements(app, db, session, shop, make_person, fund, clock, at):
    volunteer, first = make_person(name="张秀英"), make_person(name="李桂兰")
    fund(volunteer, points=300)
    fund(first, points=300)
    client, headers = _at(app, session, shop, at)
    basket = [{"item_id": shop.rice.id, "quantity": 1}, {"item_id": shop.haircut.id, "quantity": 2}]
    answer, seen = _redeem_twice(app, client, headers, shop, first, volunteer, basket)
    assert answer.json["points"] == 100 and [line["quantity"] for line in answer.json["lines"]] == [1, 2]
    assert len(seen) <= REDEMPTION[at] + (POSTGRES_ROW_LOCK if db.dialect == "postgresql" else 0), "\n".join(seen)


def test_a_basket_without_a_limited_item_locks_no_volunteer_row(app, session, shop, make_person, fund, clock):
    volunteer, first = make_person(name="张秀英"), make_person(name="李桂兰")
    fund(volunteer, points=300)
    fund(first, points=300)
    client, headers = _at(app, session, shop, "tablet")
    answer, seen = _redeem_twice(app, client, headers, shop, first, volunteer, [{"item_id": shop.haircut.id, "quantity": 1}])
    assert answer.json["points"] == 20
    assert not [sql for sql in seen if "FOR NO KEY UPDATE" in sql or "FOR KEY SHARE" in sql], "\n".join(seen)
    assert len(seen) <= SERVICE_ALONE, "\n".join(seen)


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


def test_a_tablets_last_use_is_written_before_anything_else_its_basket_locks(app, session, shop, make_person, fund, clock):
    # Written later, at the commit, one basket could hold the station's account and wait for the token's row
    # while another held the token's row and waited for the account: a deadlock on PostgreSQL.
    volunteer, first = make_person(name="张秀英"), make_person(name="李桂兰")
    fund(volunteer, points=300)
    fund(first, points=300)
    client, headers = _at(app, session, shop, "tablet")
    session.execute(update(DeviceToken).values(last_used_at=None))  # never used: this call records it
    session.commit()
    with statements(app) as seen:
        _redeem_twice(app, client, headers, shop, first, volunteer, [{"item_id": shop.rice.id, "quantity": 1}])
    writes = [sql for sql in seen if not sql.lstrip().upper().startswith("SELECT")]
    assert writes[0].startswith("UPDATE device_tokens"), "\n".join(seen)
