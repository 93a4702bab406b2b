"""Signing in and out and changing one's password from an app, through the API."""

from __future__ import annotations

from sqlalchemy import select

from timebank.app import create_app
from timebank.auth.services import reset_password
from timebank.people.models import Person
from tests.conftest import PASSWORD, SYSTEM, csrf_token

NEW_PASSWORD = "my own secret 9"


def api_sign_in(client, person, password: str = PASSWORD, **extra):
    return client.post("/api/v1/session", json={"phone": person.phone, "password": password, **extra})


def test_an_app_signs_in_reads_its_record_and_signs_out_for_good(app, client, make_person):
    person = make_person(name="王秀英")
    answer = api_sign_in(client, person, remember=True)
    assert answer.status_code == 200
    assert answer.json["person"]["real_name"] == "王秀英" and answer.json["password_change_required"] is False
    assert client.get("/api/v1/me").status_code == 200
    copy = app.test_client()
    copy.set_cookie("remember_token", client.get_cookie("remember_token").value)

    assert client.delete("/api/v1/session", json={}).status_code == 204
    assert client.get("/api/v1/me").status_code == 401
    assert copy.get("/api/v1/me").status_code == 401


def test_a_wrong_password_gets_the_same_vague_refusal_as_the_form(client, make_person):
    answer = api_sign_in(client, make_person(), "not it", )
    unknown = client.post("/api/v1/session", json={"phone": "13000000000", "password": PASSWORD})
    assert answer.status_code == unknown.status_code == 401
    assert answer.json["code"] == unknown.json["code"] == "sign_in_refused"
    assert answer.json["message"] == unknown.json["message"] == "手机号或密码不正确。"
    assert client.get("/api/v1/me").status_code == 401


def test_a_reset_person_must_change_their_password_through_the_api_before_anything_else(client, session, make_person):
    person = make_person()
    temporary = reset_password(session, person.id, actor=SYSTEM, now=person.created_at)
    session.commit()
    answer = api_sign_in(client, person, temporary)
    assert answer.status_code == 200 and answer.json["password_change_required"] is True
    refused = client.get("/api/v1/me")
    assert refused.status_code == 403 and refused.json["code"] == "password_change_required"

    wrong = client.post("/api/v1/me/password", json={"current_password": "guess", "new_password": NEW_PASSWORD})
    assert wrong.status_code == 422 and set(wrong.json["errors"]) == {"current_password"}
    changed = client.post("/api/v1/me/password", json={"current_password": temporary, "new_password": NEW_PASSWORD})
    assert changed.status_code == 200 and changed.json["password_change_required"] is False
    assert client.get("/api/v1/me").status_code == 200
    session.expire_all()
    assert session.scalar(select(Person.must_change_password).where(Person.id == person.id)) is False


def test_a_password_change_through_the_api_signs_out_every_other_sign_in(app, client, make_person):
    person = make_person()
    other = app.test_client()
    api_sign_in(other, person)
    api_sign_in(client, person)
    assert client.post("/api/v1/me/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}).status_code == 200
    assert client.get("/api/v1/me").status_code == 200
    assert other.get("/api/v1/me").status_code == 401


def test_the_api_and_the_form_share_one_set_of_sign_in_limits(db, tmp_path, monkeypatch, make_person):
    monkeypatch.setenv("TIMEBANK_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({"TESTING": True, "DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
                      "SECRET_KEY": "x", "DATA_KEY": "test-only-data-key", "RATELIMIT_ENABLED": True})
    person, client = make_person(), app.test_client()
    form = [client.post("/sign-in", data={"phone": person.phone, "password": "wrong", "csrf_token": csrf_token(client)}).status_code for _ in range(3)]
    api = [api_sign_in(client, person, "wrong").status_code for _ in range(3)]
    assert form + api == [401] * 5 + [429], (form, api)
    assert api_sign_in(client, person).status_code == 429
    app.extensions["timebank.database"].dispose()
