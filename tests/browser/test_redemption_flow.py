"""The station's main moment, in Chromium: the clerk's scanner reads the volunteer's 我的码 (decoded off the phone's
screen by a real decoder), the basket shows the masked name and balances, the total and what is left follow the
quantities, the basket is confirmed and its receipt shown; a second basket is voided from its receipt; the
volunteer's statement shows the redemptions and the void's reversal; the station reconciles and the ledger
verifies clean.

The app runs on the wall clock: the station has no fixed hours, so it is open whenever the test runs.
"""

from __future__ import annotations

import datetime as dt
import re

from playwright.sync_api import expect
from sqlalchemy import select

from timebank import ledger
from timebank.ledger import post, rules
from timebank.ledger.models import Commodity
from timebank.redeem import catalogue, counter, reports
from timebank.redeem.models import Redemption, Station
from timebank.redeem.services import create_station
from tests.browser.conftest import PHONE, TABLET, decode_qr, sign_in
from tests.conftest import ACTOR, SYSTEM


def scanned_member_code(hand, base: str) -> str:
    """Open 我的码 on the phone and read its QR code off a screenshot of the code alone."""
    hand.goto(f"{base}/me/code")
    code = decode_qr(hand.locator("#member-code-qr").screenshot())
    assert code not in hand.locator("body").inner_text()  # the token only as the QR; the digits below are for typing
    return code


def typed_member_code(hand, base: str) -> str:
    """The twelve digits 我的码 shows under the QR, for a clerk whose scanner fails."""
    hand.goto(f"{base}/me/code")
    typed = hand.locator("#member-code-typed")
    assert re.fullmatch(r"\d{4} \d{4} \d{4}", typed.inner_text())
    box, qr = typed.bounding_box(), hand.locator("#member-code-qr").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390 and qr["y"] + qr["height"] <= box["y"]  # whole on the phone, under the QR
    return typed.inner_text()


def scan(page, base: str, station_id: int, code: str) -> None:
    """At the counter, the keyboard-wedge scanner types the code and Enter; the visit's basket opens."""
    page.goto(f"{base}/stations/{station_id}/counter")
    page.locator("#member-code").click()
    page.keyboard.type(code)
    page.keyboard.press("Enter")
    page.wait_for_selector("#visit")


