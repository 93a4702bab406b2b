"""The needs API: recording signed out, JSON errors, who may read and change what, residents, resources and projects."""

from __future__ import annotations

import pytest

from timebank.app import create_app
from timebank.needs.models import Resident
from tests.conftest import NOW, signed_in
from tests.needs.needs_fixtures import place_need, staff  # noqa: F401  (fixtures)

ASK = {"description": "家里灯坏了，够不着", "contact_phone": "13700000077", "privacy_consent": True}


def _error(answer, status: int) -> dict:
    body = answer.get_json()
    assert answer.status_code == status and set(body) == {"code", "status", "message", "errors"}, (answer.status_code, body)
    return body


def test_a_signed_out_resident_records_a_need_and_the_answer_hides_the_address(client, session, org_tree):
    answer = client.post("/api/v1/needs", json={**ASK, "organisation_id": org_tree["east"].id, "address": "人民路3号"})
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert (body["status"], body["colour"], body["channel"], body["address"], body["overdue"]) == ("recorded", "blue", "online", None, False)
    assert body["status_text"] and body["due_at"]


def test_bad_input_gives_the_json_error_shape(client, org_tree):
    body = _error(client.post("/api/v1/needs", json={"contact_phone": "123", "organisation_id": org_tree["east"].id}), 422)
    assert {"description", "contact_phone"} <= set(body["errors"])
    body = _error(client.post("/api/v1/needs", json={**ASK, "privacy_consent": False, "organisation_id": org_tree["east"].id}), 422)
    assert "privacy_consent" in body["errors"]
    _error(client.post("/api/v1/needs", json={**ASK, "organisation_id": org_tree["street"].id}), 422)
    _error(client.post("/api/v1/needs", data="x", content_type="text/plain"), 415)


def test_staff_read_and_decide_through_the_api_and_others_are_refused(app, session, org_tree, make_person, place_need):
    need = place_need(colour="red")
    social, west, volunteer = make_person("social_worker"), make_person("coordinator", org="west"), make_person()
    session.commit()
    staff_client = signed_in(app, social)
    listed = staff_client.get("/api/v1/needs?colour=red").get_json()
    assert [n["id"] for n in listed] == [need.id] and listed[0]["overdue"] is False
    assert staff_client.get(f"/api/v1/needs/{need.id}").get_json()["contact_phone"] == need.contact_phone
    _error(staff_client.get("/api/v1/needs?colour=purple"), 422)
    _error(staff_client.post(f"/api/v1/needs/{need.id}/assessment", json={"category": "elderly", "difficulty": 7, "colour": "red"}), 422)
    _error(signed_in(app, volunteer).get("/api/v1/needs"), 403)
    _error(signed_in(app, west).get(f"/api/v1/needs/{need.id}"), 404)
    _error(signed_in(app, west).post(f"/api/v1/needs/{need.id}/decline", json={"reason": "x"}), 404)
    declined = staff_client.post(f"/api/v1/needs/{need.id}/decline", json={"reason": "请拨打物业电话"})
    assert declined.status_code == 200 and declined.get_json()["decline_reason"] == "请拨打物业电话"
    _error(staff_client.post(f"/api/v1/needs/{need.id}/decline", json={"reason": "again"}), 409)
    events = staff_client.get(f"/api/v1/needs/{need.id}/events").get_json()
    assert [e["action"] for e in events] == ["recorded", "declined"] and events[1]["actor_id"] == social.id


