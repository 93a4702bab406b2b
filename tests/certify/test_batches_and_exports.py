"""Printed summaries for everyone: the batch PDF from the command line and from the web (in the background), and the exports."""

from __future__ import annotations

import csv
import datetime as dt
import io

from openpyxl import load_workbook

from timebank.audit.services import entries
from timebank.certify import batch as batch_module
from timebank.certify.models import CertificateBatch
from tests.certify.pdfs import page_count, pdf_text, qr_on_page
from timebank.people.access import actor_for
from tests.conftest import NOW, RESIDENT_ID, send, signed_in, text

PERIOD = {"start": "2026-01-01", "end": "2026-11-20"}


def _people(make_person, serve):
    first = make_person(name="张一", id_type="resident_id", id_number=RESIDENT_ID)
    second = make_person(name="李二")
    serve(first, minutes=120)
    serve(second, minutes=45, category="children")
    return first, second


def test_the_command_line_writes_every_volunteers_certificate_into_one_pdf(db, run_cli, make_person, serve, org_tree, tmp_path):
    first, second = _people(make_person, serve)
    coordinator = make_person("coordinator")
    output = tmp_path / "east.pdf"
    result = run_cli("certify", "batch", "--organisation", str(org_tree["east"].id), "--from", PERIOD["start"], "--to", PERIOD["end"],
                     "--actor", str(coordinator.id), "--output", str(output), "--base-url", "https://tb.example.org")
    assert result.exit_code == 0, result.output
    with db.session(write=False) as reader:
        members = reader.execute(__import__("sqlalchemy").text("SELECT count(*) FROM certificates")).scalar()
    data = output.read_bytes()
    words = pdf_text(data)
    assert page_count(data) == members >= 4 and f"wrote {members} certificates" in result.output
    assert "张一" in words and "李二" in words and "1101*************9" in words and RESIDENT_ID not in words
    assert "2 小时" in words and "0.75 小时" in words
    assert qr_on_page(data, page=0).startswith("https://tb.example.org/certify/verify/")
    assert not list(tmp_path.glob(".*partial"))


def test_the_command_line_refuses_someone_who_does_not_run_the_organisation(run_cli, make_person, org_tree, tmp_path):
    outsider = make_person("coordinator", org="west")
    result = run_cli("certify", "batch", "--organisation", str(org_tree["east"].id), "--from", "2026-01-01", "--to", "2026-11-20",
                     "--actor", str(outsider.id), "--output", str(tmp_path / "x.pdf"))
    assert result.exit_code == 1 and "may not issue" in result.output and not (tmp_path / "x.pdf").exists()


def test_the_web_batch_runs_in_the_background_and_its_pdf_downloads(app, make_person, serve, org_tree):
    _people(make_person, serve)
    coordinator = signed_in(app, make_person("coordinator"))
    started = send(coordinator, "/certify/batches", organisation_id=org_tree["east"].id, **PERIOD)
    assert started.status_code == 302, text(started)[:500]
    page = text(coordinator.get(started.location))
    assert 'data-status="done"' in page and 'id="download"' in page
    state = coordinator.get(started.location + ".json").get_json()
    assert state["status"] == "done" and state["done"] == state["total"] >= 4
    pdf = coordinator.get(state["download"])
    data = pdf.data
    pdf.close()
    assert pdf.status_code == 200 and "张一" in pdf_text(data) and page_count(data) == state["total"]
    outsider = signed_in(app, make_person("coordinator", org="west"))
    assert outsider.get(state["download"]).status_code == 404


def test_a_failing_batch_reports_its_failure_and_offers_no_file(app, db, make_person, serve, org_tree, monkeypatch):
    _people(make_person, serve)

    def broken(*_args, **_kwargs):
        raise RuntimeError("the printer's font is missing")

    monkeypatch.setattr("timebank.certify.batch.draw_service_record", broken)
    coordinator = signed_in(app, make_person("coordinator"))
    started = send(coordinator, "/certify/batches", organisation_id=org_tree["east"].id, **PERIOD)
    state = coordinator.get(started.location + ".json").get_json()
    assert state["status"] == "failed" and state["error"] == "RuntimeError" and state["download"] is None
    assert 'data-status="failed"' in text(coordinator.get(started.location))
    with db.session(write=False) as reader:
        batch = reader.query(CertificateBatch).one()
        assert batch.finished_at is not None and batch.filename is None
    assert coordinator.get(started.location + "/download").status_code == 404


def test_a_batch_for_a_backwards_period_is_refused_with_a_message(app, make_person, org_tree):
    coordinator = signed_in(app, make_person("coordinator"))
    answer = send(coordinator, "/certify/batches", organisation_id=org_tree["east"].id, start="2026-11-20", end="2026-01-01")
    assert answer.status_code == 422 and "problem" in text(answer)


