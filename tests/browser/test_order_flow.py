"""The order loop in Chromium: a grid worker records an elderly resident's need on a phone (代点单); a social
worker makes an order from it and dispatches it
from the suggestions; the volunteer accepts on a phone-sized page; at the home the phone reads the resident's
printed card (its QR code rendered by the card page, screenshotted and decoded by a real decoder); the visit is
approved; the social worker records the resident's rating taken by phone; the volunteer's balances show it.

The app's clock is moved by hand (the server runs in this process).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from tests.browser.conftest import PHONE, START, TABLET, decode_qr, sign_in
from timebank import ledger
from timebank.ledger import rules
from timebank.localtime import local
from timebank.needs.models import Assignment, Need, Order


def test_order_dispatch_accept_scan_the_card_approve_and_rate(browser, live_server, db, session, org_tree, make_person, clock):
    worker = make_person("social_worker", name="王社工")
    grid = make_person("grid_worker", name="刘网格")
    volunteer = make_person(name="赵志愿", skills="陪诊", service_categories=["elderly"])
    east = org_tree["east"].id
    session.close()

    # 网格发现: the grid worker records the need on the resident's behalf, on a phone.
    walk = browser.new_context(**PHONE)
    report = sign_in(walk, live_server, grid.phone)
    report.goto(f"{live_server}/needs/new")
    report.fill("textarea[name=description]", "需要有人陪同去医院复诊")
    report.fill("input[name=wanted_when]", "明天上午")
    report.fill("input[name=address]", "东城社区3号楼2单元401")
    report.fill("input[name=contact_phone]", "13912345678")
    report.select_option("select[name=organisation_id]", str(east))
    report.fill("input[name=real_name]", "张奶奶")
    report.select_option("select[name=channel]", "grid")
    report.select_option("select[name=colour]", "yellow")
    report.check("input[name=privacy_consent]")
    report.click("button.primary")
    report.wait_for_url(lambda url: "/needs/new" not in url)
    assert report.evaluate("document.documentElement.scrollWidth") <= 390
    need = session.scalar(select(Need).where(Need.recorded_by == grid.id))
    assert (need.channel, need.colour, need.resident.real_name) == ("grid", "yellow", "张奶奶")
    need_id, resident_id = need.id, need.resident_id
    session.close()
    walk.close()

    window = START + dt.timedelta(days=1)
    tablet = browser.new_context(**TABLET)
    desk = sign_in(tablet, live_server, worker.phone)
    desk.goto(f"{live_server}/needs/{need_id}/orders/new")
    desk.select_option("select[name=category]", "elderly")
    desk.fill("input[name=skills]", "陪诊")
    desk.fill("input[name=window_start]", local(window).strftime("%Y-%m-%dT%H:%M"))
    desk.fill("input[name=window_end]", local(window + dt.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"))
    desk.fill("input[name=expected_minutes]", "90")
    desk.click("button.primary")
    desk.wait_for_selector("text=服务单已生成")
    desk.check(f"input[name=volunteer_ids][value='{volunteer.id}']")
    desk.click("text=派给勾选的志愿者")
    desk.wait_for_selector("text=已派给 1 位志愿者")

    phone = browser.new_context(**PHONE)
    hand = sign_in(phone, live_server, volunteer.phone)
    hand.goto(f"{live_server}/me/orders")
    hand.click("article.assignment a")
    assert "3号楼" not in hand.content()
    hand.click("button:has-text('接单')")
    hand.wait_for_selector(".visit-address")
    assert "东城社区3号楼2单元401" in hand.inner_text(".visit-address")
    assert hand.evaluate("document.documentElement.scrollWidth") <= 390

    # At the home: the phone reads the resident's printed card.
    card = tablet.new_page()
    card.goto(f"{live_server}/residents/{resident_id}/card")
    code = decode_qr(card.locator("img.qr").screenshot())
    assert code.startswith("R.")
    clock.at = window + dt.timedelta(minutes=10)
    hand.select_option("select[name=method]", "card")
    hand.fill("#visit-code", code)
    hand.click("#confirm-form button[type=submit]")
    hand.wait_for_selector("text=服务已开始")
    clock.at = window + dt.timedelta(minutes=100)
    hand.select_option("select[name=method]", "card")
    hand.fill("#visit-code", code)
    hand.click("#confirm-form button[type=submit]")
    hand.wait_for_selector("text=服务已结束")

    # The social worker approves the visit on the review page, then records the rating taken by phone.
    clock.at = window + dt.timedelta(hours=3)
    order_id = session.scalar(select(Order.id))
    session.close()
    desk.goto(f"{live_server}/orders/{order_id}")
    desk.click("text=审核服务时长")
    desk.on("dialog", lambda dialog: dialog.accept())  # "approve all unflagged" asks first
    desk.click("#approve-unflagged")
    desk.wait_for_selector("#count-approved:has-text('1')")
    desk.goto(f"{live_server}/orders/{order_id}")
    desk.select_option("select[name=stars]", "5")
    desk.fill("input[name=comment]", "很耐心")
    desk.click("text=记录评价")
    desk.wait_for_selector("text=谢谢，评价已记录")

    offer = session.scalar(select(Assignment))
    assert offer.status == "approved" and offer.order.need.status == "closed"
    assert ledger.balance(session, rules.volunteer_code(volunteer.id, ledger.Commodity.HOUR)).posted == 90
    session.close()
    hand.goto(f"{live_server}/me/balances")
    assert "1.5" in hand.content() or "1小时30分" in hand.content() or "90" in hand.content()
