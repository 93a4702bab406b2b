"""`timebank init`: a fresh database gets its root organisation and first admin, once."""

from __future__ import annotations

from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlalchemy import select

from tests.conftest import send
from timebank.audit.models import AuditEntry
from timebank.auth.passwords import password_matches
from timebank.cli import main
from timebank.ledger.models import SYSTEM_ACTOR
from timebank.orgs.models import Organisation
from timebank.people.models import Person, Role, RoleGrant

ADMIN = ["init", "--organisation", "陕县", "--name", "王建国", "--phone", "13900000001"]


def test_init_makes_the_root_and_an_admin_who_can_sign_in_and_manage(run_cli, app, session, monkeypatch):
    """The password comes from the environment; the new admin signs in and reaches the organisations page."""
    monkeypatch.setenv("TIMEBANK_INIT_PASSWORD", "first admin 2026")

    result = run_cli(*ADMIN)

    assert result.exit_code == 0, result.output
    assert "first admin 2026" not in result.output
    root = session.scalar(select(Organisation))
    admin = session.scalar(select(Person).where(Person.phone == "13900000001"))
    assert (root.name, root.level, root.parent_id) == ("陕县", "district", None)
    assert admin.status == "active" and admin.home_organisation_id == root.id
    assert session.scalar(select(RoleGrant.organisation_id).where(RoleGrant.person_id == admin.id, RoleGrant.role == Role.ADMIN.value)) == root.id
    assert session.scalar(select(AuditEntry.actor_id).where(AuditEntry.action == "grant_role")) == SYSTEM_ACTOR  # no one grants themself
    session.rollback()
    client = app.test_client()
    signed = send(client, "/sign-in", phone="13900000001", password="first admin 2026")
    assert signed.status_code == 302
    assert client.get("/organisations").status_code == 200


def test_init_asks_for_the_password_twice_without_echoing_it(app, session, monkeypatch):
    """With no password in the environment it is read from the prompt, confirmed, and never shown."""
    monkeypatch.delenv("TIMEBANK_INIT_PASSWORD", raising=False)

    result = CliRunner().invoke(main, ADMIN, obj=ScriptInfo(create_app=lambda: app), input="typed secret 9\ntyped secret 9\n")

    assert result.exit_code == 0, result.output
    assert "typed secret 9" not in result.output
    assert password_matches(session.scalar(select(Person.password_hash).where(Person.phone == "13900000001")), "typed secret 9")


def test_init_refuses_a_database_that_already_has_a_root_or_an_admin(run_cli, session, monkeypatch, org_tree):
    """A second init changes nothing and says why."""
    monkeypatch.setenv("TIMEBANK_INIT_PASSWORD", "first admin 2026")
    before = session.scalar(select(Organisation.id).order_by(Organisation.id.desc()))
    session.commit()

    result = run_cli(*ADMIN)

    assert result.exit_code == 1
    assert "already has a root organisation or an admin" in result.output
    session.expire_all()
    assert session.scalar(select(Person).where(Person.phone == "13900000001")) is None
    assert session.scalar(select(Organisation.id).order_by(Organisation.id.desc())) == before


def test_init_refuses_a_short_password_and_writes_nothing(run_cli, session, monkeypatch):
    """The admin's password follows the registration rules."""
    monkeypatch.setenv("TIMEBANK_INIT_PASSWORD", "short")

    result = run_cli(*ADMIN)

    assert result.exit_code == 1
    assert "password: Use 8 to 128 characters." in result.output
    assert session.scalar(select(Organisation)) is None