def test_residents_api_shows_the_address_to_staff_and_checks_input(app, session, org_tree, make_person):
    worker = make_person("grid_worker")
    session.commit()
    client = signed_in(app, worker)
    body = _error(client.post("/api/v1/residents", json={"real_name": "", "phone": "1", "organisation_id": org_tree["east"].id}), 422)
    assert {"real_name", "phone"} <= set(body["errors"])
    made = client.post("/api/v1/residents", json={"real_name": "孙爷爷", "phone": "13700000031", "address": "黄河路1号",
                                                  "organisation_id": org_tree["east"].id, "groups": ["disabled"], "privacy_consent": True})
    assert made.status_code == 201 and made.get_json()["address"] == "黄河路1号"
    resident_id = made.get_json()["id"]
    changed = client.patch(f"/api/v1/residents/{resident_id}", json={"groups": ["disabled", "old_age"]})
    assert changed.get_json()["groups"] == ["disabled", "old_age"]
    _error(client.patch(f"/api/v1/residents/{resident_id}", json={"groups": ["rich"]}), 422)
    assert client.get(f"/api/v1/residents/{resident_id}/needs").get_json() == []
    _error(signed_in(app, make_person("social_worker", org="west")).get(f"/api/v1/residents/{resident_id}"), 404)
    assert session.get(Resident, resident_id) is not None


def test_resources_and_service_projects_are_kept_through_the_api(app, session, org_tree, make_person):
    social, worker = make_person("social_worker"), make_person("grid_worker")
    session.commit()
    client = signed_in(app, social)
    _error(client.post("/api/v1/resources", json={"name": "x", "kind": "bank", "organisation_id": org_tree["east"].id}), 422)
    made = client.post("/api/v1/resources", json={"name": "红十字会", "kind": "charity", "offers": "应急救助", "organisation_id": org_tree["east"].id})
    assert made.status_code == 201
    resource_id = made.get_json()["id"]
    assert client.patch(f"/api/v1/resources/{resource_id}", json={"contact_phone": "0398-120"}).get_json()["contact_phone"] == "0398-120"
    assert client.post(f"/api/v1/resources/{resource_id}/deactivate").get_json()["active"] is False
    assert client.post(f"/api/v1/resources/{resource_id}/activate").get_json()["active"] is True
    grid = signed_in(app, worker)
    assert [r["id"] for r in grid.get("/api/v1/resources").get_json()] == [resource_id]
    _error(grid.post("/api/v1/resources", json={}), 403)
    bad = client.post("/api/v1/service-projects", json={"name": "助餐", "category": "elderly", "organisation_id": org_tree["east"].id,
                                                         "starts_on": "2026-12-01", "ends_on": "2026-11-01"})
    assert "ends_on" in _error(bad, 422)["errors"]
    project = client.post("/api/v1/service-projects", json={"name": "老年助餐", "category": "elderly", "organisation_id": org_tree["east"].id,
                                                             "resource_id": resource_id, "starts_on": "2026-12-01"})
    assert project.status_code == 201
    project_id = project.get_json()["id"]
    _error(client.patch(f"/api/v1/service-projects/{project_id}", json={"ends_on": "2026-01-01"}), 422)
    assert client.patch(f"/api/v1/service-projects/{project_id}", json={"active": False}).get_json()["active"] is False
    assert [p["name"] for p in grid.get("/api/v1/service-projects").get_json()] == ["老年助餐"]


def test_every_needs_endpoint_is_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/api/v1/needs", "/api/v1/needs/{need_id}/decline", "/api/v1/residents/{resident_id}", "/api/v1/resources",
                 "/api/v1/service-projects/{project_id}"):
        assert path in paths
    assert paths["/api/v1/needs"]["post"]["security"] == []


@pytest.fixture
def throttled(db, tmp_path, monkeypatch):
    monkeypatch.setenv("TIMEBANK_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({"TESTING": True, "DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
                      "SECRET_KEY": "x", "DATA_KEY": "test-only-data-key", "RATELIMIT_ENABLED": True})
    yield app
    app.extensions["timebank.database"].dispose()


def test_the_public_form_is_throttled_per_address(throttled, org_tree):
    client = throttled.test_client()
    answers = [client.post("/api/v1/needs", json={**ASK, "organisation_id": org_tree["east"].id}).status_code for _ in range(11)]
    assert answers[:10] == [201] * 10 and answers[10] == 429
