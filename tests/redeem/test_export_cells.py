"""The redemption exports write an item name that looks like a formula as text."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from timebank.redeem import catalogue
from tests.conftest import NOW, SYSTEM, exported_workbook, signed_in
from tests.redeem.test_counter_pages import _confirm, _open_basket, clock, text  # noqa: F401 (the pages' clock)


def test_an_item_named_like_a_formula_is_text_in_the_redemption_exports(app, session, shop, make_person, fund):
    catalogue.update_item(session, shop.rice.id, {"name": "-2+3 大米"}, actor=SYSTEM, now=NOW)
    session.commit()
    volunteer = make_person(name="李建华")
    fund(volunteer, points=300)
    clerk = signed_in(app, shop.clerk)
    _confirm(clerk, shop, text(_open_basket(clerk, app, shop, volunteer)), (shop.rice, 1))
    coordinator = signed_in(app, make_person("coordinator"))
    exported = coordinator.get("/redemptions/export.csv?from=2026-11-01&to=2026-11-30")
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[1][4] == "'-2+3 大米" and rows[1][8] == "60"
    sheet = load_workbook(io.BytesIO(exported_workbook(coordinator, "/redemptions/export.xlsx", start="2026-11-01", end="2026-11-30"))).active
    name = next(sheet.iter_rows(min_row=2, max_row=2))[4]
    assert name.value == "-2+3 大米" and name.quotePrefix
