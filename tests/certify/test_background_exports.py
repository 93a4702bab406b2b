"""Long exports are written by the job queue into the instance folder: their page shows progress, then a download for whoever asked."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import os
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import select

from timebank.db import utcnow
from timebank.exports import services
from timebank.exports.models import Export
from timebank.exports.tasks import prune_exports
from timebank.jobs import SPECS
from tests.conftest import RESIDENT_ID, send, signed_in, text

PERIOD = {"start": "2026-01-01", "end": "2026-11-20"}


def _served(make_person, serve):
    first = make_person(name="张一", id_type="resident_id", id_number=RESIDENT_ID)
    serve(first, minutes=120)
    serve(make_person(name="李二"), minutes=45, category="children")


def _sheet(data: bytes) -> list[list]:
    book = load_workbook(io.BytesIO(data), read_only=True)
    rows = [list(row) for row in book.active.iter_rows(values_only=True)]
    book.close()
    return rows


def _downloaded(client, url: str) -> bytes:
    answer = client.get(url)
    data = answer.data
    answer.close()
    assert answer.status_code == 200
    return data


def test_an_excel_export_is_written_in_the_background_and_only_its_requester_downloads_it(app, make_person, serve, org_tree):
    _served(make_person, serve)
    asker = make_person("coordinator")
    coordinator = signed_in(app, asker)

    asked = send(coordinator, "/certify/export.xlsx", organisation_id=org_tree["east"].id, **PERIOD)

    assert asked.status_code == 302
    page = text(coordinator.get(asked.location))
    assert 'data-status="done"' in page and 'id="download"' in page
    state = coordinator.get(asked.location + ".json").get_json()
    assert state["status"] == "done" and state["rows"] >= 2 and state["error"] is None
    answer = coordinator.get(state["download"])
    data = answer.data
    answer.close()
    rows = _sheet(data)
    assert answer.status_code == 200 and "service-records-" in answer.headers["Content-Disposition"]
    assert rows[0][5] == "证件号码（脱敏）" and {row[1] for row in rows[1:]} == {"张一", "李二"} and len(rows) - 1 == state["rows"]
    assert not any(RESIDENT_ID in str(cell) for row in rows for cell in row)
    files = list((Path(app.instance_path) / "exports").iterdir())
    assert len(files) == 1 and files[0].suffix == ".xlsx"  # no half-written file left beside it
    # Another coordinator of the same organisation did not ask for it: for them it does not exist.
    colleague = signed_in(app, make_person("coordinator"))
    assert colleague.get(asked.location).status_code == 404 and colleague.get(state["download"]).status_code == 404


def test_an_export_outside_ones_organisation_or_with_a_backwards_period_is_refused_before_anything_is_queued(app, session, make_person, org_tree):
    outsider = signed_in(app, make_person("coordinator", org="west"))
    refused = send(outsider, "/certify/export.xlsx", organisation_id=org_tree["east"].id, **PERIOD)
    backwards = send(outsider, "/certify/export.xlsx", organisation_id=org_tree["west"].id, start="2026-11-20", end="2026-01-01")
    assert refused.status_code == 404
    assert backwards.status_code == 422 and "problem" in text(backwards)
    assert session.scalars(select(Export)).all() == []


def test_a_failed_export_shows_its_error_offers_no_file_and_runs_again_on_request(app, db, make_person, serve, org_tree, monkeypatch):
    _served(make_person, serve)
    broken = {"on": True}
    real = services.write_xlsx

    def flaky(lines, out, **kwargs):
        if broken["on"]:
            raise RuntimeError("disk full")
        return real(lines, out, **kwargs)

    monkeypatch.setattr(services, "write_xlsx", flaky)
    coordinator = signed_in(app, make_person("coordinator"))
    asked = send(coordinator, "/redemptions/export.xlsx", **PERIOD)
    state = coordinator.get(asked.location + ".json").get_json()
    assert state["status"] == "failed" and state["error"] == "RuntimeError" and state["download"] is None
    page = text(coordinator.get(asked.location))
    assert 'data-status="failed"' in page and "/retry" in page
    assert coordinator.get(asked.location + "/download").status_code == 404
    assert not list((Path(app.instance_path) / "exports").iterdir())  # the partial file is gone

    broken["on"] = False
    again = send(coordinator, asked.location + "/retry")

    assert again.status_code == 302
    state = coordinator.get(asked.location + ".json").get_json()
    assert state["status"] == "done" and state["error"] is None and _sheet(_downloaded(coordinator, state["download"]))[0][0] == "兑换单号"
    assert send(coordinator, asked.location + "/retry").status_code == 409  # a finished export is not asked for again


def test_the_api_answers_202_with_a_status_address_then_the_download(app, make_person, serve, org_tree):
    _served(make_person, serve)
    client = signed_in(app, make_person("coordinator"))  # the API takes the same sign-in

    answer = client.post("/api/v1/exports", json={"kind": "service_records", "organisation_id": org_tree["east"].id, **PERIOD})

    assert answer.status_code == 202, answer.get_json()
    body = answer.get_json()
    assert answer.headers["Location"] == body["status_url"] == f"/api/v1/exports/{body['id']}"
    state = client.get(body["status_url"]).get_json()
    assert state["status"] == "done" and state["download"] == f"/api/v1/exports/{body['id']}/download"
    workbook = client.get(state["download"])
    assert workbook.status_code == 200 and workbook.mimetype == services.XLSX and _sheet(workbook.data)[0][1] == "姓名"
    workbook.close()
    unknown = client.post("/api/v1/exports", json={"kind": "everything", **PERIOD})
    assert unknown.status_code == 422 and "kind" in unknown.get_json()["errors"]
    assert client.post("/api/v1/exports", json={"kind": "service_records", **PERIOD}).status_code == 422  # which organisation?


def test_exports_are_pruned_with_their_files_a_day_after_they_were_asked_for_and_so_are_stray_files(app, session, make_person, serve, org_tree):
    _served(make_person, serve)
    coordinator = signed_in(app, make_person("coordinator"))
    old = send(coordinator, "/redemptions/export.xlsx", **PERIOD).location
    recent = send(coordinator, "/redemptions/export.xlsx", **PERIOD).location
    old_id = int(old.rsplit("/", 1)[1])
    session.get(Export, old_id).requested_at = utcnow() - services.KEEP - dt.timedelta(minutes=1)
    session.commit()
    folder = Path(app.instance_path) / "exports"
    leftover, unnamed = folder / ".export-99-dead.xlsx.partial", folder / "export-98-unnamed.xlsx"  # a killed worker's, a second run's
    past = (utcnow() - services.KEEP - dt.timedelta(hours=1)).timestamp()
    for stray in (leftover, unnamed):
        stray.write_bytes(b"old")
        os.utime(stray, (past, past))
    assert len(list(folder.glob("export-*.xlsx"))) == 3 and SPECS["exports.prune"].schedule is not None

    with app.app_context():
        assert prune_exports() == 1

    session.commit()
    assert [export.id for export in session.scalars(select(Export))] == [int(recent.rsplit("/", 1)[1])]
    assert len(list(folder.glob("*.xlsx"))) == 1 and not leftover.exists() and not unnamed.exists()
    assert coordinator.get(old).status_code == 404 and coordinator.get(recent).status_code == 200


def test_an_export_writes_its_progress_while_it_streams_from_a_reading_session(app, db, make_person, monkeypatch):
    coordinator = make_person("coordinator")
    seen: list[tuple[str, int]] = []

    def rows(session, values, actor):
        yield ("编号",)
        for number in range(1, 6):
            with db.session(write=False) as other:  # what the export's page would show now
                found = other.scalars(select(Export)).one()
                seen.append((found.status, found.rows))
            yield (number,)

    monkeypatch.setitem(services.KINDS, "redemptions", dataclasses.replace(services.KINDS["redemptions"], rows=rows))
    monkeypatch.setattr(services, "PROGRESS_EVERY", 2)
    client = signed_in(app, coordinator)

    asked = send(client, "/redemptions/export.xlsx", **PERIOD)

    assert seen == [("running", 0), ("running", 0), ("running", 2), ("running", 2), ("running", 4)]  # every second row
    assert client.get(asked.location + ".json").get_json()["rows"] == 5
    assert _sheet(_downloaded(client, client.get(asked.location + ".json").get_json()["download"])) == [["编号"], [1], [2], [3], [4], [5]]
