"""The needs list: overdue first, filters, CSV and XLSX exports; the hourly overdue warning, once per need and deadline."""

from __future__ import annotations

import csv
import datetime as dt
import io

from openpyxl import load_workbook
from sqlalchemy import func, select

from timebank.jobs import SPECS
from timebank.needs import lists, triage
from timebank.needs.alerts import warn_overdue
from timebank.needs.tasks import overdue_needs
from timebank.notices.models import Notice
from tests.conftest import NOW, signed_in
from tests.needs.needs_fixtures import place_need, staff  # noqa: F401  (fixtures)

WEEK_AGO = NOW - dt.timedelta(days=7)


def test_overdue_needs_rise_to_the_top_longest_overdue_first(session, staff, place_need):
    fresh_red = place_need(colour="red")
    old_blue = place_need(colour="blue", at=NOW - dt.timedelta(days=20))  # due ten working days later: overdue
    old_red = place_need(colour="red", at=NOW - dt.timedelta(days=2))  # overdue since yesterday
    answered = place_need(colour="red", at=WEEK_AGO)
    triage.decline(session, answered.id, {"reason": "重复"}, actor=staff["social"], now=WEEK_AGO)
    found = lists.find_needs(session, actor=staff["social"], filters={}, now=NOW)
    assert [n.id for n in found] == [old_blue.id, old_red.id, fresh_red.id, answered.id]


def test_filters_narrow_the_list_and_staff_see_only_their_subtree(session, org_tree, staff, place_need):
    red = place_need(colour="red", category="elderly")
    place_need(colour="blue", channel="hotline")
    west = place_need(by="west_social", org="west", colour="red")
    ids = lambda **f: [n.id for n in lists.find_needs(session, actor=staff["social"], filters=f, now=NOW)]  # noqa: E731
    assert ids(colour="red") == [red.id]
    assert ids(category="elderly") == [red.id]
    assert len(ids(channel="hotline")) == 1 and ids(channel="tea_stall") == []
    assert ids(organisation_id=org_tree["west"].id) == []
    assert west.id not in ids()
    assert ids(status="declined") == [] and ids(overdue=True) == []
    street = lists.find_needs(session, actor=staff["west_social"], filters={"organisation_id": org_tree["west"].id}, now=NOW)
    assert [n.id for n in street] == [west.id]


def test_the_list_exports_as_csv_and_as_an_xlsx_that_opens(app, session, staff, place_need, make_person):
    place_need(colour="red", description="=HYPERLINK(\"http://x\")")
    place_need(colour="blue")
    coordinator = make_person("coordinator", name="刘协调")
    session.commit()
    client = signed_in(app, coordinator)
    answer = client.get("/needs/export.csv?colour=red")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) == 2 and rows[1][5].startswith("'=")  # a formula never runs
    book = load_workbook(io.BytesIO(client.get("/needs/export.xlsx").data))
    sheet = book.active
    assert sheet.max_row == 3 and isinstance(sheet.cell(row=2, column=1).value, int)
    assert {sheet.cell(row=r, column=4).value for r in (2, 3)} == {"李奶奶"}


def test_the_hourly_overdue_warning_tells_each_social_worker_once_per_need_and_deadline(app, session, staff, place_need):
    assert SPECS["needs.overdue"].schedule is not None
    need = place_need(colour="red", at=NOW - dt.timedelta(days=2))
    place_need(colour="blue")  # not due yet
    assert warn_overdue(session, now=NOW) == 1  # east's social worker (the street has none)
    assert warn_overdue(session, now=NOW + dt.timedelta(hours=1)) == 0
    # A new colour sets a new deadline: when that one passes, it is told again.
    triage.assess(session, need.id, {"category": "elderly", "difficulty": 1, "colour": "yellow"}, actor=staff["social"], now=NOW)
    session.commit()
    assert warn_overdue(session, now=NOW + dt.timedelta(days=10)) == 1
    session.commit()
    with app.app_context():
        assert overdue_needs() == 0
    count = session.scalar(select(func.count()).select_from(Notice).where(Notice.kind == "need_overdue"))
    assert count == 2
