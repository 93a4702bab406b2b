"""What one check-in costs the database: a count of SQL statements, which does not vary with the machine's load."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import event

from timebank.events import tokens
from timebank.events.services import sign_up
from tests.api.conftest import ZH
from tests.conftest import NOW, csrf_token, signed_in, text

#: One check-in by the venue code: the signed-in person with their live sign-in, the activity with the
#: policy in force at its organisation (one row per level of the tree), the insert that checks everything else.
API_CHECK_IN = 3
#: The page a scanned code opens sends itself: the same work, then the page's menu (the person's roles and
#: their unread notices).
PAGE_CHECK_IN = 5


@contextlib.contextmanager
def statements(app) -> Iterator[list[str]]:
    """Every SQL statement the app's engine runs inside the block (BEGIN and COMMIT are not statements)."""
    engine = app.extensions["timebank.database"].engine
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


@pytest.fixture
def frozen(monkeypatch):
    """Both check-in paths see NOW."""
    monkeypatch.setattr("timebank.events.api.now", lambda: NOW)
    monkeypatch.setattr("timebank.events.volunteer_views.now", lambda: NOW)


@pytest.mark.parametrize("signup_required", [False, True], ids=["open", "signed-up"])
def test_an_api_check_in_takes_a_handful_of_statements(app, session, frozen, make_activity, make_person, signup_required):
    activity, volunteer = make_activity(signup_required=signup_required), make_person(name="王秀英")
    if signup_required:  # the insert itself checks the place
        sign_up(session, activity.id, volunteer=volunteer, now=NOW - dt.timedelta(days=1))
        session.commit()
    client = signed_in(app, volunteer)
    code = tokens.screen_code(activity.code_key, "in", app.config["SECRET_KEY"], now=NOW)
    with statements(app) as seen:
        answer = client.post("/api/v1/check-ins", json={"code": code, "activity_id": activity.id}, headers=ZH)
    assert answer.status_code == 201, answer.get_json()
    assert len(seen) <= API_CHECK_IN, "\n".join(seen)


def test_a_check_in_from_the_scanned_page_takes_a_handful_of_statements(app, frozen, make_activity, make_person):
    activity = make_activity(signup_required=False)
    client = signed_in(app, make_person(name="王秀英"))
    code = tokens.screen_code(activity.code_key, "in", app.config["SECRET_KEY"], now=NOW)
    form = {"csrf_token": csrf_token(client)}
    with statements(app) as seen:
        answer = client.post(f"/checkin/{code}", data=form)
    assert answer.status_code == 200 and "签到成功 10:00" in text(answer)
    assert len(seen) <= PAGE_CHECK_IN, "\n".join(seen)
