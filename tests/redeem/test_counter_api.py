"""The counter's JSON API: a station tablet or its clerk looks up a member code, redeems, voids, reads the day."""

from __future__ import annotations

import pytest

from timebank.auth.codes import phone_code
from timebank.auth.services import create_device_token
from timebank.ledger import Transaction, verify
from timebank.redeem.models import Redemption
from tests.api.conftest import ZH, count  # noqa: F401 (a fixture)
from timebank.redeem.services import create_station
from tests.conftest import NOW, PASSWORD, SYSTEM, signed_in


@pytest.fixture
def clock(monkeypatch):
    """The API's clock reads NOW (10:00 on a Friday in Shanghai), inside opening hours."""
    monkeypatch.setattr("timebank.redeem.api.now", lambda: NOW)
    monkeypatch.setattr("timebank.redeem.views.now", lambda: NOW)


def _visit(client, shop, volunteer, app, headers=None):
    code = phone_code(volunteer, app.config["SECRET_KEY"], now=NOW)
    return client.post(f"/api/v1/stations/{shop.station.id}/visits", json={"member_code": code}, headers=headers or {})


def tablet_of(session, shop) -> tuple[int, str]:
    """The id and plain token of the station's tablet, committed."""
    token, plain = create_device_token(session, {"name": "前台平板", "scope_type": "station", "scope_id": shop.station.id}, actor=SYSTEM, now=NOW)
    session.commit()
    return token.id, plain


def on_duty(tablet, shop, plain: str, clerk=None) -> dict[str, str]:
    """The clerk (the station's own by default) signs in on the tablet; the headers its calls then carry."""
    clerk = clerk or shop.clerk
    signed = tablet.post(f"/api/v1/stations/{shop.station.id}/duty", json={"phone": clerk.phone, "password": PASSWORD},
                         headers={"Authorization": f"Bearer {plain}"})
    assert signed.status_code == 201, signed.json
    return {"Authorization": f"Bearer {plain}", "X-Counter-Duty": signed.json["duty"]}


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
    headers = on_duty(tablet, shop, plain)
    assert _visit(tablet, shop, volunteer, app, headers).status_code == 200
    elsewhere = tablet.get(f"/api/v1/stations/{other.id}/catalogue", headers=headers)
    assert elsewhere.status_code == 403


def test_a_volunteer_cannot_redeem_for_themself(app, session, shop, make_person, fund, clock):
    volunteer = make_person()
    fund(volunteer, points=100)
    own = signed_in(app, volunteer)
    assert own.post(f"/api/v1/stations/{shop.station.id}/visits", json={"member_code": "x"}).status_code == 403
    assert own.post(f"/api/v1/stations/{shop.station.id}/redemptions", json={}).status_code == 403


def test_a_tablet_records_the_clerk_on_duty_and_itself_on_each_redemption(app, session, shop, make_person, fund, clock):
    """Two clerks on one tablet are told apart: the redemption, its ledger transaction and the void name each."""
    volunteer, second_clerk = make_person(name="张秀英"), make_person("station_staff", name="李春花", station_id=shop.station.id)
    fund(volunteer, points=200)
    token_id, plain = tablet_of(session, shop)
    tablet = app.test_client()
    made = []
    for clerk in (shop.clerk, second_clerk):
        headers = on_duty(tablet, shop, plain, clerk)
        ticket = _visit(tablet, shop, volunteer, app, headers).json["visit"]
        made.append(tablet.post(f"/api/v1/stations/{shop.station.id}/redemptions", headers=headers,
                                json={"visit": ticket, "idempotency_key": f"tablet-{clerk.id}", "lines": [{"item_id": shop.haircut.id, "quantity": 1}]}).json)
    assert [(r["clerk_id"], r["device_id"]) for r in made] == [(shop.clerk.id, token_id), (second_clerk.id, token_id)]
    actors = [session.get(Transaction, r["transaction_id"]).actor_id for r in made]
    assert actors == [shop.clerk.id, second_clerk.id]
    session.commit()
    voided = tablet.post(f"/api/v1/redemptions/{made[0]['id']}/void", json={"reason": "扫错了"}, headers=headers)
    assert voided.status_code == 200
    assert session.get(Redemption, made[0]["id"]).voided_by == second_clerk.id


def test_a_tablet_with_no_clerk_signed_in_reads_the_catalogue_but_opens_no_visit(app, session, shop, make_person, fund, clock, count):
    volunteer = make_person()
    fund(volunteer, points=100)
    _id, plain = tablet_of(session, shop)
    tablet, bearer = app.test_client(), {"Authorization": f"Bearer {plain}", **ZH}
    assert tablet.get(f"/api/v1/stations/{shop.station.id}/catalogue", headers=bearer).status_code == 200
    refused = _visit(tablet, shop, volunteer, app, bearer)
    assert (refused.status_code, refused.json["code"]) == (403, "no_clerk_on_duty")
    assert refused.json["message"] == "这台设备上还没有工作人员登录。请柜台的工作人员先登录。"
    forged = _visit(tablet, shop, volunteer, app, {**bearer, "X-Counter-Duty": "forged"})
    assert (forged.status_code, forged.json["code"]) == (403, "no_clerk_on_duty")
    assert count(Redemption) == 0


def test_a_clerk_on_duty_cannot_open_a_visit_for_themself_on_the_tablet(app, session, shop, fund, clock, count):
    """Their own code is refused on the tablet as on their own session."""
    fund(shop.clerk, points=200)
    _id, plain = tablet_of(session, shop)
    tablet = app.test_client()
    headers = {**on_duty(tablet, shop, plain), **ZH}
    own = _visit(tablet, shop, shop.clerk, app, headers)
    assert (own.status_code, own.json["code"]) == (403, "own_redemption")
    assert own.json["message"] == "不能为自己兑换，请由其他工作人员办理。"
    assert "visit" not in own.json and count(Redemption) == 0


def test_only_someone_who_works_at_the_station_signs_in_on_its_tablet(app, session, shop, make_person, clock, count):
    _id, plain = tablet_of(session, shop)
    tablet, bearer = app.test_client(), {"Authorization": f"Bearer {plain}", **ZH}
    url = f"/api/v1/stations/{shop.station.id}/duty"
    volunteer = make_person()
    outsider = tablet.post(url, json={"phone": volunteer.phone, "password": PASSWORD}, headers=bearer)
    assert (outsider.status_code, outsider.json["code"]) == (403, "forbidden")
    wrong = tablet.post(url, json={"phone": shop.clerk.phone, "password": "not the password"}, headers=bearer)
    assert (wrong.status_code, wrong.json["code"]) == (401, "sign_in_refused")
    person = signed_in(app, shop.clerk).post(url, json={"phone": shop.clerk.phone, "password": PASSWORD})
    assert person.status_code == 403