def test_exports_carry_the_national_record_fields_with_masked_id_numbers(app, make_person, serve, org_tree, run_cli, tmp_path):
    _people(make_person, serve)
    coordinator_person = make_person("coordinator")
    coordinator = signed_in(app, coordinator_person)
    query = f"organisation_id={org_tree['east'].id}&start={PERIOD['start']}&end={PERIOD['end']}"
    answer = coordinator.get(f"/certify/export.csv?{query}")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:6] == ["志愿者编号", "姓名", "性别", "出生日期", "证件类型", "证件号码（脱敏）"]
    by_name = {row[1]: row for row in rows[1:]}
    assert by_name["张一"][5] == "1101*************9" and by_name["张一"][4] == "居民身份证"
    assert by_name["张一"][15] == "2" and by_name["李二"][10] == "儿童关爱" and by_name["李二"][15] == "0.75"
    assert RESIDENT_ID not in answer.get_data(as_text=True)

    asked = send(coordinator, "/certify/export.xlsx", organisation_id=org_tree["east"].id, **PERIOD)
    assert asked.status_code == 302 and "/exports/" in asked.location
    xlsx = coordinator.get(coordinator.get(asked.location + ".json").get_json()["download"])
    data = xlsx.data
    xlsx.close()
    sheet = load_workbook(io.BytesIO(data), read_only=True).active
    assert [[cell or "" for cell in r] for r in sheet.iter_rows(values_only=True)] == rows  # empty cells read back as None
    assert coordinator.get("/certify/export.csv?start=x").status_code == 422
    assert signed_in(app, make_person("coordinator", org="west")).get(f"/certify/export.csv?{query}").status_code == 404

    output = tmp_path / "records.csv"
    result = run_cli("certify", "export", "--organisation", str(org_tree["east"].id), "--from", PERIOD["start"], "--to", PERIOD["end"],
                     "--actor", str(coordinator_person.id), "--output", str(output))
    assert result.exit_code == 0, result.output
    assert list(csv.reader(io.StringIO(output.read_text(encoding="utf-8").lstrip("\ufeff")))) == rows


def test_an_export_with_whole_id_numbers_is_audited_before_its_first_row(app, session, make_person, serve, org_tree, run_cli, tmp_path):
    _people(make_person, serve)
    coordinator_person = make_person("coordinator")
    coordinator = signed_in(app, coordinator_person)
    form = {"organisation_id": str(org_tree["east"].id), "start": PERIOD["start"], "end": PERIOD["end"], "format": "csv"}
    answer = send(coordinator, "/certify/export-full", **form)
    assert answer.status_code == 200
    rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][5] == "证件号码"
    assert {row[1]: row[5] for row in rows[1:]}["张一"] == RESIDENT_ID
    logged = [e.action for e in entries(session, target=("organisation", org_tree["east"].id))]
    assert logged.count("export_id_numbers") == 1
    session.commit()  # end the read, so SQLite's write lock is free for the requests
    outsider = signed_in(app, make_person("coordinator", org="west"))
    assert send(outsider, "/certify/export-full", **form).status_code == 404
    assert send(coordinator, "/certify/export-full", organisation_id=str(org_tree["east"].id), start="x").status_code == 422

    output = tmp_path / "records-full.xlsx"
    result = run_cli("certify", "export", "--organisation", str(org_tree["east"].id), "--from", PERIOD["start"], "--to", PERIOD["end"],
                     "--actor", str(coordinator_person.id), "--format", "xlsx", "--full-ids", "--output", str(output))
    assert result.exit_code == 0, result.output
    book = load_workbook(output, read_only=True)
    assert RESIDENT_ID in [row[5] for row in book.active.iter_rows(values_only=True)]
    book.close()  # a read-only workbook keeps its file open until closed
    session.expire_all()
    assert [e.action for e in entries(session, target=("organisation", org_tree["east"].id))].count("export_id_numbers") == 2


def test_a_batch_draws_its_pages_outside_any_transaction_so_writers_get_in_between_chunks(session, make_person, serve, org_tree, monkeypatch):
    _people(make_person, serve)
    coordinator = actor_for(session, make_person("coordinator"))
    drawn_inside = []
    real_chunk_pdf = batch_module.chunk_pdf

    def watched(draw, arguments, **kwargs):
        drawn_inside.extend(session.in_transaction() for _ in arguments)
        return real_chunk_pdf(draw, arguments, **kwargs)

    monkeypatch.setattr(batch_module, "chunk_pdf", watched)
    out = io.BytesIO()
    counts = []
    for done in batch_module.batch_certificates(session, org_tree["east"], dt.date(2026, 1, 1), dt.date(2026, 11, 20), out,
                                                verify_url=lambda key: f"https://tb.example.org/certify/verify/{key}", actor=coordinator, now=NOW):
        session.commit()
        counts.append(done)
    assert drawn_inside and not any(drawn_inside)
    assert counts[-1] == len(drawn_inside) and page_count(out.getvalue()) == len(drawn_inside)


def test_a_batch_whose_worker_died_is_shown_as_stopped_and_can_be_started_again(app, session, make_person, org_tree):
    coordinator_person = make_person("coordinator")
    long_ago = dt.datetime.now(dt.timezone.utc) - batch_module.STALLED_AFTER - dt.timedelta(minutes=1)
    dead = CertificateBatch(organisation_id=org_tree["east"].id, period_start=dt.date(2026, 1, 1), period_end=dt.date(2026, 11, 20),
                            requested_by=coordinator_person.id, requested_at=long_ago, status="running", total=40, done=10, progressed_at=long_ago)
    session.add(dead)
    session.commit()
    coordinator = signed_in(app, coordinator_person)
    assert coordinator.get(f"/certify/batches/{dead.id}.json").get_json()["status"] == "stalled"
    page = text(coordinator.get(f"/certify/batches/{dead.id}"))
    assert "未完成就停止了（10 / 40）" in page and "重新开始批量生成" in page and 'http-equiv="refresh"' not in page
    again = send(coordinator, "/certify/batches", organisation_id=org_tree["east"].id, start="2026-01-01", end="2026-11-20")
    assert again.status_code == 302
    assert coordinator.get(again.location + ".json").get_json()["status"] == "done"
