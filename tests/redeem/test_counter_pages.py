"""The station pages as the clerk and the coordinator meet them: scan, basket, receipt, void, stock, day, overview."""

from __future__ import annotations

import csv
import json
import io
import re

import pytest
from openpyxl import load_workbook

from timebank import ledger
from timebank.audit.services import entries
from timebank.auth.codes import card_code, issue_new_card, phone_code
from timebank.redeem import catalogue
from timebank.redeem.services import create_station
from tests.conftest import NOW, SYSTEM, send, signed_in, text


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    """The pages' clock reads NOW: 10:00 on a Friday in Shanghai, inside the shop's opening hours."""
    monkeypatch.setattr("timebank.redeem.views.now", lambda: NOW)


def _open_basket(client, app, shop, volunteer):
    """Scan the volunteer's phone code at the counter; the basket page it leads to."""
    code = phone_code(volunteer, app.config["SECRET_KEY"], now=NOW)
    scanned = send(client, f"/stations/{shop.station.id}/counter", member_code=code)
    assert scanned.status_code == 302, text(scanned)
    return client.get(scanned.location)


def _hidden(page: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]+)"', page).group(1)


def _confirm(client, shop, basket: str, *lines):
    """Confirm the basket page's form with (item, quantity) lines, as the clerk's tap sends it."""
    quantities = {f"qty_{item.id}": str(quantity) for item, quantity in lines}
    return send(client, f"/stations/{shop.station.id}/redemptions", visit=_hidden(basket, "visit"),
                idempotency_key=_hidden(basket, "idempotency_key"), **quantities)


def test_the_clerk_scans_fills_the_basket_and_gets_a_receipt_once(app, session, shop, make_person, fund):
    volunteer = make_person(name="张秀英")
    fund(volunteer, points=200)
    clerk = signed_in(app, shop.clerk)
    basket = text(_open_basket(clerk, app, shop, volunteer))
    assert "张**" in basket and "张秀英" not in basket
    assert "200" in basket and "大米 5kg" in basket
    form = {"visit": _hidden(basket, "visit"), "idempotency_key": _hidden(basket, "idempotency_key"),
            f"qty_{shop.rice.id}": "1", f"qty_{shop.haircut.id}": "1", f"qty_{shop.care.id}": "0"}
    confirmed = send(clerk, f"/stations/{shop.station.id}/redemptions", **form)
    assert confirmed.status_code == 302
    again = send(clerk, f"/stations/{shop.station.id}/redemptions", **form)  # a double tap, or a refresh
    assert again.location == confirmed.location
    receipt = text(clerk.get(confirmed.location))
    assert re.search(r"DH20261120-\d{6}", receipt) and "大米 5kg × 1" in receipt and "80" in receipt


def test_the_receipt_says_what_is_left_and_the_next_basket_knows_the_daily_limit_already_used(app, session, shop, make_person, fund):
    volunteer = make_person(name="李桂芳")
    fund(volunteer, points=200, minutes=165)
    clerk = signed_in(app, shop.clerk)
    basket = text(_open_basket(clerk, app, shop, volunteer))
    assert "2 小时 45 分钟" in basket and "2.75" not in basket  # time as the volunteer's pages write it
    assert 'data-left="2"' in basket and re.search(rf'name="qty_{shop.rice.id}" min="0" max="2"', basket)
    receipt = text(clerk.get(_confirm(clerk, shop, basket, (shop.rice, 1), (shop.care, 1)).location))
    left = receipt[receipt.index('id="left-after"'):]
    assert re.search(r"剩余积分</td><td class=\"amount\">140<", left) and re.search(r"剩余时间币</td><td class=\"amount\">1 小时 45 分钟<", left)
    again = text(_open_basket(clerk, app, shop, volunteer))
    assert 'data-left="1"' in again and re.search(rf'name="qty_{shop.rice.id}" min="0" max="1"', again)
    assert "今天还能兑换 1 件：每人每天限 2 件。" in again


def test_the_clerk_types_the_twelve_digits_from_the_phone_when_the_scan_fails(app, session, shop, make_person, fund, monkeypatch):
    monkeypatch.setattr("timebank.people.me_views.now", lambda: NOW)
    monkeypatch.setattr("timebank.redeem.api.now", lambda: NOW)
    volunteer = make_person(name="赵桂兰")
    fund(volunteer, points=50)
    shown = text(signed_in(app, volunteer).get("/me/code"))
    typed = re.search(r'id="member-code-typed">([\d ]{14})<', shown).group(1)
    assert phone_code(volunteer, app.config["SECRET_KEY"], now=NOW)[:12] not in shown  # no raw token text
    clerk = signed_in(app, shop.clerk)
    scanned = send(clerk, f"/stations/{shop.station.id}/counter", member_code=typed)
    assert scanned.status_code == 302, text(scanned)
    assert "赵**" in text(clerk.get(scanned.location))
    api = clerk.post(f"/api/v1/stations/{shop.station.id}/visits", json={"member_code": typed.replace(" ", "")})
    assert api.status_code == 200 and api.get_json()["masked_name"] == "赵**"


