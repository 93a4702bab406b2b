"""The authorisation matrix: every endpoint, HTML and API, tried by every role, inside and outside
its organisation subtree, and anonymously; each answer checked.

Endpoints are read from the app's URL map, so a new endpoint joins the matrix
by itself: it must either be guarded by `requires(...)` or be listed in PUBLIC,
and each of its URL arguments must have a sample below.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import select
from flask import Flask
from flask.testing import FlaskClient

from timebank.app import create_app
from timebank.auth.services import create_device_token
from timebank.db import Database
from timebank.certify.batch import request_batch
from timebank.exports.services import request_export
from timebank.people.background_imports import queue_import
from timebank.notices.models import Notice
from timebank.certify.services import create_programme, record_certificate
from timebank.events import tokens
from timebank.events.checkin import record_scan
from timebank.events.corrections import report_error
from timebank.events.services import create_activity, publish_activity
from timebank.orgs.services import create_organisation
from timebank.people.models import Role
from timebank.people.services import approve, grant_role, register, request_family_link
from timebank.auth.codes import phone_code
from timebank.ledger import post, rules
from timebank.people.access import actor_for
from timebank.redeem import catalogue, counter
from timebank.redeem.models import Station
from tests.conftest import NOW, PASSWORD, RESIDENT_ID, SYSTEM, csrf_token

#: Endpoints anyone may call, signed in or not.
PUBLIC = {
    "static",
    "site.index",
    "site.healthz",
    "site.set_language",
    "auth.sign_in",
    "auth.sign_out",
    "auth.register",
    "auth_api.openapi",
    "session_api.sign_in",
    "session_api.sign_out",
    "people_api.register",
    "certify.verify",
    "certify.lookup",
    "certify_api.verify",
    # A browser becomes a device here by entering its token; each page checks the device itself.
    "device.enter",
    "device.clerk",
    "device.end_duty",
    # Residents ask for help signed out too (throttled per address).
    "needs.new",
    "needs_api.record",
}
#: Endpoints that act on the target's staff standing (the target is a social worker of `east`): only
#: someone above may, so a coordinator of `east` itself is refused, an admin over it is not.
FROM_ABOVE = {"people.reset_password", "people_api.reset_password"}
#: Personas, in the order they act (the most powerful last, so their changes
#: cannot hide a refusal of a weaker one): name -> (roles, organisation key).
PERSONAS = {
    "volunteer": ((), "east"),
    "grid_worker": ((Role.GRID_WORKER,), "east"),
    "station_staff": ((Role.STATION_STAFF,), "east"),
    "social_worker": ((Role.SOCIAL_WORKER,), "east"),
    "coordinator_elsewhere": ((Role.COORDINATOR,), "west"),
    "coordinator": ((Role.COORDINATOR,), "east"),
    "admin": ((Role.ADMIN,), "county"),
}


@dataclass(frozen=True)
class World:
    """The template database and the ids of the records the endpoints act on."""

    path: str
    phones: dict[str, str]
    samples: dict[str, object]
    tablet: str  # the station's device token, plain


@pytest.fixture(scope="module")
def world(sqlite_template: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One database with the tree, a person per persona, and a target of every kind in `east`."""
    path = str(tmp_path_factory.mktemp("matrix") / "world.db")
    shutil.copyfile(sqlite_template, path)
    database = Database(f"sqlite:///{path}")
    from timebank.people.idnumbers import IdVault

    vault = IdVault("test-only-data-key")
    with pytest.MonkeyPatch.context() as patch, database.session() as session:
        patch.setattr("timebank.auth.passwords.METHOD", "pbkdf2:sha256:1000")
        orgs = {}
        for key, name, level, parent in (
            ("county", "陕县", "district", None),
            ("street", "大营镇", "street", "county"),
            ("east", "东城社区", "community", "street"),
            ("west", "西关社区", "community", "street"),
        ):
            orgs[key] = create_organisation(session, name=name, level=level, parent_id=orgs[parent].id if parent else None, actor=SYSTEM, now=NOW)
        station = Station(organisation_id=orgs["east"].id, name="26度万家驿站", created_at=NOW)
        session.add(station)
        session.flush()
        phones, people = {}, {}
        for number, (persona, (roles, org)) in enumerate({**PERSONAS, "target": ((), "east"), "relative": ((), "east")}.items()):
            phone = f"1390000{number:04d}"
            data = {"phone": phone, "password": PASSWORD, "real_name": persona, "home_organisation_id": orgs[org].id, "privacy_consent": True}
            if persona == "target":
                data |= {"id_type": "resident_id", "id_number": RESIDENT_ID}
            person = register(session, data, actor=None, vault=vault, now=NOW)
            approve(session, person.id, actor=SYSTEM, now=NOW)
            for role in roles:
                grant_role(session, person.id, {"role": role, "organisation_id": orgs[org].id, "station_id": station.id, "certificate_level": "社会工作师"}, actor=SYSTEM, now=NOW)
            phones[persona], people[persona] = phone, person
        target = people["target"]
        grant = grant_role(session, target.id, {"role": "social_worker", "organisation_id": orgs["east"].id, "certificate_level": "社会工作师"}, actor=SYSTEM, now=NOW)
        link = request_family_link(session, target.id, phones["relative"], "child", actor=SYSTEM, now=NOW)
        token, tablet = create_device_token(session, {"name": "东城平板", "scope_type": "station", "scope_id": station.id}, actor=SYSTEM, now=NOW)
        # The matrix runs on the real clock, so the activity has just finished: reviews and corrections work on it.
        real_now = dt.datetime.now(dt.timezone.utc)
        starts, ends = real_now - dt.timedelta(hours=3), real_now - dt.timedelta(hours=1)
        details = {
            "title": "敬老院探访",
            "category": "elderly",
            "organisation_id": orgs["east"].id,
            "address": "东城社区敬老院",
            "starts_at": starts.isoformat(),
            "ends_at": ends.isoformat(),
            "person_in_charge_id": people["social_worker"].id,
        }
        activity = create_activity(session, details, actor=SYSTEM, now=starts - dt.timedelta(days=1))
        publish_activity(session, activity.id, actor=SYSTEM, now=starts - dt.timedelta(days=1))
        attendance = record_scan(session, activity, target, "in", method="screen", now=starts).attendance
        record_scan(session, activity, target, "out", method="screen", now=ends)
        correction = report_error(session, attendance.id, {"message": "我待到了最后"}, volunteer=target, now=ends)
        item, redemption = _a_redemption(session, station, target, people["station_staff"], at=real_now)
        programme = create_programme(session, {"organisation_id": orgs["east"].id, "name": "助老服务专业志愿者", "required_hours": {"elderly": 100}, "signoff_level": "社会工作师"}, actor=SYSTEM, now=NOW)
        certificate, _ = record_certificate(session, target, NOW.date(), NOW.date(), actor=SYSTEM, now=NOW)
        batch = request_batch(session, {"organisation_id": orgs["east"].id, "start": "2026-01-01", "end": "2026-11-20"}, actor=SYSTEM, now=NOW)
        export = request_export(session, "redemptions", {"start": "2026-01-01", "end": "2026-11-20"}, actor=SYSTEM, now=NOW)
        people_import = queue_import(session, filename="matrix.csv", original_name="名单.csv", organisation_id=orgs["east"].id, actor=SYSTEM, now=NOW)
        needs_samples = _needs_records(session, orgs["east"], people["target"])
        # -- gifts and the community pool: a need in `east` with pool hours set aside for it (allocation_id) --
        allocation = _a_pool_allocation(session, orgs["east"], target)
        order_samples = _an_order_loop(session, orgs["east"], people, starts=real_now - dt.timedelta(hours=2))
        # -- grading (四色分级, 督导): a team of east, a grading run, a supervision session of the target ----------
        from timebank.grading.services import grade_volunteers
        from timebank.grading.supervision import record_supervision
        team = create_organisation(session, name="东城助老服务队", level="team", parent_id=orgs["east"].id, actor=SYSTEM, now=NOW)
        grade_volunteers(session, now=real_now)
        supervision = record_supervision(session, {"held_at": starts.isoformat(), "minutes": 60, "topic": "督导", "volunteer_ids": [target.id]},
                                         actor=actor_for(session, people["social_worker"]), now=real_now)
        # -- end of grading --
        session.commit()
        samples = {
            "id": target.id,
            "person_id": target.id,
            "grant_id": grant.id,
            "link_id": link.id,
            "token_id": token.id,
            "organisation_id": orgs["east"].id,
            "org_id": orgs["east"].id,
            "station_id": station.id,
            "activity_id": activity.id,
            "attendance_id": attendance.id,
            "request_id": correction.id,
            "item_id": item.id,
            "redemption_id": redemption.id,
            "programme_id": programme.id,
            "certificate_id": certificate.id,
            "batch_id": batch.id,
            "export_id": export.id,
            "import_id": people_import.id,
            "allocation_id": allocation.id,  # gifts and the community pool
            "job_id": "no-such-job",
            "notice_id": session.scalar(select(Notice.id).where(Notice.person_id == target.id)),
            "key": certificate.verify_key,
            "token": tokens.screen_code(activity.code_key, "in", "matrix", now=real_now),
            "code": "en",
            "filename": "timebank.css",
            **needs_samples,
            **order_samples,
            # grading: a volunteer's grade page, a team, a supervision session
            "kind": "volunteers",
            "subject_id": target.id,
            "team_id": team.id,
            "session_id": supervision.id,
        }
    database.dispose()
    yield World(path, phones, samples, tablet)


