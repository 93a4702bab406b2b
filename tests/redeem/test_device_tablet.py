"""A browser that becomes the station's tablet by its device token: only the counter, the clerk on duty named."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from timebank.audit.models import AuditEntry
from timebank.auth.codes import phone_code
from timebank.auth.services import create_device_token, revoke_device_token
from timebank.redeem.models import Redemption
from tests.conftest import NOW, PASSWORD, SYSTEM, signed_in, text


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    """The pages' clock reads NOW: 10:00 on a Friday in Shanghai, inside the shop's opening hours."""
    monkeypatch.setattr("timebank.redeem.views.now", lambda: NOW)


@pytest.fixture
def tablet_token(session, shop):
    """The id and plain token of the station's tablet, committed."""
    token, plain = create_device_token(session, {"name": "前台平板", "scope_type": "station", "scope_id": shop.station.id}, actor=SYSTEM, now=NOW)
    session.commit()
    return token.id, plain


def form_token(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def post(client, url: str, page_url: str = "/device", **data):
    """A form POST with the CSRF token of a page the device may open."""
    return client.post(url, data={**data, "csrf_token": form_token(text(client.get(page_url)))})


def become_tablet(client, plain: str):
    entered = post(client, "/device", token=plain)
    assert entered.status_code == 302, text(entered)
    return entered


def clerk_signs_in(client, clerk):
    signed = post(client, "/device/clerk", "/device/clerk", phone=clerk.phone, password=PASSWORD)
    assert signed.status_code == 302, text(signed)
    return signed


def test_entering_the_token_signs_out_whoever_was_signed_in_and_keeps_the_device_in_an_httponly_cookie(app, shop, tablet_token, make_person):
    client = signed_in(app, make_person("coordinator", name="陈志强"))
    entered = become_tablet(client, tablet_token[1])

    cookie = entered.headers["Set-Cookie"]
    assert cookie.startswith("timebank_device=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert tablet_token[1] not in cookie
    assert entered.location == f"/stations/{shop.station.id}/counter"
    counter = client.get(entered.location)
    assert counter.status_code == 302 and counter.location == "/device/clerk"  # no clerk on duty yet
    page = text(client.get("/device/clerk"))
    assert "谁在柜台值班？" in page and "陈志强" not in page and "/sign-out" not in page and "/people" not in page
    for elsewhere in ("/people", "/me", "/devices", "/audit", f"/stations/{shop.station.id}/day", "/sign-in"):
        assert client.get(elsewhere).location == f"/stations/{shop.station.id}/counter", elsewhere
    assert post(client, "/people/new", "/device/clerk", real_name="x").status_code == 403
    assert client.get("/api/v1/people", headers={"Accept": "application/json"}).status_code == 401


def test_the_clerk_on_duty_is_named_on_each_redemption_and_cannot_serve_themself(app, session, shop, tablet_token, make_person, fund):
    token_id, plain = tablet_token
    volunteer = make_person(name="张秀英")
    fund(volunteer, points=200)
    fund(shop.clerk, points=200)
    client = app.test_client()
    become_tablet(client, plain)
    clerk_signs_in(client, shop.clerk)
    counter_url = f"/stations/{shop.station.id}/counter"
    page = text(client.get(counter_url))
    assert "值班：吴**" in page and "结束值班" in page and "今天的兑换" not in page
    secret = app.config["SECRET_KEY"]

    own = post(client, counter_url, counter_url, member_code=phone_code(shop.clerk, secret, now=NOW))
    assert own.status_code == 403 and "不能为自己兑换" in text(own)

    scanned = post(client, counter_url, counter_url, member_code=phone_code(volunteer, secret, now=NOW))
    basket = text(client.get(scanned.location))
    visit = re.search(r'name="visit" value="([^"]+)"', basket).group(1)
    key = re.search(r'name="idempotency_key" value="([^"]+)"', basket).group(1)
    confirmed = client.post(f"/stations/{shop.station.id}/redemptions",
                            data={"visit": visit, "idempotency_key": key, f"qty_{shop.haircut.id}": "1", "csrf_token": form_token(basket)})
    assert confirmed.status_code == 302 and "/redemptions/" in confirmed.location
    redemption = session.scalar(select(Redemption))
    assert (redemption.clerk_id, redemption.device_id, redemption.volunteer_id) == (shop.clerk.id, token_id, volunteer.id)
    assert session.scalar(select(AuditEntry.actor_id).where(AuditEntry.action == "start_duty")) == shop.clerk.id
    session.commit()

    ended = post(client, "/device/clerk/end", counter_url)
    assert ended.location == "/device/clerk"
    assert client.get(counter_url).location == "/device/clerk"


def test_only_staff_of_this_station_sign_in_on_its_tablet(app, shop, tablet_token, make_person):
    client = app.test_client()
    become_tablet(client, tablet_token[1])
    volunteer = make_person(name="李华")
    refused = post(client, "/device/clerk", "/device/clerk", phone=volunteer.phone, password=PASSWORD)
    assert refused.status_code == 401 and "您不在这个驿站工作" in text(refused)
    wrong = post(client, "/device/clerk", "/device/clerk", phone=shop.clerk.phone, password="not it at all")
    assert wrong.status_code == 401 and "手机号或密码不正确" in text(wrong)


def test_a_wrong_token_is_refused_and_a_revoked_one_stops_the_tablet(app, session, shop, tablet_token):
    client = app.test_client()
    wrong = post(client, "/device", token="tbd_not-a-token")
    assert wrong.status_code == 422 and "这个设备令牌无效或已被撤销" in text(wrong)
    become_tablet(client, tablet_token[1])
    revoke_device_token(session, tablet_token[0], actor=SYSTEM, now=NOW)
    session.commit()
    assert client.get(f"/stations/{shop.station.id}/counter").location.startswith("/sign-in")