def test_a_refused_basket_shows_the_reason_on_the_basket_page(app, session, shop, make_person, fund):
    volunteer = make_person()
    fund(volunteer, points=50)
    clerk = signed_in(app, shop.clerk)
    basket = text(_open_basket(clerk, app, shop, volunteer))
    refused = _confirm(clerk, shop, basket, (shop.rice, 1))
    assert refused.status_code == 409
    assert "积分不足：可用 50，需要 60，还差 10。" in text(refused)
    assert "确认兑换" in text(refused)  # still the basket, ready to change


def test_a_replaced_card_and_a_forged_code_are_refused_at_the_counter(app, session, shop, make_person):
    volunteer = make_person()
    old_card = card_code(volunteer, app.config["SECRET_KEY"])
    clerk = signed_in(app, shop.clerk)
    issue_new_card(session, volunteer, actor=SYSTEM, now=NOW)
    session.commit()
    replaced = send(clerk, f"/stations/{shop.station.id}/counter", member_code=old_card)
    assert replaced.status_code == 422 and "新" in text(replaced)
    forged = send(clerk, f"/stations/{shop.station.id}/counter", member_code="C.forged")
    assert forged.status_code == 422
    empty = send(clerk, f"/stations/{shop.station.id}/counter", member_code="")
    assert empty.status_code == 422 and "请扫描会员码" in text(empty)


def test_the_clerk_voids_the_same_day_with_a_reason(app, session, shop, make_person, fund):
    volunteer = make_person()
    fund(volunteer, points=100)
    clerk = signed_in(app, shop.clerk)
    basket = text(_open_basket(clerk, app, shop, volunteer))
    confirmed = _confirm(clerk, shop, basket, (shop.haircut, 1))
    receipt_url = confirmed.location
    redemption_id = receipt_url.rsplit("/", 1)[1]
    no_reason = send(clerk, f"/redemptions/{redemption_id}/void", reason="")
    assert no_reason.status_code == 422
    voided = send(clerk, f"/redemptions/{redemption_id}/void", reason="理发师今天不在")
    assert voided.status_code == 302
    assert "已作废" in text(clerk.get(receipt_url))
    day = text(clerk.get(f"/stations/{shop.station.id}/day?day=2026-11-20"))
    assert "理发师今天不在" in day and "逐分相符" in day


def test_staff_of_another_station_see_neither_its_counter_nor_its_receipts(app, session, shop, make_person, fund, org_tree):
    elsewhere = create_station(session, org_tree["east"].id, {"name": "东城爱心超市"}, actor=SYSTEM, now=NOW)
    session.commit()
    stranger = signed_in(app, make_person("station_staff", station_id=elsewhere.id))
    assert stranger.get(f"/stations/{shop.station.id}/counter").status_code == 403
    assert stranger.get(f"/stations/{shop.station.id}/stock").status_code == 404
    volunteer = make_person()
    assert send(stranger, f"/stations/{shop.station.id}/counter", member_code=phone_code(volunteer, app.config["SECRET_KEY"], now=NOW)).status_code == 403


def test_stock_is_received_and_adjusted_only_with_a_reason(app, session, shop, make_person):
    clerk = signed_in(app, shop.clerk)
    received = send(clerk, f"/stations/{shop.station.id}/stock", item_id=shop.rice.id, change="5", reason="received")
    assert received.status_code == 302
    silent = send(clerk, f"/stations/{shop.station.id}/stock", item_id=shop.rice.id, change="-2", reason="adjusted")
    assert silent.status_code == 422 and "请说明数量变化的原因" in text(silent)
    too_many = send(clerk, f"/stations/{shop.station.id}/stock", item_id=shop.rice.id, change="-99", reason="adjusted", note="盘点")
    assert too_many.status_code == 422
    counted = send(clerk, f"/stations/{shop.station.id}/stock", item_id=shop.rice.id, change="-2", reason="adjusted", note="受潮两袋")
    assert counted.status_code == 302
    assert catalogue.stock_level(session, shop.station.id, shop.rice.id) == 13
    assert "受潮两袋" in text(clerk.get(f"/stations/{shop.station.id}/stock"))


def test_the_stock_forms_button_says_record_in_its_own_words_not_the_audit_logs(app, shop):
    page = text(signed_in(app, shop.clerk).get(f"/stations/{shop.station.id}/stock"))
    assert '<button type="submit" class="primary">登记</button>' in page and "对象" not in page


