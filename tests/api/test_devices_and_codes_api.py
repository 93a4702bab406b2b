"""Device tokens, and member codes resolved at a station by its tablet or its staff."""

from __future__ import annotations

import datetime as dt

from timebank.auth.codes import card_code, phone_code
from timebank.auth.models import DeviceToken
from timebank.db import utcnow
from timebank.ledger import rules
from tests.api.conftest import ZH
from tests.conftest import NOW, RESIDENT_ID

SECRET = "test-only-secret"  # the app fixture's SECRET_KEY


def bearer(token: str) -> dict[str, str]:
    """The header a station tablet sends."""
    return {"Authorization": f"Bearer {token}", **ZH}


# -- device tokens ------------------------------------------------------------


def test_a_coordinator_creates_a_device_token_shown_only_once(client, make_person, sign_in, make_station):
    station = make_station()
    sign_in(make_person("coordinator", org="east"))
    answer = client.post("/api/v1/device-tokens", json={"name": "前台平板", "scope_type": "station", "scope_id": station.id})
    assert answer.status_code == 201, answer.json
    plain = answer.json["token"]
    assert plain.startswith("tbd_") and answer.json["device_token"]["prefix"] == plain[:10]
    listed = client.get("/api/v1/device-tokens").json
    assert [t["name"] for t in listed] == ["前台平板"]
    assert plain not in str(listed)


def test_tokens_of_another_subtree_are_neither_listed_made_nor_revoked(client, make_person, sign_in, make_station, device_token, count):
    east_station = make_station("east")
    token_id, _ = device_token(east_station)
    sign_in(make_person("coordinator", org="west"))
    assert client.get("/api/v1/device-tokens").json == []
    answer = client.post("/api/v1/device-tokens", json={"name": "借用", "scope_id": east_station.id})
    assert answer.status_code == 404
    assert client.post(f"/api/v1/device-tokens/{token_id}/revoke", json={}).status_code == 404
    assert client.post("/api/v1/device-tokens/999999/revoke", json={}).status_code == 404
    assert count(DeviceToken) == 1 and count(DeviceToken, DeviceToken.revoked_at.is_not(None)) == 0


def test_bad_device_token_requests_say_which_field(client, make_person, sign_in, make_station, count):
    make_station()
    sign_in(make_person("coordinator"))
    answer = client.post("/api/v1/device-tokens", json={"name": "", "scope_type": "car", "scope_id": "前台"}, headers=ZH)
    assert answer.status_code == 422
    assert set(answer.json["errors"]) == {"name", "scope_type", "scope_id"}
    answer = client.post("/api/v1/device-tokens", json={"name": "平板", "scope_id": 999999}, headers=ZH)
    assert answer.status_code == 422 and set(answer.json["errors"]) == {"scope_id"}
    assert count(DeviceToken) == 0


def test_a_volunteer_may_not_manage_device_tokens(client, make_person, sign_in):
    sign_in(make_person())
    assert client.get("/api/v1/device-tokens").status_code == 403
    assert client.post("/api/v1/device-tokens", json={"name": "x", "scope_id": 1}).status_code == 403


def test_a_revoked_token_stops_working(app, client, make_person, sign_in, make_station, device_token):
    tablet = app.test_client()
    token_id, plain = device_token(make_station())
    code = phone_code(make_person(), SECRET, now=utcnow())
    assert tablet.post("/api/v1/member-codes/resolve", json={"code": code}, headers=bearer(plain)).status_code == 200
    sign_in(make_person("coordinator"))
    assert client.post(f"/api/v1/device-tokens/{token_id}/revoke", json={}).json["revoked_at"]
    answer = tablet.post("/api/v1/member-codes/resolve", json={"code": code}, headers=bearer(plain))
    assert answer.status_code == 401 and answer.json["message"] == "请先登录"


# -- member codes -------------------------------------------------------------


def test_a_station_tablet_resolves_a_phone_code_to_a_masked_volunteer_with_balances(
    client, session, make_person, make_station, device_token, credit
):
    volunteer = make_person(name="王秀英", id_type="resident_id", id_number=RESIDENT_ID, service_categories=["elderly"])
    rules.open_system_accounts(session, now=NOW)
    session.commit()
    credit(volunteer.id, minutes=120, points=20)
    _, plain = device_token(make_station())
    code = phone_code(volunteer, SECRET, now=utcnow())
    answer = client.post("/api/v1/member-codes/resolve", json={"code": code}, headers=bearer(plain))
    assert answer.status_code == 200, answer.json
    assert answer.json == {
        "id": volunteer.id,
        "volunteer_number": volunteer.volunteer_number,
        "masked_name": "王**",
        "id_number_masked": RESIDENT_ID[:4] + "*" * 13 + RESIDENT_ID[-1:],
        "hours_available": 120,
        "points_available": 20,
        "star_level": 0,
    }


def test_a_printed_card_code_resolves_too(client, make_person, make_station, device_token):
    volunteer = make_person(name="李明")
    answer = client.post("/api/v1/member-codes/resolve", json={"code": card_code(volunteer, SECRET)}, headers=bearer(device_token(make_station())[1]))
    assert answer.status_code == 200
    assert answer.json["masked_name"] == "李*" and answer.json["points_available"] == 0


def test_a_phone_code_older_than_two_minutes_is_refused_as_expired(client, make_person, make_station, device_token):
    volunteer = make_person()
    old = phone_code(volunteer, SECRET, now=utcnow() - dt.timedelta(minutes=2, seconds=5))
    answer = client.post("/api/v1/member-codes/resolve", json={"code": old}, headers=bearer(device_token(make_station())[1]))
    assert answer.status_code == 422
    assert answer.json["code"] == "invalid_member_code"
    assert answer.json["message"] == "这个码已过期，请志愿者刷新“我的码”后再扫。"


def test_a_forged_or_missing_code_is_refused_with_a_message(client, make_person, make_station, device_token):
    headers = bearer(device_token(make_station())[1])
    answer = client.post("/api/v1/member-codes/resolve", json={"code": "not-a-code"}, headers=headers)
    assert answer.status_code == 422 and answer.json["code"] == "invalid_member_code"
    answer = client.post("/api/v1/member-codes/resolve", json={}, headers=headers)
    assert answer.status_code == 422 and set(answer.json["errors"]) == {"code"}


def test_station_staff_resolve_codes_when_signed_in_but_volunteers_may_not(client, make_person, sign_in, make_station):
    station = make_station()
    volunteer = make_person(name="王秀英")
    sign_in(make_person("station_staff", station_id=station.id))
    code = phone_code(volunteer, SECRET, now=utcnow())
    assert client.post("/api/v1/member-codes/resolve", json={"code": code}).json["masked_name"] == "王**"
    sign_in(make_person())
    assert client.post("/api/v1/member-codes/resolve", json={"code": code}).status_code == 403


def test_a_device_token_opens_nothing_but_member_codes(client, make_station, device_token):
    headers = bearer(device_token(make_station())[1])
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    assert client.get("/api/v1/device-tokens", headers=headers).status_code == 401
    assert client.post("/api/v1/member-codes/resolve", json={"code": "x"}, headers={"Authorization": "Bearer tbd_forged"}).status_code == 401