# -- residents' needs: a resident of `east` with a need, a resource and a service project ----------


def _needs_records(session, east, requester) -> dict[str, int]:
    """A need the target placed for themself, and east's resource and project: the needs endpoints' samples."""
    from timebank.needs.resources import create_project, create_resource
    from timebank.needs.services import record_need

    need = record_need(session, {"description": "帮忙修水管", "contact_phone": requester.phone, "channel": "online", "privacy_consent": True}, actor=actor_for(session, requester), now=NOW)
    resource = create_resource(session, {"name": "幸福家政", "kind": "merchant", "offers": "上门维修", "organisation_id": east.id}, actor=SYSTEM, now=NOW)
    project = create_project(session, {"name": "老年助餐", "category": "elderly", "organisation_id": east.id}, actor=SYSTEM, now=NOW)
    return {"need_id": need.id, "resident_id": need.resident_id, "resource_id": resource.id, "project_id": project.id}


def _a_redemption(session, station: Station, volunteer, clerk, *, at: dt.datetime):
    """An item of the station's catalogue, and a redemption of it (today, so its clerk may still void it)."""
    rules.open_system_accounts(session, now=NOW)
    rules.open_volunteer_accounts(session, volunteer.id, categories=("elderly",), now=NOW)
    post(session, rules.service_credit_legs(volunteer.id, minutes=60, category="elderly", points=100),
         kind="service_credit", idempotency_key="matrix-credit", actor=SYSTEM.id, now=NOW)
    item = catalogue.create_item(session, {"name": "毛巾", "kind": "goods", "price": 10, "station_id": station.id}, actor=SYSTEM, now=NOW)
    catalogue.change_stock(session, station.id, {"item_id": item.id, "change": 5}, actor=SYSTEM, now=NOW)
    here = counter.open_counter(session, station.id, actor=actor_for(session, clerk))
    ticket = counter.start_visit(session, here, phone_code(volunteer, "matrix", now=at), "matrix", now=at).ticket
    redemption, _ = counter.redeem(session, here, {"visit": ticket, "idempotency_key": "matrix-basket", "lines": [{"item_id": item.id, "quantity": 1}]}, "matrix", now=at)
    return item, redemption


