"""Signing out ends the sign-in on the server: copies of its cookies stop working; remember-me is a month, flagged; old sign-ins are pruned."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from timebank.app import create_app
from timebank.auth.models import SignIn
from timebank.auth.tasks import prune_expired_sign_ins
from timebank.db import utcnow
from timebank.events.models import UsedSeenTicket
from timebank.events.tokens import SEEN_SECONDS
from timebank.jobs import SPECS
from tests.conftest import PASSWORD, csrf_token


def sign_in_remembered(client, person):
    answer = client.post("/sign-in", data={"phone": person.phone, "password": PASSWORD, "remember": "on", "csrf_token": csrf_token(client)})
    assert answer.status_code == 302
    return client


def copy_of(app, client, *names: str):
    """Another browser holding copies of `client`'s cookies."""
    thief = app.test_client()
    for name in names:
        thief.set_cookie(name, client.get_cookie(name).value)
    return thief


def test_a_copied_session_cookie_stops_working_at_sign_out(app, client, make_person):
    sign_in_remembered(client, make_person())
    thief = copy_of(app, client, "session")
    assert thief.get("/me").status_code == 200
    client.post("/sign-out", data={"csrf_token": csrf_token(client)})
    assert thief.get("/me").status_code == 302


def test_a_copied_remember_me_cookie_stops_working_at_sign_out(app, client, make_person):
    sign_in_remembered(client, make_person())
    thief = copy_of(app, client, "remember_token")
    assert thief.get("/me").status_code == 200  # remember-me signs a cookie-less browser in
    client.post("/sign-out", data={"csrf_token": csrf_token(client)})
    assert client.get_cookie("remember_token") is None
    assert copy_of(app, thief, "remember_token").get("/me").status_code == 302


def test_signing_out_on_one_phone_leaves_the_others_signed_in(app, client, make_person):
    person = make_person()
    other = sign_in_remembered(app.test_client(), person)
    sign_in_remembered(client, person)
    client.post("/sign-out", data={"csrf_token": csrf_token(client)})
    assert other.get("/me").status_code == 200


def test_remember_me_lasts_a_month_with_the_session_cookies_flags(db, tmp_path, monkeypatch, make_person):
    monkeypatch.setenv("TIMEBANK_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("TIMEBANK_SECURE_COOKIES", "1")
    app = create_app({"TESTING": True, "DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
                      "SECRET_KEY": "x", "DATA_KEY": "test-only-data-key", "RATELIMIT_ENABLED": False})
    client = app.test_client()
    client.environ_base.update({"wsgi.url_scheme": "https", "HTTP_REFERER": "https://localhost/sign-in"})
    before = dt.datetime.now(dt.timezone.utc)
    sign_in_remembered(client, make_person())
    cookie = client.get_cookie("remember_token")
    assert cookie.secure and cookie.http_only and cookie.same_site == "Lax"
    assert dt.timedelta(days=29) < cookie.expires - before <= dt.timedelta(days=30, minutes=1)
    app.extensions["timebank.database"].dispose()


def test_the_hourly_prune_forgets_ended_and_expired_sign_ins_and_spent_seen_tickets_but_keeps_live_ones(app, client, session, make_person):
    signed_out, expired, live = make_person(), make_person(), make_person()
    sign_in_remembered(client, signed_out)
    client.post("/sign-out", data={"csrf_token": csrf_token(client)})
    sign_in_remembered(app.test_client(), expired)
    still_in = sign_in_remembered(app.test_client(), live)
    now = utcnow()
    session.execute(update(SignIn).where(SignIn.person_id == expired.id).values(expires_at=now - dt.timedelta(minutes=1)))
    life = dt.timedelta(seconds=SEEN_SECONDS)
    session.add_all([UsedSeenTicket(ticket_hash="a" * 64, used_at=now - life - dt.timedelta(minutes=1)),
                     UsedSeenTicket(ticket_hash="b" * 64, used_at=now - life + dt.timedelta(minutes=1))])
    session.commit()
    assert SPECS["auth.prune"].schedule is not None

    with app.app_context():
        assert prune_expired_sign_ins() == (2, 1)
        assert prune_expired_sign_ins() == (0, 0)

    session.commit()
    assert session.scalars(select(SignIn.person_id)).all() == [live.id]
    assert session.scalars(select(UsedSeenTicket.ticket_hash)).all() == ["b" * 64]  # still inside a ticket's life: still refused again
    assert still_in.get("/me").status_code == 200
