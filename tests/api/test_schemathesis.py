"""The API against its own OpenAPI document: schemathesis with every check, signed in as each role and as a station device.

Any 500, any status code or body the document does not declare, any invalid
input accepted or valid input refused, fails the run. It is bounded: a fixed
number of examples per operation, derandomised (the same cases every run),
and one wall-clock budget for the whole run, past which each remaining
operation is tried with a single example. It runs on SQLite; what only
PostgreSQL refused (a boolean for an id) has its own test on both databases
in test_hostile_input.py.
"""

from __future__ import annotations

import datetime as dt
import gc
import time
from importlib.metadata import version

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.auths import AuthStorage
from schemathesis.config import PositiveDataAcceptanceConfig

from timebank.auth.services import create_device_token
from timebank.events import services as events
from timebank.people.access import actor_for
from timebank.redeem import catalogue
from timebank.redeem.services import create_station
from tests.conftest import NOW, SYSTEM, signed_in

ACTORS = ("admin", "coordinator", "social_worker", "station_staff", "volunteer", "device")
EXAMPLES = 4
#: The whole run's budget (about 90 s on a quiet two-core machine).
BUDGET_S = 120


@pytest.fixture
def db(sqlite_db):
    """SQLite only: the run is too long to repeat on PostgreSQL within the suite's time."""
    return sqlite_db


@pytest.fixture
def world(session, org_tree, make_person):
    """A community with a station, an item, an activity, a person of each role and a station device."""
    station = create_station(session, org_tree["east"].id, {"name": "东城驿站", "address": "人民路1号"}, actor=SYSTEM, now=NOW)
    catalogue.create_item(session, {"name": "大米 5kg", "kind": "goods", "price": 60, "station_id": station.id}, actor=SYSTEM, now=NOW)
    session.commit()
    people = {role: make_person(role, station_id=station.id if role == "station_staff" else None) for role in ACTORS[:-1]}
    leader = actor_for(session, people["social_worker"])
    activity = events.create_activity(session, {
        "title": "敬老院探访", "category": "elderly", "organisation_id": org_tree["east"].id, "address": "东城社区敬老院",
        "starts_at": (NOW + dt.timedelta(days=1)).isoformat(), "ends_at": (NOW + dt.timedelta(days=1, hours=2)).isoformat(),
    }, actor=leader, now=NOW)
    events.publish_activity(session, activity.id, actor=leader, now=NOW)
    _, token = create_device_token(session, {"name": "收银平板", "scope_type": "station", "scope_id": station.id}, actor=SYSTEM, now=NOW)
    session.commit()
    return people, token


def credentials(*, cookie: str | None = None, token: str | None = None) -> AuthStorage:
    """How each generated request signs in: the session cookie of a signed-in person, or a device's bearer token.

    Given this way, schemathesis also knows what to take away when it checks that
    every operation refuses a request without them (or with made-up ones).
    """

    class Credentials:
        def get(self, case, context) -> str:
            return cookie or token

        def set(self, case, data: str, context) -> None:
            if cookie:
                case.cookies = {**(case.cookies or {}), "session": data}
            else:
                case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    storage = AuthStorage()
    storage.auth(refresh_interval=None)(Credentials)
    return storage


@pytest.mark.slow
# schemathesis's WSGI transport never closes a streamed answer (an export's download is a file): the file is
# closed by the garbage collector, whenever that runs, which is no finding about the API.
@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
def test_the_api_keeps_to_its_document_for_every_actor(app, world):
    people, token = world
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    # Business rules (an activity ending before it starts, an unknown phone number) refuse
    # schema-valid input with 422 by design; everything else is checked as schemathesis ships it.
    schema.config.checks.positive_data_acceptance = PositiveDataAcceptanceConfig(
        expected_statuses=["2xx", "3xx", "401", "403", "404", "409", "422", "429"]
    )
    operations = [result.ok() for result in schema.get_all_operations()]
    # Sessions are bound to the address and browser that signed in (flask-login's strong protection).
    headers = {"User-Agent": f"Werkzeug/{version('werkzeug')}"}
    environ = {"REMOTE_ADDR": "127.0.0.1"}
    deadline = time.monotonic() + BUDGET_S
    failures: list[str] = []
    for actor in ACTORS:
        if actor == "device":
            auth = credentials(token=token)
        else:
            auth = credentials(cookie=signed_in(app, people[actor]).get_cookie("session").value)
        for operation in operations:
            examples = EXAMPLES if time.monotonic() < deadline else 1
            cases = operation.as_strategy(GenerationMode.POSITIVE, auth_storage=auth) | operation.as_strategy(
                GenerationMode.NEGATIVE, auth_storage=auth
            )

            @settings(max_examples=examples, derandomize=True, database=None, deadline=None, phases=[Phase.explicit, Phase.generate],
                      suppress_health_check=list(HealthCheck))
            @given(case=cases)
            def exercise(case) -> None:
                case.call_and_validate(headers=headers, environ_base=environ)

            try:
                exercise()
            except (Exception, BaseExceptionGroup) as exc:  # every operation is tried; all that fail are reported together
                failures.append(f"{actor} {operation.method.upper()} {operation.path}: {str(exc).strip()[:1500]}")
    gc.collect()  # close the downloads' files here, under this test's warning filters
    assert not failures, "\n\n".join(failures)