def _a_pool_allocation(session, community, donor):
    """Gifts and the community pool: the donor gives 30 minutes to the community's pool, set aside for a resident's need."""
    from timebank.needs.models import Need, Resident
    from timebank.needs.pool import allocate

    rules.open_pool_account(session, community.id, now=NOW)
    post(session, rules.donation_legs(donor.id, community.id, 30), kind="donation", idempotency_key="matrix-donation", actor=donor.id, now=NOW)
    resident = Resident(organisation_id=community.id, real_name="独居老人", phone="13900009999", groups="living_alone",
                        birth_date=dt.date(1940, 1, 1), card_key="matrix-resident", created_at=NOW)
    session.add(resident)
    session.flush()
    need = Need(resident_id=resident.id, organisation_id=community.id, channel="hotline", description="买菜",
                contact_phone=resident.phone, recorded_at=NOW)
    session.add(need)
    session.flush()
    return allocate(session, need.id, 30, actor=SYSTEM, now=NOW)
# -- the order loop (timebank/needs/orders.py and its pages): a resident, a need, an order served and rated low --


def _an_order_loop(session, community, people, *, starts: dt.datetime) -> dict[str, int]:
    """A need of `east` made an order for the target, who visited and was rated two stars; the samples naming them."""
    from timebank.needs import orders, ratings, visits
    from timebank.needs.models import Need, Resident

    resident = Resident(organisation_id=community.id, real_name="张奶奶", phone="13912345678", address="东城社区3号楼401",
                        card_key="matrix-resident-card", created_at=NOW)
    session.add(resident)
    session.flush()
    need = Need(resident_id=resident.id, organisation_id=community.id, channel="grid", description="陪诊", contact_phone=resident.phone,
                recorded_by=people["social_worker"].id, recorded_at=NOW)
    session.add(need)
    session.flush()
    staff = actor_for(session, people["social_worker"])
    data = {"category": "elderly", "window_start": starts.isoformat(), "window_end": (starts + dt.timedelta(hours=4)).isoformat(), "expected_minutes": 60}
    order = orders.create_order(session, need.id, data, actor=staff, now=starts - dt.timedelta(days=1))
    [offer] = orders.dispatch(session, order.id, {"volunteer_ids": [people["target"].id]}, actor=staff, now=starts - dt.timedelta(days=1))
    orders.accept(session, offer.id, volunteer=people["target"], now=starts - dt.timedelta(days=1))
    for step, at in (("start", starts), ("end", starts + dt.timedelta(minutes=50))):
        visits.confirm_step(session, offer.id, step, {"method": "staff"}, actor=staff, secret_key="matrix", now=at)
    rating = ratings.rate(session, offer.id, {"stars": 2}, actor=staff, now=starts + dt.timedelta(hours=1))
    return {"need_id": need.id, "resident_id": resident.id, "order_id": order.id, "assignment_id": offer.id, "rating_id": rating.id}


