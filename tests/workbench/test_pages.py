"""Workbench pages through HTTP: where each role lands, what each section shows, the report, the API, the menu."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from tests.conftest import NOW, csrf_token, signed_in, text


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    """The pages' `now` is the programme's NOW."""
    monkeypatch.setattr("timebank.auth.login.utcnow", lambda: NOW)


def landing(app, person) -> str:
    client = app.test_client()
    answer = client.post("/sign-in", data={"phone": person.phone, "password": "correct horse 7", "csrf_token": csrf_token(client)})
    assert answer.status_code == 302
    return answer.location


def test_each_role_lands_on_its_own_workbench_after_signing_in(app, programme_world, make_person):
    people = programme_world["people"]
    station = programme_world["station"]
    clerk = make_person("station_staff", station_id=station.id, name="赵店员")
    for who in ("a", "social_worker", "coordinator", "admin"):
        assert landing(app, people[who]) == "/workbench", who
    assert landing(app, clerk) == f"/stations/{station.id}/counter"
    # A page asked for before signing in still comes first.
    client = app.test_client()
    answer = client.post("/sign-in", data={"phone": people["a"].phone, "password": "correct horse 7", "next": "/me/balances",
                                           "csrf_token": csrf_token(client)})
    assert answer.location == "/me/balances"


def test_station_staff_opening_the_workbench_go_to_their_counter(app, programme_world, make_person):
    station = programme_world["station"]
    clerk = make_person("station_staff", station_id=station.id, name="赵店员")
    answer = signed_in(app, clerk).get("/workbench")
    assert answer.status_code == 302 and answer.location == f"/stations/{station.id}/counter"


def test_a_volunteer_sees_their_balances_and_grade_but_no_staff_section(app, programme_world):
    page = text(signed_in(app, programme_world["people"]["a"]).get("/workbench"))
    assert 'id="bench-volunteer"' in page and "40" in page and "绿色" in page
    for staff in ("bench-todo", "bench-programme", "bench-system"):
        assert staff not in page


def test_a_social_worker_sees_what_waits_and_their_index(app, programme_world):
    page = text(signed_in(app, programme_world["people"]["social_worker"]).get("/workbench"))
    figures = dict(re.findall(r'id="todo-([a-z-]+)">.*?<span class="value">([\d,]+)</span>', page, re.S))
    assert figures["approve"] == "1" and figures["overdue-reviews"] == "1"
    assert figures["triage"] == "1" and figures["overdue-needs"] == "1" and figures["flagged"] == "1"
    assert 'id="supervision-index"' in page and "87" in page
    assert "bench-programme" not in page


def test_the_coordinators_workbench_draws_each_chart_with_its_table(app, programme_world):
    page = text(signed_in(app, programme_world["people"]["coordinator"]).get("/workbench"))
    assert 'id="bench-todo"' in page and 'id="bench-programme"' in page
    for key in ("hours", "new", "needs", "response", "grades", "redemptions"):
        chart = re.search(rf'<figure class="chart-box" id="chart-{key}">(.*?)</figure>', page, re.S).group(1)
        assert f'role="img" aria-labelledby="{key}-title {key}-desc"' in chart and f'<title id="{key}-title">' in chart
        assert "<details>" in chart and "<table>" in chart
    assert '<span class="value" id="points-outstanding">65</span>' in page
    assert re.findall(r'<script src="([^"]+)"', page) == ["/static/menu.js"]  # the charts are drawn on the server: only the menu's script


def test_the_filters_narrow_the_figures_and_stop_at_the_coordinators_reach(app, programme_world, org_tree):
    street = signed_in(app, programme_world["people"]["street_coordinator"])
    west = text(street.get(f"/workbench?organisation_id={org_tree['west'].id}"))
    assert '<span class="value" id="points-outstanding">1,000</span>' in west
    east_only = signed_in(app, programme_world["people"]["coordinator"])
    assert east_only.get(f"/workbench?organisation_id={org_tree['west'].id}").status_code == 404
    assert east_only.get(f"/api/v1/workbench/programme?organisation_id={org_tree['west'].id}").status_code == 404
    assert east_only.get("/workbench/report.pdf?organisation_id=%d" % org_tree["west"].id).status_code == 404
    refused = east_only.get("/workbench?start=2026-11-01&end=2026-10-01")
    assert refused.status_code == 200 and 'role="alert"' in text(refused)


def test_the_programme_api_gives_the_figures_with_the_same_filters(app, programme_world, org_tree):
    client = signed_in(app, programme_world["people"]["coordinator"])
    body = client.get("/api/v1/workbench/programme?start=2026-10-01&end=2026-11-30").get_json()
    assert body["hours_by_month"] == [{"month": "2026-10", "minutes": {"elderly": 210}},
                                      {"month": "2026-11", "minutes": {"elderly": 120, "civility": 60}}]
    assert body["points_outstanding"] == 65 and body["grades"]["red"] == 1
    assert {r["colour"]: r["median_hours"] for r in body["response_times"]}["red"] == 3.0
    bad = client.get("/api/v1/workbench/programme?start=2026-11-01&end=2026-10-01")
    assert bad.status_code == 422 and bad.get_json()["errors"]["end"]
    social = signed_in(app, programme_world["people"]["social_worker"])
    assert social.get("/api/v1/workbench/programme").status_code == 403


def test_the_workbench_api_gives_each_role_its_sections(app, programme_world):
    mine = signed_in(app, programme_world["people"]["a"]).get("/api/v1/workbench").get_json()
    assert mine["sections"] == ["volunteer"] and mine["volunteer"]["balances"]["points"] == 40 and mine["volunteer"]["grade"] == "green"
    assert "coordinator" not in mine
    admin = signed_in(app, programme_world["people"]["admin"]).get("/api/v1/workbench").get_json()
    assert admin["sections"] == ["admin", "volunteer"] and admin["admin"]["healthy"] is True
    assert admin["coordinator"]["points_outstanding"] == 65 + 1000
    worker = signed_in(app, programme_world["people"]["social_worker"]).get("/api/v1/workbench").get_json()
    assert worker["social_worker"]["undecided"] == 1 and worker["social_worker"]["index_score"] == 87


def test_the_monthly_report_prints_chinese_on_pdf_pages_and_fills_a_workbook(app, programme_world):
    client = signed_in(app, programme_world["people"]["coordinator"])
    pdf = client.get("/workbench/report.pdf?month=2026-11")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert "attachment" in pdf.headers["Content-Disposition"]
    reader = PdfReader(io.BytesIO(pdf.data))
    words = "".join(page.extract_text() for page in reader.pages)
    assert len(reader.pages) >= 1
    assert "志愿服务月报" in words and "东城社区" not in words[:0] and "助老服务" in words and "2026年11月" in words
    assert "未兑换积分" in words and "65" in words
    book = client.get("/workbench/report.xlsx?month=2026-11&organisation_id=%d" % programme_world["activities"][0].organisation_id)
    assert book.status_code == 200
    sheets = load_workbook(io.BytesIO(book.data)).worksheets
    headline = {row[0]: row[1] for row in sheets[0].iter_rows(values_only=True) if row and len(row) > 1}
    assert headline["审核通过的服务时长（小时）"] == "3" and headline["参与服务的志愿者（人）"] == 1 and headline["未兑换积分（积分负债）"] == 65
    assert client.get("/workbench/report.pdf?month=2026-13").status_code == 422
    assert signed_in(app, programme_world["people"]["a"]).get("/workbench/report.pdf").status_code == 403
