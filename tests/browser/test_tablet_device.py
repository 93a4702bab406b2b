"""A station tablet becomes its device, in Chromium: the coordinator makes a token on /devices and enters it on
the tablet's browser once; the tablet then asks who is at the counter, shows only the counter with the clerk on
duty named, records each redemption under that clerk and the device, and reaches nothing else.

The app runs on the wall clock: the station has no fixed hours, so it is open whenever the test runs.
"""

from __future__ import annotations

import datetime as dt

from playwright.sync_api import expect
from sqlalchemy import select

from timebank.auth.codes import card_code
from timebank.auth.models import DeviceToken
from timebank.ledger import post, rules
from timebank.redeem import catalogue, counter
from timebank.redeem.models import Redemption
from timebank.redeem.services import create_station
from tests.browser.conftest import TABLET, sign_in
from tests.conftest import ACTOR, PASSWORD, SYSTEM


def test_a_tablet_entered_with_its_token_shows_only_the_counter_and_names_the_clerk_on_each_redemption(
    browser, live_server, app, db, session, org_tree, make_person,
):
    at = dt.datetime.now(dt.timezone.utc)
    station = create_station(session, org_tree["east"].id, {"name": "东城社区爱心超市"}, actor=SYSTEM, now=at)
    rules.open_system_accounts(session, now=at)
    counter.open_station_accounts(session, station.id, now=at)
    session.commit()
    coordinator = make_person("coordinator", name="陈志强")
    clerk = make_person("station_staff", name="郑春梅", station_id=station.id)
    volunteer = make_person(name="张秀兰")
    haircut = catalogue.create_item(session, {"name": "理发服务", "kind": "service", "price": 20, "station_id": station.id}, actor=SYSTEM, now=at)
    rules.open_volunteer_accounts(session, volunteer.id, categories=("elderly",), now=at)
    post(session, rules.service_credit_legs(volunteer.id, minutes=60, category="elderly", points=100),
         kind="service_credit", idempotency_key="browser-tablet-credit", actor=ACTOR, now=at)
    session.commit()
    station_id, haircut_id, clerk_id, volunteer_id = station.id, haircut.id, clerk.id, volunteer.id
    coordinator_phone, clerk_phone = coordinator.phone, clerk.phone
    printed_card = card_code(volunteer, app.config["SECRET_KEY"])
    session.close()

    errors: list[str] = []
    tablet = browser.new_context(**TABLET)
    desk = sign_in(tablet, live_server, coordinator_phone)
    desk.on("pageerror", lambda error: errors.append(str(error)))

    # The coordinator makes the token on the tablet itself, then enters it on /device: they are signed out.
    desk.goto(f"{live_server}/devices")
    desk.fill("input[name=name]", "前台平板")
    desk.select_option("select[name=scope]", f"station:{station_id}")
    desk.locator("form[action='/devices'] button[type=submit]").click()
    token = desk.locator(".secret-value.token").inner_text().strip()
    assert token.startswith("tbd_") and f"{live_server}/device" in desk.content()
    desk.goto(f"{live_server}/device")
    desk.fill("input[name=token]", token)
    desk.locator("form[action='/device'] button[type=submit]").click()
    desk.wait_for_url("**/device/clerk")
    expect(desk.locator("h1")).to_have_text("谁在柜台值班？")
    assert desk.locator("header nav a").count() == 0 and "陈志强" not in desk.content()
    cookie = next(c for c in tablet.cookies() if c["name"] == "timebank_device")
    assert cookie["httpOnly"] and token not in cookie["value"]

    # The clerk starts the shift; the counter names them; every other page leads back to the counter.
    desk.fill("input[name=phone]", clerk_phone)
    desk.fill("input[name=password]", PASSWORD)
    desk.locator("form[action='/device/clerk'] button[type=submit]").click()
    desk.wait_for_url(f"**/stations/{station_id}/counter")
    expect(desk.locator("header")).to_contain_text("值班：郑**")
    for elsewhere in ("/people", "/me", "/devices", "/activities/manage"):
        desk.goto(f"{live_server}{elsewhere}")
        assert desk.url == f"{live_server}/stations/{station_id}/counter", elsewhere

    # A printed card through the scanner, a basket, the receipt: recorded under the clerk and the tablet.
    desk.locator("#member-code").click()
    desk.keyboard.type(printed_card)
    desk.keyboard.press("Enter")
    desk.wait_for_selector("#visit")
    desk.fill(f"input[name=qty_{haircut_id}]", "1")
    desk.locator("form.basket button[type=submit]").click()
    desk.wait_for_url("**/redemptions/*")
    number = desk.locator(".receipt-number").inner_text()
    with db.session(write=False) as reader:
        redemption = reader.scalar(select(Redemption).where(Redemption.number == number))
        device_id = reader.scalar(select(DeviceToken.id).where(DeviceToken.name == "前台平板"))
        assert (redemption.clerk_id, redemption.device_id, redemption.volunteer_id) == (clerk_id, device_id, volunteer_id)

    # The shift ends: the tablet asks again who is at the counter before anything else.
    desk.get_by_role("button", name="结束值班").click()
    desk.wait_for_url("**/device/clerk")
    desk.goto(f"{live_server}/stations/{station_id}/counter")
    assert desk.url.endswith("/device/clerk")

    assert errors == []
    tablet.close()