def endpoints() -> list[tuple[str, str, str]]:
    """(endpoint, rule, method) for every route of the app."""
    app = create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": "x", "DATA_KEY": "x"})
    found = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((rule.endpoint, rule.rule, method))
    app.extensions["timebank.database"].dispose()
    return sorted(found)


ENDPOINTS = endpoints()


@pytest.fixture
def matrix_app(world: World, tmp_path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """The app on a fresh copy of the world."""
    path = tmp_path / "world.db"
    shutil.copyfile(world.path, path)
    monkeypatch.setenv("TIMEBANK_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{path}", "SECRET_KEY": "matrix", "DATA_KEY": "test-only-data-key", "RATELIMIT_ENABLED": False})
    yield app
    app.extensions["timebank.database"].dispose()


def url_for_rule(rule, samples: dict[str, object]) -> str:
    """The rule's URL with each argument taken from the samples."""
    missing = [arg for arg in rule.arguments if arg not in samples]
    assert not missing, f"{rule.endpoint}: add a sample for {missing} to the authorisation matrix"
    return rule.build({arg: samples[arg] for arg in rule.arguments}, append_unknown=False)[1]


def call(client: FlaskClient, method: str, url: str) -> object:
    """One request as a browser or an API client would send it (the response read and closed)."""
    if method == "GET":
        response = client.get(url)
    elif url.startswith("/api/"):
        response = client.open(url, method=method, json={})
    else:
        response = client.open(url, method=method, data={"csrf_token": csrf_token(client)})
    response.get_data()
    response.close()
    return response


