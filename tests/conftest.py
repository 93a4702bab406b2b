"""Fixtures: a freshly migrated database per test (SQLite and PostgreSQL), the app, its client."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import uuid
from collections.abc import Callable, Iterator

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.cli import ScriptInfo
from flask.testing import FlaskClient
from sqlalchemy import create_engine
from sqlalchemy import text as sql
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from timebank.app import create_app
from timebank.events import services as events
from timebank.events.checkin import record_scan
from timebank.events.models import Activity
from timebank.cli import main
from timebank.db import Database
from timebank.ledger import open_account, post, rules
from timebank.migrate import upgrade
from timebank.orgs.models import Organisation
from timebank.orgs.services import create_organisation
from timebank.people.access import Actor, Grant, actor_for
from timebank.people.idnumbers import IdVault
from timebank.people.models import Person
from timebank.people.services import approve, grant_role
from timebank.people.services import register as register_person

POSTGRES_URL = os.environ.get(
    "TIMEBANK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REQUIRE_POSTGRES = os.environ.get("TIMEBANK_REQUIRE_POSTGRES") == "1"
NOW = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.timezone.utc)  # 10:00 in Shanghai
ACTOR = 1
#: An actor allowed everything everywhere, for setting up tests.
SYSTEM = Actor(0, (Grant("admin", 0, "/"),))


def _postgres_admin():
    engine = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sql("SELECT 1"))
    except Exception as exc:  # any failure to reach it means: no PostgreSQL here
        engine.dispose()
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL is required (TIMEBANK_REQUIRE_POSTGRES=1) but unreachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL} ({type(exc).__name__})")
    return engine


@contextlib.contextmanager
def postgres_copy(admin, template: str) -> Iterator[Database]:
    """A PostgreSQL database made from `template`, dropped afterwards."""
    name = f"timebank_t_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    database = Database(make_url(POSTGRES_URL).set(database=name), pool_size=20, max_overflow=20)
    try:
        yield database
    finally:
        database.dispose()
        with admin.connect() as conn:
            conn.execute(sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextlib.contextmanager
def sqlite_copy(template: str, folder) -> Iterator[Database]:
    """A SQLite file copied from `template` into `folder`."""
    path = folder / "timebank.db"
    shutil.copyfile(template, path)
    database = Database(f"sqlite:///{path}")
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite file migrated to head once; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "timebank.db"
    database = Database(f"sqlite:///{path}")
    upgrade(database.engine)
    database.dispose()
    return str(path)


@pytest.fixture(scope="session")
def postgres_template(worker_id: str) -> Iterator[tuple[object, str]]:
    """A PostgreSQL database migrated to head once; each test gets a copy made from it."""
    admin = _postgres_admin()
    name = f"timebank_tmpl_{worker_id}_{os.getpid()}"
    with admin.connect() as conn:
        conn.execute(sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sql(f'CREATE DATABASE "{name}"'))
    database = Database(make_url(POSTGRES_URL).set(database=name))
    upgrade(database.engine)
    database.dispose()
    yield admin, name
    with admin.connect() as conn:
        conn.execute(sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


#: The demo most tests of demo data read: small enough to build in seconds, with every kind of record.
DEMO_SIZE = {"volunteers": 40, "days": 30, "seed": 7}


def _build_demo_into(database: Database) -> str:
    """Build the shared demo into `database`, commit, close it; returns the summary the command prints."""
    from timebank.demo import build_demo

    with database.session() as s:
        summary = build_demo(s, **DEMO_SIZE, now=NOW, vault=IdVault("test-only-data-key"))
        s.commit()
    database.dispose()
    return summary


@pytest.fixture(scope="session")
def sqlite_demo_template(sqlite_template: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A SQLite file holding the shared demo, built once per test process: (path, summary)."""
    path = tmp_path_factory.mktemp("demo-template") / "timebank.db"
    shutil.copyfile(sqlite_template, path)
    return str(path), _build_demo_into(Database(f"sqlite:///{path}"))


