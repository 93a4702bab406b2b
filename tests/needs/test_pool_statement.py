"""The pool statement: every figure equals the ledger's, and the workbook lists the same movements."""

from __future__ import annotations

import datetime as dt
import io
import re

import openpyxl
import pytest

from timebank import ledger
from timebank.ledger import rules
from timebank.needs import payment, pool, pool_statement
from timebank.people.access import actor_for
from tests.conftest import NOW, exported_workbook, signed_in
from tests.gifts.factories import fill_pool, fund, make_assignment, make_need, make_order, make_resident

LATER = NOW + dt.timedelta(days=1, hours=3)


@pytest.fixture
def history(session, org_tree, make_person):
    """East's pool: two donations, an over-cap credit, an allocation drawn by a paid visit, a returned one, a refund."""
    east = org_tree["east"].id
    coordinator = make_person("coordinator", name="王协调")
    actor = actor_for(session, coordinator)
    donor, volunteer = make_person(name="捐赠人"), make_person(name="李志愿")
    fill_pool(session, east, 240, donor=donor)
    fill_pool(session, east, 60, donor=donor)
    fund(session, volunteer, 0 + 30)
    ledger.post(session, rules.service_credit_legs(volunteer.id, minutes=60, category="elderly", points=0, deposit=20, pool=east),
                kind="service_credit", idempotency_key="over-cap", actor=1, now=NOW)
    served = make_need(session, make_resident(session, east, name="张奶奶", groups="living_alone", born=dt.date(1940, 1, 1)))
    pool.allocate(session, served.id, 90, actor=actor, now=NOW)
    visit = make_assignment(session, make_order(session, served, payer="pool", minutes=60), volunteer)
    payment.reserve(session, visit, actor=volunteer.id, now=NOW)
    payment.settle(session, visit, 60, actor=coordinator.id, now=LATER)
    second = make_assignment(session, make_order(session, served, payer="pool", minutes=30), make_person(name="赵志愿"))
    payment.reserve(session, second, actor=1, now=NOW)  # draws the last 30 of the allocation: held for the visit
    returned = make_need(session, make_resident(session, east, name="王爷爷"))
    pool.return_allocation(session, pool.allocate(session, returned.id, 45, actor=actor, now=NOW).id, actor=actor, now=NOW)
    refunded = make_need(session, make_resident(session, east, name="孙奶奶"))
    third = make_assignment(session, make_order(session, refunded, payer="pool", minutes=15), volunteer)
    payment.reserve(session, third, actor=1, now=NOW)
    payment.settle(session, third, 15, actor=1, now=LATER)
    payment.refund(session, third, actor=1, now=LATER)
    pool.allocate(session, make_need(session, make_resident(session, east, name="周爷爷")).id, 20, actor=actor, now=NOW)
    session.commit()
    return east, actor, coordinator


def test_the_statement_figures_are_the_ledger_s(session, history):
    east, actor, _ = history
    found = pool_statement.statement(session, east, actor=actor)
    account = ledger.balance(session, rules.pool_code(east))
    assert found.totals == {"donation": 300, "over_cap": 40, "spent": -75, "correction": 15, "other": 0}
    assert sum(found.totals.values()) == account.posted == found.figures.balance == 280
    assert found.allocated + found.held_for_visits == account.held == found.figures.held
    assert (found.allocated, found.held_for_visits, found.returned) == (20, 30, 45)
    assert found.figures.available == 280 - 50
    assert sum(line.amount for line in found.lines) == account.posted
    assert found.lines[0].balance_after == account.posted
    assert {line.movement for line in found.lines} == {"donation", "over_cap", "spent", "correction"}
    assert [line.who for line in found.lines if line.movement == "spent"] == ["李志愿", "李志愿"]
    assert list(ledger.verify(session)) == []


def test_the_statement_pages_through_its_lines(session, history):
    east, actor, _ = history
    first = pool_statement.statement(session, east, actor=actor, limit=3)
    rest = pool_statement.statement(session, east, actor=actor, before=first.next_before, limit=50)
    assert len(first.lines) == 3 and rest.next_before is None
    assert sum(line.amount for line in first.lines + rest.lines) == 280


def test_the_statement_page_and_the_workbook_say_the_same(app, session, history):
    east, _, coordinator = history
    client = signed_in(app, coordinator)
    page = client.get(f"/pool/{east}/statement").get_data(as_text=True)
    figure = lambda key: re.sub(r"<[^>]+>", "", re.search(rf'id="{key}">(.*?)</span></li>', page).group(1))  # noqa: E731
    assert figure("pool-balance") == "4 小时 40 分钟" and figure("total-donation") == "5 小时"
    assert figure("pool-returned") == "45 分钟" and "支付服务 · 李志愿" in page
    sheet = openpyxl.load_workbook(io.BytesIO(exported_workbook(client, f"/pool/{east}/statement.xlsx"))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == pool_statement.EXPORT_HEADINGS
    assert sum(row[3] for row in rows[1:]) == 280 and rows[-1][5] == 280
    assert {row[1] for row in rows[1:]} == {"捐赠", "超出存储上限转入", "支付服务", "更正"}


def test_the_api_statement_gives_the_same_figures(app, session, history):
    east, _, coordinator = history
    body = signed_in(app, coordinator).get(f"/api/v1/pools/{east}/statement").get_json()
    assert body["pool"] == {"organisation_id": east, "name": "东城社区", "balance": 280, "held": 50, "available": 230}
    assert body["totals"]["spent"] == -75 and body["returned"] == 45 and len(body["lines"]) == 6