def test_the_coordinator_adds_an_item_with_a_picture_and_sets_opening_hours(app, session, shop, make_person):
    from PIL import Image

    coordinator = signed_in(app, make_person("coordinator"))
    picture = io.BytesIO()
    Image.new("RGB", (1200, 800), "orange").save(picture, "PNG")
    added = coordinator.post(f"/stations/{shop.station.id}/items", data={
        "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', text(coordinator.get(f"/stations/{shop.station.id}/catalogue"))).group(1),
        "name": "鸡蛋一盒", "kind": "goods", "commodity": "PTS", "price": "15", "scope": "station", "limit_per_day": "1",
        "picture": (io.BytesIO(picture.getvalue()), "eggs.png"),
    }, content_type="multipart/form-data")
    assert added.status_code == 302, text(added)
    eggs = next(o.item for o in catalogue.catalogue(session, shop.station) if o.item.name == "鸡蛋一盒")
    session.commit()  # end the read, so SQLite's write lock is free for the pages
    served = coordinator.get(f"/catalogue/items/{eggs.id}/picture")
    assert served.mimetype == "image/jpeg" and max(Image.open(io.BytesIO(served.data)).size) == 480
    bad_price = send(coordinator, f"/stations/{shop.station.id}/items", name="毛巾", kind="goods", price="0", scope="station")
    assert bad_price.status_code == 422
    hours = send(coordinator, f"/stations/{shop.station.id}/hours", open_days=["1", "2", "3", "4", "5", "6"], opens_at="09:00", closes_at="08:00")
    assert hours.status_code == 422 and "关门时间必须晚于开门时间" in text(hours)


def test_the_coordinator_overview_and_exports_list_the_redemptions(app, session, shop, make_person, fund):
    volunteer = make_person(name="李建华")
    fund(volunteer, points=300)
    clerk = signed_in(app, shop.clerk)
    basket = text(_open_basket(clerk, app, shop, volunteer))
    _confirm(clerk, shop, basket, (shop.rice, 2))
    coordinator = signed_in(app, make_person("coordinator"))
    page = text(coordinator.get("/redemptions/overview?from=2026-11-01&to=2026-11-30"))
    assert "26度万家驿站" in page and "大米 5kg" in page and "不符" not in page
    exported = coordinator.get("/redemptions/export.csv?from=2026-11-01&to=2026-11-30")
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][0] == "兑换单号" and rows[1][3] == "李**" and rows[1][4] == "大米 5kg" and rows[1][8] == "120"
    asked = send(coordinator, "/redemptions/export.xlsx", start="2026-11-01", end="2026-11-30")
    assert asked.status_code == 302 and "/exports/" in asked.location  # written in the background (at once, in tests)
    download = coordinator.get(coordinator.get(asked.location + ".json").get_json()["download"])
    workbook = load_workbook(io.BytesIO(download.data))
    download.close()
    assert [cell.value for cell in next(workbook.active.iter_rows(min_row=2, max_row=2))][4] == "大米 5kg"
    backwards = coordinator.get("/redemptions/overview?from=2026-11-30&to=2026-11-01")
    assert backwards.status_code == 422


def test_a_volunteer_sees_the_stations_nearby_with_what_they_can_afford(app, session, shop, make_person, fund):
    volunteer = make_person()
    fund(volunteer, points=30)
    page = text(signed_in(app, volunteer).get("/me/stations"))
    assert "26度万家驿站" in page and "每天 08:00–20:00" in page
    assert "理发服务" in page and "大米 5kg" in page
    assert page.count("余额够用") == 2  # the haircut (20 of 30 points) and the care hour (60 of 60 minutes), not the rice (60)


def test_a_new_price_applies_from_the_next_redemption_and_is_audited(app, session, shop, make_person, fund):
    coordinator = signed_in(app, make_person("coordinator"))
    form = text(coordinator.get(f"/catalogue/items/{shop.rice.id}/edit?station_id={shop.station.id}"))
    assert 'value="60"' in form
    saved = send(coordinator, f"/catalogue/items/{shop.rice.id}/edit", station_id=str(shop.station.id), name="大米 5kg", price="50", commodity="PTS", limit_per_day="2")
    assert saved.status_code == 302, text(saved)
    refused = send(coordinator, f"/catalogue/items/{shop.rice.id}/edit", name="", price="50", commodity="PTS")
    assert refused.status_code == 422
    patched = coordinator.patch(f"/api/v1/catalogue/items/{shop.rice.id}", json={"limit_per_month": 5})
    assert patched.status_code == 200 and patched.json["price"] == 50 and patched.json["limit_per_month"] == 5
    volunteer = make_person()
    fund(volunteer, points=100)
    clerk = signed_in(app, shop.clerk)
    basket = text(_open_basket(clerk, app, shop, volunteer))
    confirmed = _confirm(clerk, shop, basket, (shop.rice, 1))
    assert "50 积分" in text(clerk.get(confirmed.location))
    session.expire_all()
    logged = [(e.action, json.loads(e.changes or "{}")) for e in entries(session, target=("catalogue_item", shop.rice.id))]
    assert ("update_item", {"price": ["60", "50"]}) in logged


def test_the_day_report_shows_the_ledger_seal_head_for_the_auditor_to_note(app, session, shop, make_person, fund):
    """Before any sealing the page says so; after, it prints the newest seal's hash."""
    volunteer = make_person()
    fund(volunteer, points=100)
    clerk = signed_in(app, shop.clerk)
    assert "账本尚未封存" in text(clerk.get(f"/stations/{shop.station.id}/day?day=2026-11-20"))
    ledger.seal_pending(session, now=NOW)
    session.commit()
    head = ledger.chain_head(session)

    day = text(clerk.get(f"/stations/{shop.station.id}/day?day=2026-11-20"))

    assert f"账本第 {head.seq} 次封存" in day and head.hash in day