def test_the_clerk_scans_the_phone_code_redeems_two_baskets_voids_one_and_the_statement_shows_every_movement(
    browser, live_server, db, session, org_tree, make_person, run_cli,
):
    at = dt.datetime.now(dt.timezone.utc)
    station = create_station(session, org_tree["east"].id, {"name": "东城社区爱心超市", "address": "东城社区服务中心一楼"}, actor=SYSTEM, now=at)
    rules.open_system_accounts(session, now=at)
    counter.open_station_accounts(session, station.id, now=at)
    session.commit()
    clerk = make_person("station_staff", name="郑春梅", station_id=station.id)
    volunteer = make_person(name="张秀兰")
    rice = catalogue.create_item(session, {"name": "大米 5kg", "kind": "goods", "price": 60, "station_id": station.id, "limit_per_day": 3}, actor=SYSTEM, now=at)
    haircut = catalogue.create_item(session, {"name": "理发服务", "kind": "service", "price": 20, "organisation_id": org_tree["street"].id}, actor=SYSTEM, now=at)
    catalogue.create_item(session, {"name": "居家照护一小时", "kind": "service", "commodity": "HOUR", "price": 60, "organisation_id": org_tree["east"].id}, actor=SYSTEM, now=at)
    catalogue.change_stock(session, station.id, {"item_id": rice.id, "change": 10, "reason": "received"}, actor=SYSTEM, now=at)
    rules.open_volunteer_accounts(session, volunteer.id, categories=("elderly",), now=at)
    post(session, rules.service_credit_legs(volunteer.id, minutes=120, category="elderly", points=200),
         kind="service_credit", idempotency_key="browser-redemption-credit", actor=ACTOR, now=at)
    session.commit()
    station_id, rice_id, haircut_id, volunteer_id = station.id, rice.id, haircut.id, volunteer.id
    clerk_phone, volunteer_phone = clerk.phone, volunteer.phone
    session.close()

    errors: list[str] = []
    tablet = browser.new_context(**TABLET)
    desk = sign_in(tablet, live_server, clerk_phone)
    desk.on("pageerror", lambda error: errors.append(str(error)))
    phone = browser.new_context(**PHONE)
    hand = sign_in(phone, live_server, volunteer_phone)
    hand.on("pageerror", lambda error: errors.append(str(error)))

    # The scan opens the basket: the name masked for the counter, what the volunteer can spend.
    scan(desk, live_server, station_id, scanned_member_code(hand, live_server))
    visit = desk.locator("#visit")
    assert visit.locator("h2").inner_text().startswith("张**") and "张秀兰" not in visit.inner_text()
    figures = visit.locator("ul.figures .value").all_inner_texts()
    assert figures == ["200", "2 小时"]  # time written as on the volunteer's own pages
    total, confirm = desk.locator(".basket-total"), desk.locator("form.basket button[type=submit]")
    expect(confirm).to_be_disabled()  # an empty basket

    # Two items: the total and what is left follow each quantity; too dear a basket holds the button back.
    rice_row = desk.locator(f"tr:has(input[name=qty_{rice_id}])")
    more, fewer = rice_row.locator(".step[data-step='1']"), rice_row.locator(".step[data-step='-1']")
    boxes = [rice_row.locator(selector).bounding_box() for selector in (".step[data-step='-1']", "input.qty", ".step[data-step='1']")]
    assert all(a["x"] + a["width"] <= b["x"] for a, b in zip(boxes, boxes[1:]))  # − field + side by side, not overlapping
    assert min(box["height"] for box in boxes) >= 40  # a finger's width on the tablet
    expect(fewer).to_be_disabled()
    more.click()
    more.click()
    expect(total).to_have_text("合计：120 积分、0 小时 · 兑换后剩余：80 积分、2 小时")
    desk.fill(f"input[name=qty_{haircut_id}]", "1")
    expect(total).to_have_text("合计：140 积分、0 小时 · 兑换后剩余：60 积分、2 小时")
    expect(confirm).to_be_enabled()
    desk.fill(f"input[name=qty_{rice_id}]", "4")
    expect(total).to_have_text("余额不足以兑换这些物品")
    expect(rice_row.locator(".qty-warning")).to_have_text("今天还能兑换 3 件：每人每天限 3 件。")  # at once, not after confirming
    expect(confirm).to_be_disabled()
    fewer.click()
    fewer.click()
    expect(rice_row.locator(".qty-warning")).to_be_hidden()
    expect(total).to_have_text("合计：140 积分、0 小时 · 兑换后剩余：60 积分、2 小时")
    expect(confirm).to_be_enabled()

    confirm.click()
    desk.wait_for_url("**/redemptions/*")
    first = desk.locator(".receipt-number").inner_text()
    assert first.startswith("DH") and f"兑换成功：{first}" in desk.content()
    assert desk.locator(".receipt-lines").inner_text().split("\n")[:2] == ["大米 5kg × 2\t120 积分", "理发服务 × 1\t20 积分"]
    assert desk.locator("#left-after").inner_text().split("\n") == ["剩余积分\t60", "剩余时间币\t2 小时"]

    # The next basket, a bag of rice the volunteer did not want: voided from its receipt, with the reason.
    # The next visit: the scanner fails, so the clerk types the digits the phone shows.
    desk.get_by_role("link", name="下一位").click()
    desk.get_by_role("button", name="手动输入").click()
    assert desk.locator("#member-code").get_attribute("inputmode") == "numeric"
    desk.fill("#member-code", typed_member_code(hand, live_server))
    desk.press("#member-code", "Enter")
    desk.wait_for_selector("#visit")
    assert desk.locator("#visit ul.figures .value").first.inner_text() == "60"
    desk.fill(f"input[name=qty_{rice_id}]", "1")
    expect(desk.locator(".basket-total")).to_have_text("合计：60 积分、0 小时 · 兑换后剩余：0 积分、2 小时")
    desk.locator("form.basket button[type=submit]").click()
    desk.wait_for_url("**/redemptions/*")
    second = desk.locator(".receipt-number").inner_text()
    assert second != first
    desk.locator("summary", has_text="作废这笔兑换").click()
    desk.fill("input[name=reason]", "拿错了物品")
    desk.locator("form[action$='/void'] button[type=submit]").click()
    desk.wait_for_selector("#receipt.voided")
    assert "已作废" in desk.locator("#receipt").inner_text() and "拿错了物品" in desk.locator("#receipt").inner_text()
    assert desk.locator("form[action$='/void']").count() == 0  # a voided redemption cannot be voided again

    with db.session(write=False) as reader:
        made = reader.scalars(select(Redemption).where(Redemption.volunteer_id == volunteer_id).order_by(Redemption.id)).all()
        assert [(r.number, r.status, r.points) for r in made] == [(first, "completed", 140), (second, "voided", 60)]
        assert ledger.balance(reader, rules.volunteer_code(volunteer_id, Commodity.PTS)).posted == 60
        assert catalogue.stock_level(reader, station_id, rice_id) == 8
        assert reports.reconcile(reader, reader.get(Station, station_id)).agrees

    # The volunteer's points statement: both redemptions, and the void giving the second one back.
    hand.goto(f"{live_server}/me/balances?show=points")
    assert hand.locator("#points-available").inner_text() == "60"
    lines = {li.locator(".what").inner_text(): li.locator(".amount").inner_text() for li in hand.locator("ol.statement li").all()}
    assert lines[f"东城社区爱心超市 兑换 {first}"] == "-140"
    assert lines[f"东城社区爱心超市 兑换 {second}"] == "-60"
    assert lines[f"作废 {second}：拿错了物品"] == "+60"

    assert errors == []
    verified = run_cli("ledger", "verify")
    assert verified.exit_code == 0, verified.output
    tablet.close()
    phone.close()