@pytest.mark.parametrize(("endpoint", "rule", "method"), ENDPOINTS, ids=[f"{m} {r}" for _, r, m in ENDPOINTS])
def test_every_role_gets_the_answer_it_should(matrix_app: Flask, world: World, endpoint: str, rule: str, method: str):
    view = matrix_app.view_functions[endpoint]
    required = getattr(view, "required_roles", None)
    assert endpoint in PUBLIC or required is not None, f"{endpoint} is neither guarded by requires() nor declared PUBLIC"
    url_rule = next(r for r in matrix_app.url_map.iter_rules() if r.endpoint == endpoint and r.rule == rule)
    url = url_for_rule(url_rule, world.samples)
    is_api = url.startswith("/api/")
    targets_a_record = bool(url_rule.arguments - {"code", "filename"})

    anonymous = call(matrix_app.test_client(), method, url)
    if endpoint in PUBLIC or getattr(view, "allows_anonymous", False):
        assert anonymous.status_code < 500, f"anonymous {method} {url}: {anonymous.status_code}"
    elif is_api:
        assert anonymous.status_code == 401, f"anonymous {method} {url}: {anonymous.status_code}"
    else:
        assert anonymous.status_code == 302 and "/sign-in" in anonymous.location, f"anonymous {method} {url}: {anonymous.status_code}"

    for persona, (roles, org) in PERSONAS.items():
        client = matrix_app.test_client()
        signed_in = client.post("/sign-in", data={"phone": world.phones[persona], "password": PASSWORD, "csrf_token": csrf_token(client)})
        assert signed_in.status_code == 302, persona
        answer = call(client, method, url)
        status = answer.status_code
        held = {str(r) for r in roles} | {"volunteer"}
        wanted = {str(r) for r in required or ()}
        label = f"{persona} {method} {url}"
        assert status < 500, f"{label}: {status}"
        if endpoint in PUBLIC or not wanted:
            continue
        if not held & wanted:
            assert status == 403, f"{label}: {status}, expected 403 (needs {sorted(wanted)})"
        elif persona == "coordinator" and endpoint in FROM_ABOVE:
            assert status == 403, f"{label}: {status}, expected 403 (a peer of the target's social worker role)"
        elif persona == "coordinator_elsewhere" and targets_a_record:
            assert status in (403, 404), f"{label}: {status}, expected 403/404 outside its subtree"
        else:
            assert status not in (401, 403), f"{label}: {status}, expected to be allowed"


@pytest.fixture
def tablet_browser(matrix_app: Flask, world: World) -> FlaskClient:
    """A browser set up as the station's tablet, its clerk signed in on it."""
    client = matrix_app.test_client()
    def form_token(url: str) -> str:
        return client.get(url).get_data(as_text=True).split('name="csrf_token" value="', 1)[1].split('"', 1)[0]

    assert client.post("/device", data={"token": world.tablet, "csrf_token": form_token("/device")}).status_code == 302
    signed = client.post("/device/clerk", data={"phone": world.phones["station_staff"], "password": PASSWORD, "csrf_token": form_token("/device/clerk")})
    assert signed.status_code == 302, signed.get_data(as_text=True)
    return client


def test_a_station_device_reaches_only_what_a_device_may_do(matrix_app: Flask, world: World, tablet_browser: FlaskClient):
    """By bearer token, every API call not open to devices is 401; in its browser, every page but the counter's
    sends it back to the counter (or, for a change, 403)."""
    from timebank.auth.device_mode import EVERYWHERE, REACHABLE

    bearer = matrix_app.test_client()
    duty = bearer.post(f"/api/v1/stations/{world.samples['station_id']}/duty", json={"phone": world.phones["station_staff"], "password": PASSWORD},
                       headers={"Authorization": f"Bearer {world.tablet}"}).get_json()["duty"]
    bearer.environ_base.update(HTTP_AUTHORIZATION=f"Bearer {world.tablet}", HTTP_X_COUNTER_DUTY=duty)
    home = f"/stations/{world.samples['station_id']}/counter"
    form_token = tablet_browser.get(home).get_data(as_text=True).split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    for endpoint, rule, method in ENDPOINTS:
        view = matrix_app.view_functions[endpoint]
        url = url_for_rule(next(r for r in matrix_app.url_map.iter_rules() if r.endpoint == endpoint and r.rule == rule), world.samples)
        if url.startswith("/api/"):
            status = call(bearer, method, url).status_code
            if getattr(view, "allows_device", False) or endpoint in PUBLIC:
                assert status < 500 and status != 401, f"device {method} {url}: {status}"
            else:
                assert status == 401, f"device {method} {url}: {status}, expected 401"
            continue
        if endpoint in EVERYWHERE or endpoint.startswith("device.") or endpoint == "auth.sign_out":
            continue
        response = tablet_browser.open(url, method=method, data={} if method == "GET" else {"csrf_token": form_token})
        response.close()
        if endpoint in REACHABLE["station"]:
            assert response.status_code < 500 and response.location != home, f"tablet {method} {url}: {response.status_code}"
        elif method == "GET":
            assert (response.status_code, response.location) == (302, home), f"tablet {method} {url}: {response.status_code}"
        else:
            assert response.status_code == 403, f"tablet {method} {url}: {response.status_code}"
