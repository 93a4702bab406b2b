"""The audit log API: admins read it newest first, by record, page by page."""

from __future__ import annotations

from timebank.audit.schemas import PER_PAGE
from timebank.audit.services import record
from tests.api.conftest import ZH
from tests.conftest import NOW


def test_an_admin_reads_the_log_newest_first_and_by_record(client, make_person, sign_in):
    person = make_person(name="王秀英")
    sign_in(make_person("admin", org="county"))
    answer = client.get("/api/v1/audit")
    assert answer.status_code == 200
    ids = [entry["id"] for entry in answer.json["items"]]
    assert ids == sorted(ids, reverse=True) and answer.json["next_before"] is None
    about = client.get(f"/api/v1/audit?target_type=person&target_id={person.id}").json["items"]
    assert [entry["action"] for entry in about] == ["approve", "register"]
    assert about[1]["changes"]["phone"] == person.phone
    assert all(entry["target_id"] == person.id for entry in about)


def test_the_log_pages_by_before(client, session, make_person, sign_in):
    admin = make_person("admin", org="county")
    for _ in range(PER_PAGE + 5):
        record(session, actor=admin.id, action="view_id_number", target=("person", admin.id), now=NOW)
    session.commit()
    sign_in(admin)
    first = client.get("/api/v1/audit").json
    assert len(first["items"]) == PER_PAGE and first["next_before"] == first["items"][-1]["id"]
    rest = client.get(f"/api/v1/audit?before={first['next_before']}").json
    assert rest["items"] and max(e["id"] for e in rest["items"]) < first["next_before"]


def test_a_half_named_record_or_a_bad_cursor_is_refused(client, make_person, sign_in):
    sign_in(make_person("admin", org="county"))
    answer = client.get("/api/v1/audit?target_type=person", headers=ZH)
    assert answer.status_code == 422
    assert answer.json["errors"] == {"target_id": ["请把记录的类型和编号一起填上。"]}
    answer = client.get("/api/v1/audit?before=abc", headers=ZH)
    assert answer.status_code == 422 and set(answer.json["errors"]) == {"before"}


def test_only_admins_read_the_log(client, make_person, sign_in):
    assert client.get("/api/v1/audit").status_code == 401
    sign_in(make_person("coordinator", org="county"))
    assert client.get("/api/v1/audit").status_code == 403
