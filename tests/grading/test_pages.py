"""The grading pages and API through the HTTP client: my grade, overrides, follow-ups, supervision, the index and its exports."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from sqlalchemy import select

from tests.conftest import NOW, exported_workbook, send, signed_in, text
from timebank.audit.models import AuditEntry
from timebank.grading import index, services
from timebank.grading.models import FollowUp, Grade


@pytest.fixture
def graded(session, records):
    """A yellow volunteer (no service for 100 days) and a green one, graded and committed."""
    yellow, green = records.veteran("黄志愿者"), records.veteran("绿志愿者")
    records.service(yellow, 100)
    for days in (1, 2, 3):
        records.service(green, days)
    services.grade_volunteers(session, now=NOW)
    session.commit()
    return yellow, green


def test_a_volunteer_sees_their_colour_kindly_and_the_next_step(app, graded):
    yellow, _green = graded
    page = text(signed_in(app, yellow).get("/grading/me"))
    assert "黄色" in page and "好久不见" in page
    assert "再参加 1 次服务即可升为蓝色" in page
    answer = signed_in(app, yellow).get("/api/v1/me/grade").get_json()
    assert (answer["grade"]["colour"], answer["next_step"]) == ("yellow", "再参加 1 次服务即可升为蓝色。")


def test_a_volunteer_sees_their_own_history_but_not_anothers(app, graded):
    yellow, green = graded
    client = signed_in(app, yellow)
    assert client.get(f"/api/v1/people/{yellow.id}/grades").get_json()[0]["figures"]["idle_days"] == 100
    assert client.get(f"/api/v1/people/{green.id}/grades").status_code == 403


def test_a_coordinator_overrides_on_the_page_and_it_shows_as_such(app, session, graded, make_person):
    yellow, _green = graded
    coordinator = make_person("coordinator", name="协调员")
    client = signed_in(app, coordinator)
    answer = send(client, f"/grading/volunteers/{yellow.id}/override", colour="blue", reason="家中有事，已沟通")
    assert answer.status_code == 302
    page = text(client.get(f"/grading/volunteers/{yellow.id}"))
    assert "协调员调整；系统计算为黄色" in page and "家中有事，已沟通" in page
    refused = send(client, f"/grading/volunteers/{yellow.id}/override", colour="purple", reason="")
    assert refused.status_code == 422 and "请选择颜色" in text(refused)
    assert session.scalar(select(AuditEntry.id).where(AuditEntry.action == "override_grade")) is not None


def test_a_social_worker_calls_back_from_the_follow_up_list(app, session, graded, make_person):
    yellow, green = graded
    worker = make_person("social_worker", name="社工")
    client = signed_in(app, worker)
    page = text(client.get("/grading/follow-ups"))
    assert "黄志愿者" in page and "绿志愿者" not in page
    answer = send(client, f"/grading/volunteers/{yellow.id}/follow-ups", method="phone", outcome="will_return", notes="下周回来")
    assert answer.status_code == 302
    assert session.scalar(select(FollowUp.notes)) == "下周回来"
    assert "没有待回访的志愿者" in text(client.get("/grading/follow-ups"))
    assert client.get("/api/v1/follow-ups").get_json() == []


def test_the_api_records_a_follow_up_and_runs_grading(app, graded, make_person, org_tree):
    yellow, _green = graded
    worker = signed_in(app, make_person("social_worker", name="社工"))
    made = worker.post(f"/api/v1/people/{yellow.id}/follow-ups", json={"method": "visit", "outcome": "reached"})
    assert made.status_code == 201 and made.get_json()["outcome"] == "reached"
    coordinator = signed_in(app, make_person("coordinator", name="协调员"))
    counts = coordinator.post("/api/v1/grading-runs", json={"organisation_id": org_tree["east"].id}).get_json()
    assert counts == {"green": 1, "blue": 0, "yellow": 1, "red": 0}
    assert coordinator.post("/api/v1/grading-runs", json={"organisation_id": org_tree["west"].id}).status_code == 404
    assert worker.post("/api/v1/grading-runs", json={"organisation_id": org_tree["east"].id}).status_code == 403


def test_the_coordinators_grade_page_counts_and_grades_now(app, graded, make_person, org_tree):
    client = signed_in(app, make_person("coordinator", name="协调员"))
    page = text(client.get("/grading/"))
    assert "东城社区" in page and "东城助老服务队" in page
    answer = send(client, "/grading/run", organisation_id=org_tree["east"].id)
    assert answer.status_code == 302
    assert "已重新分级：绿色 1、蓝色 0、黄色 1、红色 0" in text(client.get(answer.location))


def test_a_supervision_session_recorded_on_the_page_is_training_on_the_volunteers_record(app, session, make_person):
    worker, volunteer = make_person("social_worker", name="李社工"), make_person(name="张三")
    client = signed_in(app, worker)
    answer = client.post("/grading/supervision", data={
        "held_at": "2026-11-19T14:00", "minutes": "90", "topic": "入户探访的边界", "notes": "案例讨论",
        "volunteer_ids": [str(volunteer.id)], "csrf_token": _token(client),
    })
    assert answer.status_code == 302, text(answer)[:300]
    assert "入户探访的边界" in text(client.get("/grading/supervision"))
    certification = signed_in(app, volunteer).get("/api/v1/me/certification").get_json()
    assert certification["training_minutes"] == 90
    listed = client.get("/api/v1/supervision-sessions").get_json()
    assert listed[0]["volunteer_ids"] == [volunteer.id]
    assert client.get(f"/api/v1/supervision-sessions/{listed[0]['id']}").get_json()["topic"] == "入户探访的边界"


def _token(client):
    from tests.conftest import csrf_token
    return csrf_token(client)


def test_a_social_worker_sees_their_index_with_a_trend_and_what_to_improve(app, session, make_person):
    worker = make_person("social_worker", name="李社工")
    for month in (dt.date(2026, 10, 1), dt.date(2026, 11, 1)):
        index.monthly_index(session, worker.id, month, now=NOW)
    session.commit()
    page = text(signed_in(app, worker).get("/grading/index"))
    assert "<svg" in page and "polyline" in page and 'id="trend-table"' in page
    assert "再开展 2 次督导即可达到本月目标" in page
    assert "本月无数据，未计入" in page
    other = make_person("social_worker", name="赵社工")
    assert signed_in(app, other).get(f"/grading/index/{worker.id}").status_code == 404
    history = signed_in(app, worker).get(f"/api/v1/social-workers/{worker.id}/index?months=1").get_json()
    assert [h["month"] for h in history] == ["2026-11-01"]
    assert {i["name"] for i in history[0]["indicators"]} >= {"approvals", "supervision"}


def test_a_coordinator_compares_social_workers_and_exports_csv_and_xlsx(app, session, make_person):
    worker = make_person("social_worker", name="李社工")
    index.monthly_index(session, worker.id, dt.date(2026, 11, 1), now=NOW)
    session.commit()
    client = signed_in(app, make_person("coordinator", org="street", name="街道协调员"))
    page = text(client.get("/grading/index/team"))
    assert "李社工" in page and "2026-11" in page
    csv = text(client.get("/grading/index/export.csv?start=2026-06-01&end=2026-11-30"))
    assert csv.splitlines()[0].lstrip("\ufeff").startswith("社工,组织,月份,督导指数")
    assert "李社工,东城社区,2026-11," in csv
    workbook = openpyxl.load_workbook(io.BytesIO(exported_workbook(client, "/grading/index/export.xlsx", start="2026-06-01", end="2026-11-30")))
    rows = list(workbook.active.iter_rows(values_only=True))
    assert rows[0][:4] == ("社工", "组织", "月份", "督导指数")
    assert rows[1][0] == "李社工" and rows[1][2] == "2026-11"
    side = client.get("/api/v1/supervision-index?month=2026-11-01").get_json()
    assert [(r["name"], r["index"]["month"]) for r in side] == [("李社工", "2026-11-01")]


def test_grades_survive_as_rows_of_the_table_the_dispatch_reads(session, graded):
    yellow, _green = graded
    assert session.scalar(select(Grade.colour).where(Grade.subject_id == yellow.id)) == "yellow"


def test_my_grade_shows_the_colours_before(app, session, records, graded):
    yellow, _green = graded
    records.service(yellow, 0.5)
    services.grade_volunteers(session, now=NOW + dt.timedelta(days=1))
    session.commit()
    page = text(signed_in(app, yellow).get("/grading/me"))
    assert 'id="earlier-grades"' in page and "自 2026-11-20 起" in page and "蓝色" in page
