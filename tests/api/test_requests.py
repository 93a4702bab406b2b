"""What every API call shares: JSON bodies only, no form token, and one error shape."""

from __future__ import annotations

from timebank.app import create_app
from timebank.people.models import Person
from tests.api.conftest import ZH


def test_a_change_sent_as_a_form_is_refused_with_415_and_writes_nothing(client, org_tree, count):
    form = {"phone": "13912345678", "password": "long enough 1", "real_name": "王秀英", "home_organisation_id": org_tree["east"].id}
    answer = client.post("/api/v1/registrations", data=form, headers=ZH)
    assert answer.status_code == 415
    assert answer.json["code"] == "unsupported_media_type"
    assert answer.json["status"] == 415 and "JSON" in answer.json["message"] and answer.json["errors"] == {}
    assert count(Person) == 0


def test_a_signed_in_change_with_a_body_that_is_not_json_is_refused_too(client, make_person, sign_in):
    sign_in(make_person("coordinator"))
    pending = make_person(status="pending")
    answer = client.post(f"/api/v1/people/{pending.id}/approve", data="yes", content_type="text/plain")
    assert answer.status_code == 415
    assert client.delete("/api/v1/roles/1", data="x", content_type="text/plain").status_code == 415


def test_an_action_without_a_body_needs_no_content_type(client, make_person, sign_in):
    sign_in(make_person("coordinator"))
    pending = make_person(status="pending")
    assert client.post(f"/api/v1/people/{pending.id}/approve").status_code == 200
    other = make_person(status="pending")
    assert client.post(f"/api/v1/people/{other.id}/approve", data="", content_type="text/plain").status_code == 200


def test_malformed_json_is_a_400_in_the_same_shape(client, org_tree, count):
    answer = client.post("/api/v1/registrations", data='{"phone": "139', content_type="application/json", headers=ZH)
    assert answer.status_code == 400
    assert answer.json["code"] == "malformed_json" and answer.json["message"] == "提交的内容不是有效的 JSON 对象。"
    answer = client.post("/api/v1/registrations", json=["13912345678"], headers=ZH)
    assert answer.status_code == 400
    assert count(Person) == 0


def test_json_changes_need_no_form_token_with_a_signed_in_cookie(client, make_person, sign_in):
    person = make_person()
    sign_in(person)
    answer = client.patch("/api/v1/me", json={"skills": "理发"})
    assert answer.status_code == 200 and answer.json["skills"] == "理发"


def test_the_pages_still_demand_their_form_token(client, make_person):
    person = make_person()
    answer = client.post("/sign-in", data={"phone": person.phone, "password": "x"})
    assert answer.status_code == 400


def test_unknown_addresses_and_methods_answer_in_the_error_shape(client):
    assert client.get("/api/v1/nothing-here").json["code"] == "not_found"
    answer = client.put("/api/v1/me", json={})
    assert answer.status_code == 405 and answer.json["status"] == 405
    assert set(answer.headers["Allow"].split(", ")) >= {"GET", "PATCH"}


def test_self_registration_is_limited_to_ten_an_hour_from_one_address(db, tmp_path, monkeypatch):
    monkeypatch.setenv("TIMEBANK_INSTANCE_PATH", str(tmp_path / "instance"))
    url = db.engine.url.render_as_string(hide_password=False)
    app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "x", "DATA_KEY": "y", "RATELIMIT_ENABLED": True})
    client = app.test_client()
    answers = [client.post("/api/v1/registrations", json={}, headers=ZH) for _ in range(11)]
    app.extensions["timebank.database"].dispose()
    assert [answer.status_code for answer in answers] == [422] * 10 + [429]
    assert answers[-1].json["status"] == 429 and answers[-1].json["message"]
