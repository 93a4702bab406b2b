"""Signing in and out: throttling, fixation, remember-me, and sessions ended by a password change."""

from __future__ import annotations

import pytest
from flask import session as flask_session

from timebank.app import create_app
from tests.conftest import PASSWORD, csrf_token


def attempt(client, phone: str, password: str):
    """One sign-in through the form."""
    return client.post("/sign-in", data={"phone": phone, "password": password, "csrf_token": csrf_token(client)})


def test_an_approved_volunteer_signs_in_and_sees_their_page(client, make_person, sign_in):
    person = make_person(name="王秀英")
    sign_in(person)
    page = client.get("/me").get_data(as_text=True)
    assert "王秀英" in page and person.volunteer_number in page


def test_a_pending_registration_cannot_sign_in_yet(client, make_person):
    person = make_person(status="pending")
    answer = attempt(client, person.phone, PASSWORD)
    assert answer.status_code == 401
    assert "等待协调员审核" in answer.get_data(as_text=True)


def test_a_wrong_password_and_an_unknown_phone_get_the_same_answer(client, make_person):
    person = make_person()
    wrong = attempt(client, person.phone, "not the password")
    unknown = attempt(client, "13000000000", PASSWORD)
    assert wrong.status_code == unknown.status_code == 401
    assert "手机号或密码不正确" in wrong.get_data(as_text=True)
    assert "手机号或密码不正确" in unknown.get_data(as_text=True)


@pytest.fixture
def throttled_client(db, tmp_path, monkeypatch):
    """A client of an app with rate limits on, as in production."""
    monkeypatch.setenv("TIMEBANK_INSTANCE_PATH", str(tmp_path / "throttled"))
    url = db.engine.url.render_as_string(hide_password=False)
    app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "x", "DATA_KEY": "test-only-data-key", "RATELIMIT_ENABLED": True})
    yield app.test_client()
    app.extensions["timebank.database"].dispose()


def test_sign_in_is_throttled_per_phone_number(throttled_client, make_person):
    person = make_person()
    answers = [attempt(throttled_client, person.phone, "wrong").status_code for _ in range(6)]
    assert answers[:5] == [401] * 5 and answers[5] == 429
    other = make_person()
    assert attempt(throttled_client, other.phone, PASSWORD).status_code == 302  # another account is not blocked


def test_sign_in_is_throttled_per_address(throttled_client):
    answers = [attempt(throttled_client, f"1300000{n:04d}", "wrong").status_code for n in range(21)]
    assert answers[:20] == [401] * 20 and answers[20] == 429


def test_nothing_planted_in_the_session_before_sign_in_survives_it(client, make_person, sign_in):
    with client.session_transaction() as before:
        before["planted"] = "by someone else"
    sign_in(make_person())
    with client:
        client.get("/me")
        assert "planted" not in flask_session


def test_remember_me_sets_a_lasting_cookie(client, make_person):
    person = make_person()
    client.post("/sign-in", data={"phone": person.phone, "password": PASSWORD, "remember": "on", "csrf_token": csrf_token(client)})
    assert client.get_cookie("remember_token") is not None


def test_signing_out_ends_the_session(client, make_person, sign_in):
    sign_in(make_person())
    client.post("/sign-out", data={"csrf_token": csrf_token(client)})
    assert client.get("/me").status_code == 302


def test_a_password_change_signs_out_every_other_session(app, make_person, sign_in, client):
    person = make_person()
    sign_in(person)
    phone_two = app.test_client()
    assert attempt(phone_two, person.phone, PASSWORD).status_code == 302
    changed = client.post(
        "/password",
        data={"current_password": PASSWORD, "new_password": "a new secret 8", "csrf_token": csrf_token(client)},
    )
    assert changed.status_code == 302
    assert client.get("/me").status_code == 200  # this session carries on
    assert phone_two.get("/me").status_code == 302  # the other one is signed out


def test_session_cookie_is_http_only_and_same_site_lax(client, make_person, sign_in):
    sign_in(make_person())
    cookie = client.get_cookie("session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
