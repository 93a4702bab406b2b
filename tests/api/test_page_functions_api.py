"""What the pages alone did before: the overdue list, one's statement a page at a time, and importing volunteers."""

from __future__ import annotations

import datetime as dt

from timebank.ledger import post, rules
from timebank.people.models import Person
from tests.api.conftest import ZH
from tests.conftest import ACTOR, NOW, attend, signed_in


def test_the_overdue_list_names_each_attendance_and_its_deadline_only_after_it_passed(app, session, make_activity, make_person, monkeypatch):
    activity = make_activity()
    attendance = attend(session, activity, make_person())
    coordinator = signed_in(app, make_person("coordinator"))
    monkeypatch.setattr("timebank.events.api.now", lambda: NOW + dt.timedelta(days=14))
    assert coordinator.get("/api/v1/attendances/overdue").json == []
    monkeypatch.setattr("timebank.events.api.now", lambda: NOW + dt.timedelta(days=15))
    late = coordinator.get("/api/v1/attendances/overdue").json
    assert [(row["attendance"]["id"], row["activity_title"], row["due"]) for row in late] == [(attendance.id, "敬老院探访", "2026-12-04")]
    assert signed_in(app, make_person("coordinator", org="west")).get("/api/v1/attendances/overdue").json == []
    assert signed_in(app, make_person("social_worker")).get("/api/v1/attendances/overdue").status_code == 403


def test_the_statement_comes_a_page_at_a_time_newest_first(app, session, make_person):
    volunteer = make_person()
    rules.open_system_accounts(session, now=NOW)
    rules.open_volunteer_accounts(session, volunteer.id, categories=("elderly",), now=NOW)
    for n in range(25):
        post(session, rules.service_credit_legs(volunteer.id, minutes=15, category="elderly", points=n + 1),
             kind="service_credit", idempotency_key=f"statement-{n}", actor=ACTOR, now=NOW, memo=f"第{n + 1}次")
    session.commit()
    client = signed_in(app, volunteer)
    first = client.get("/api/v1/me/statement?show=points").json
    assert [line["amount"] for line in first["lines"]][:3] == [25, 24, 23] and len(first["lines"]) == 20
    assert first["lines"][0]["balance_after"] == sum(range(1, 26)) and first["lines"][0]["memo"] == "第25次"
    older = client.get(f"/api/v1/me/statement?show=points&before={first['next_before']}").json
    assert [line["amount"] for line in older["lines"]] == [5, 4, 3, 2, 1] and older["next_before"] is None
    hours = client.get("/api/v1/me/statement").json
    assert hours["lines"][0]["amount"] == 15
    bad = client.get("/api/v1/me/statement?show=money", headers=ZH)
    assert bad.status_code == 422 and "show" in bad.json["errors"]


def test_volunteers_import_all_or_none_with_each_rows_problems(app, session, org_tree, make_person, count):
    coordinator = signed_in(app, make_person("coordinator"))
    good = "姓名,手机号,性别\n张秀英,13912345678,女\n李建华,13912345679,男\n"
    imported = coordinator.post("/api/v1/people/imports", json={"organisation_id": org_tree["east"].id, "csv": good})
    assert imported.status_code == 201, imported.json
    assert imported.json == {"rows_read": 2, "imported": 2}
    assert count(Person, Person.phone.in_(["13912345678", "13912345679"]), Person.status == "active") == 2

    bad = "姓名,手机号\n王芳,13912345680\n,12345\n"
    refused = coordinator.post("/api/v1/people/imports", json={"organisation_id": org_tree["east"].id, "csv": bad}, headers=ZH)
    assert (refused.status_code, refused.json["code"]) == (422, "import_refused")
    assert refused.json["message"].startswith("没有导入任何人")
    assert list(refused.json["errors"]) == ["row 3"]
    assert count(Person, Person.phone == "13912345680") == 0
    outside = signed_in(app, make_person("coordinator", org="west"))
    assert outside.post("/api/v1/people/imports", json={"organisation_id": org_tree["east"].id, "csv": good}).status_code == 404