@pytest.fixture(scope="session")
def postgres_demo_template(postgres_template, worker_id: str) -> Iterator[tuple[str, str]]:
    """A PostgreSQL database holding the shared demo, built once per test process: (name, summary)."""
    admin, template = postgres_template
    name = f"timebank_demo_{worker_id}_{os.getpid()}"
    with admin.connect() as conn:
        conn.execute(sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    summary = _build_demo_into(Database(make_url(POSTGRES_URL).set(database=name)))
    yield name, summary
    with admin.connect() as conn:
        conn.execute(sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def demo_db(request: pytest.FixtureRequest, tmp_path) -> Iterator[tuple[Database, str]]:
    """A copy of the shared demo database of this test's own, on both databases: (database, summary)."""
    with demo_copy(request, request.param, tmp_path) as database:
        yield database, request.getfixturevalue(f"{request.param}_demo_template")[1]


@contextlib.contextmanager
def demo_copy(request: pytest.FixtureRequest, kind: str, folder) -> Iterator[Database]:
    """A fresh copy of the shared demo on `kind` ("sqlite" or "postgres"), dropped afterwards."""
    template = request.getfixturevalue(f"{kind}_demo_template")[0]
    copy = sqlite_copy(template, folder) if kind == "sqlite" else postgres_copy(request.getfixturevalue("postgres_template")[0], template)
    with copy as database:
        yield database


@pytest.fixture
def sqlite_db(sqlite_template: str, tmp_path) -> Iterator[Database]:
    """A migrated SQLite file database of this test's own."""
    with sqlite_copy(sqlite_template, tmp_path) as database:
        yield database


@pytest.fixture
def postgres_db(postgres_template) -> Iterator[Database]:
    """A migrated PostgreSQL database of this test's own."""
    with postgres_copy(*postgres_template) as database:
        yield database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest) -> Database:
    """The same test on both databases."""
    return request.getfixturevalue(f"{request.param}_db")


@pytest.fixture
def session(db: Database) -> Iterator[Session]:
    """A write session on the test's database."""
    with db.session() as s:
        yield s


@pytest.fixture
def now() -> dt.datetime:
    """A fixed moment for services that take `now`."""
    return NOW


@pytest.fixture
def ledger_setup(session: Session) -> Callable[..., None]:
    """Opens the system accounts and the given volunteers' and stations' accounts, then commits."""

    def setup(volunteers=(1, 2), stations=(7,), categories=("elderly",), cap=None) -> None:
        rules.open_system_accounts(session, now=NOW)
        for volunteer in volunteers:
            rules.open_volunteer_accounts(
                session, volunteer, categories=categories, max_hour_balance=cap, now=NOW
            )
        for station in stations:
            open_account(
                session,
                rules.station_code(station),
                commodity="PTS",
                owner_type="station",
                owner_id=station,
                now=NOW,
            )
        session.commit()

    return setup


@pytest.fixture
def credit(session: Session) -> Callable[..., object]:
    """Credits a volunteer as an approved attendance would, and commits."""
    counter = iter(range(1, 1_000_000))

    def give(volunteer: int, *, minutes: int = 60, points: int = 10, category: str = "elderly"):
        txn = post(
            session,
            rules.service_credit_legs(volunteer, minutes=minutes, category=category, points=points),
            kind="service_credit",
            idempotency_key=f"test-credit:{volunteer}:{next(counter)}",
            actor=ACTOR,
            now=NOW,
        )
        session.commit()
        return txn

    return give


@pytest.fixture
def app(db: Database, tmp_path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """The service on the test's database, with its instance folder in a temporary directory."""
    monkeypatch.setenv("TIMEBANK_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
            "SECRET_KEY": "test-only-secret",
            "DATA_KEY": "test-only-data-key",
            "RATELIMIT_ENABLED": False,
            # Jobs run at once, inside the request that sends them; tests/jobs run a real consumer.
            "QUEUE_IMMEDIATE": True,
        }
    )
    yield app
    app.extensions["timebank.database"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of the app."""
    return app.test_client()


@pytest.fixture
def run_cli(app: Flask) -> Callable[..., Result]:
    """Runs a `timebank` command against the test app, as the console script would."""

    def run(*args: str) -> Result:
        return CliRunner().invoke(main, list(args), obj=ScriptInfo(create_app=lambda: app))

    return run


# -- people and organisations -------------------------------------------------

PASSWORD = "correct horse 7"
#: A valid resident ID number (checksum correct): born 1956-03-07, male.
RESIDENT_ID = "110101195603071239"


@pytest.fixture(autouse=True)
def quick_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """scrypt's full cost protects real passwords; tests hash thousands, so they use a cheap method."""
    monkeypatch.setattr("timebank.auth.passwords.METHOD", "pbkdf2:sha256:1000")


@pytest.fixture
def vault() -> IdVault:
    """The ID-number vault, with a test key."""
    return IdVault("test-only-data-key")


@pytest.fixture
def org_tree(session: Session) -> dict[str, Organisation]:
    """A county > street > two communities > one team each, committed."""
    made: dict[str, Organisation] = {}

    def add(key: str, name: str, level: str, parent: str | None) -> None:
        made[key] = create_organisation(
            session, name=name, level=level, parent_id=made[parent].id if parent else None, actor=SYSTEM, now=NOW
        )

    add("county", "陕县", "district", None)
    add("street", "大营镇", "street", "county")
    add("east", "东城社区", "community", "street")
    add("west", "西关社区", "community", "street")
    add("east_team", "东城助老服务队", "team", "east")
    add("west_team", "西关应急服务队", "team", "west")
    session.commit()
    return made


@pytest.fixture
def make_person(session: Session, vault: IdVault, org_tree) -> Callable[..., Person]:
    """Registers an active person (password PASSWORD) with the given roles over an organisation."""
    phones = iter(range(13800000001, 13899999999))

    def make(*roles: str, org: str = "east", name: str = "测试志愿者", status: str = "active", station_id: int | None = None, **profile) -> Person:
        organisation = org_tree[org]
        person = register_person(
            session,
            {"phone": str(next(phones)), "password": PASSWORD, "real_name": name, "home_organisation_id": organisation.id, "privacy_consent": True, **profile},
            actor=None,
            vault=vault,
            now=NOW,
        )
        if status == "active":
            approve(session, person.id, actor=SYSTEM, now=NOW)
        else:
            person.status = status
        for role in roles:
            if role == "volunteer":
                continue
            data = {"role": role, "organisation_id": organisation.id, "station_id": station_id}
            if role == "social_worker":
                data["certificate_level"] = "社会工作师"
            grant_role(session, person.id, data, actor=SYSTEM, now=NOW)
        session.commit()
        return person

    return make


@pytest.fixture
def sign_in(client: FlaskClient) -> Callable[[Person], FlaskClient]:
    """Signs the client in as a person (through the real sign-in form)."""

    def as_person(person: Person, password: str = PASSWORD) -> FlaskClient:
        return sign_in_through_form(client, person, password)

    return as_person


def csrf_token(client: FlaskClient) -> str:
    """A CSRF token for the client's session, read from the sign-in form."""
    page = client.get("/sign-in").get_data(as_text=True)
    return page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def sign_in_through_form(client: FlaskClient, person: Person, password: str = PASSWORD) -> FlaskClient:
    """Sign `client` in as `person` through the real sign-in form."""
    answer = client.post("/sign-in", data={"phone": person.phone, "password": password, "csrf_token": csrf_token(client)})
    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    return client


def signed_in(app: Flask, person: Person, password: str = PASSWORD) -> FlaskClient:
    """A client of its own, signed in as `person` through the real form."""
    return sign_in_through_form(app.test_client(), person, password)


def send(client: FlaskClient, url: str, **data: object):
    """A form POST with the CSRF token, as the page sends it."""
    return client.post(url, data={**data, "csrf_token": csrf_token(client)})


def exported_workbook(client: FlaskClient, url: str, **form: object) -> bytes:
    """Ask for an Excel export as its page does (a job writes it; in tests at once) and download the file."""
    asked = send(client, url, **form)
    assert asked.status_code == 302, asked.get_data(as_text=True)[:500]
    state = client.get(asked.location + ".json").get_json()
    assert state["status"] == "done", state
    answer = client.get(state["download"])
    data = answer.data
    answer.close()
    assert answer.status_code == 200
    return data


def text(answer) -> str:
    """The answer's body as text."""
    return answer.get_data(as_text=True)


# -- activities -----------------------------------------------------------------

SECRET = "test-secret-key"
#: An activity from 09:00 to 11:00 Shanghai time on the day of NOW (NOW is 10:00 there).
START = NOW - dt.timedelta(hours=1)
END = NOW + dt.timedelta(hours=1)


@pytest.fixture
def make_activity(session: Session, org_tree, make_person) -> Callable[..., Activity]:
    """Creates (and by default publishes) an activity in `east`, led by a social worker there."""
    leaders = {}

    def make(*, publish: bool = True, org: str = "east", starts_at: dt.datetime = START, ends_at: dt.datetime = END, **fields) -> Activity:
        if org not in leaders:
            leaders[org] = make_person("social_worker", org=org, name="王社工")
        data = {
            "title": "敬老院探访",
            "category": "elderly",
            "organisation_id": org_tree[org].id,
            "address": "东城社区敬老院",
            "starts_at": starts_at.isoformat(),
            "ends_at": ends_at.isoformat(),
            **fields,
        }
        leader = actor_for(session, leaders[org])
        activity = events.create_activity(session, data, actor=leader, now=starts_at - dt.timedelta(days=3))
        if publish:
            events.publish_activity(session, activity.id, actor=leader, now=starts_at - dt.timedelta(days=3))
        session.commit()
        return activity

    return make


@pytest.fixture
def reviewer(session: Session, make_person):
    """A social worker of `east`, as an actor."""
    return actor_for(session, make_person("social_worker", name="李社工"))


def attend(session: Session, activity: Activity, volunteer: Person, *, at: dt.datetime = START, out: dt.datetime | None = END):
    """Check a volunteer in (and out, unless `out` is None) as the venue screen would, and commit."""
    scan = record_scan(session, activity, volunteer, "in", method="screen", now=at)
    if out is not None:
        record_scan(session, activity, volunteer, "out", method="screen", now=out)
    session.commit()
    return scan.attendance
