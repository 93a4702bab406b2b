"""The counter's JSON API: a station tablet or its clerk looks up a member code, redeems, voids, reads the day."""

from __future__ import annotations

import pytest

from timebank.auth.codes import phone_code
from timebank.auth.services import create_device_token
from timebank.ledger import verify
from timebank.redeem.services import create_station
from tests.conftest import NOW, SYSTEM, signed_in


@pytest.fixture
def clock(monkeypatch):
    """The API's clock reads NOW (10:00 on a Friday in Shanghai), inside opening hours."""
    monkeypatch.setattr("timebank.redeem.api.now", lambda: NOW)
    monkeypatch.setattr("timebank.redeem.views.now", lambda: NOW)


def _visit(client, shop, volunteer, app, headers=None):
    code = phone_code(volunteer, app.config["SECRET_KEY"], now=NOW)
    return client.post(f"/api/v1/stations/{shop.station.id}/visits", json={"member_code": code}, headers=headers or {})


def test_the_clerk_looks_up_a_volunteer_and_redeems_once_through_the_api(app, session, shop, make_person, fund, clock):
    volunteer = make_person(name="张秀英")
    fund(volunteer, points=200)
    clerk = signed_in(app, shop.clerk)
    looked_up = _visit(clerk, shop, volunteer, app)
    assert looked_up.status_code == 200, looked_up.json
    assert looked_up.json["masked_name"] == "张**" and looked_up.json["points_available"] == 200
    basket = {"visit": looked_up.json["visit"], "idempotency_key": "tablet-basket-0001",
              "lines": [{"item_id": shop.rice.id, "quantity": 1}, {"item_id": shop.haircut.id, "quantity": 2}]}
    first = clerk.post(f"/api/v1/stations/{shop.station.id}/redemptions", json=basket)
    assert first.status_code == 201, first.json
    assert first.json["points"] == 100 and [line["quantity"] for line in first.json["lines"]] == [1, 2]
    retry = clerk.post(f"/api/v1/stations/{shop.station.id}/redemptions", json=basket)
    assert retry.status_code == 200 and retry.json["id"] == first.json["id"]
    day = clerk.get(f"/api/v1/stations/{shop.station.id}/day?day=2026-11-20")
    assert day.json["reconciled"] is True and day.json["totals"] == {"PTS": 100, "HOUR": 0}
    voided = clerk.post(f"/api/v1/redemptions/{first.json['id']}/void", json={"reason": "扫错了"})
    assert voided.status_code == 200 and voided.json["status"] == "voided"
    assert list(verify(session)) == []


def test_refusals_carry_their_own_code_and_the_missing_points(app, session, shop, make_person, fund, clock):
    volunteer = make_person()
    fund(volunteer, points=30)
    clerk = signed_in(app, shop.clerk)
    ticket = _visit(clerk, shop, volunteer, app).json["visit"]
    refused = clerk.post(f"/api/v1/stations/{shop.station.id}/redemptions",
                         json={"visit": ticket, "idempotency_key": "tablet-basket-0002", "lines": [{"item_id": shop.rice.id, "quantity": 1}]})
    assert refused.status_code == 409
    assert refused.json["code"] == "not_enough_points"
    assert refused.json["message"] == "积分不足：可用 30，需要 60，还差 30。"
    empty = clerk.post(f"/api/v1/stations/{shop.station.id}/redemptions", json={"visit": ticket, "idempotency_key": "tablet-basket-0003", "lines": []})
    assert empty.status_code == 422 and "lines" in empty.json["errors"]
    forged = clerk.post(f"/api/v1/stations/{shop.station.id}/visits", json={"member_code": "not-a-code"})
    assert forged.status_code == 422 and forged.json["code"] == "invalid_member_code"


def test_a_station_device_token_works_only_at_its_own_station(app, session, shop, make_person, fund, org_tree, clock):
    volunteer = make_person()
    fund(volunteer, points=100)
    other = create_station(session, org_tree["west"].id, {"name": "西关爱心超市"}, actor=SYSTEM, now=NOW)
    session.commit()
    _token, plain = create_device_token(session, {"name": "前台平板", "scope_type": "station", "scope_id": shop.station.id}, actor=SYSTEM, now=NOW)
    session.commit()
    tablet = app.test_client()
    headers = {"Authorization": f"Bearer {plain}"}
    assert _visit(tablet, shop, volunteer, app, headers).status_code == 200
    elsewhere = tablet.get(f"/api/v1/stations/{other.id}/catalogue", headers=headers)
    assert elsewhere.status_code == 403


def test_a_volunteer_cannot_redeem_for_themself(app, session, shop, make_person, fund, clock):
    volunteer = make_person()
    fund(volunteer, points=100)
    own = signed_in(app, volunteer)
    assert own.post(f"/api/v1/stations/{shop.station.id}/visits", json={"member_code": "x"}).status_code == 403
    assert own.post(f"/api/v1/stations/{shop.station.id}/redemptions", json={}).status_code == 403
