"""A kiosk or screen device of an activity: in a browser it shows only that activity's kiosk and screen;
through the API it reads the venue's rotating codes."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, update

from timebank.auth.codes import card_code
from timebank.auth.models import DeviceToken
from timebank.auth.services import create_device_token
from timebank.events.models import Attendance
from tests.api.conftest import ZH
from tests.conftest import NOW, SYSTEM, signed_in, text
from tests.events.test_checkin_cost import statements


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    """The pages' and the API's clock: NOW, while the activity is under way."""
    for module in ("timebank.events.api", "timebank.events.views"):
        monkeypatch.setattr(f"{module}.now", lambda: NOW)


def kiosk_token(session, activity) -> str:
    _, plain = create_device_token(session, {"name": "签到屏", "scope_type": "activity", "scope_id": activity.id}, actor=SYSTEM, now=NOW)
    session.commit()
    return plain


def test_the_screen_device_reads_codes_through_the_api_that_check_a_volunteer_in(app, session, make_activity, make_person):
    activity, other = make_activity(), make_activity(title="社区清扫")
    device = {"Authorization": f"Bearer {kiosk_token(session, activity)}", **ZH}
    screen = app.test_client().get(f"/api/v1/activities/{activity.id}/screen", headers=device)
    assert screen.status_code == 200, screen.json
    assert screen.json["presence"] == {"in": 0, "total": 0} and screen.json["phase"] == "under_way"
    assert screen.json["check_in"]["url"].startswith("http://localhost/checkin/") and "<svg" in screen.json["check_in"]["svg"]
    assert 0 < screen.json["refresh_in"] <= 30

    volunteer = signed_in(app, make_person())
    checked = volunteer.post("/api/v1/check-ins", json={"code": screen.json["check_in"]["url"]})
    assert checked.status_code == 201, checked.json

    elsewhere = app.test_client().get(f"/api/v1/activities/{other.id}/screen", headers=device)
    assert (elsewhere.status_code, elsewhere.json["message"]) == (403, "这台设备不是为本活动设置的。")
    assert app.test_client().get(f"/api/v1/activities/{activity.id}/screen").status_code == 401
    assert volunteer.get(f"/api/v1/activities/{activity.id}/screen").status_code == 403


def test_a_screen_polling_by_get_writes_nothing_so_it_never_waits_for_the_venues_writers(app, session, make_activity):
    # The screen asks for fresh codes every half minute during the check-in burst: a GET with its bearer token
    # must not write the token's last use (in a read-only session it could not commit, and on SQLite it would
    # have to take the write lock the check-ins hold).
    activity = make_activity()
    device = {"Authorization": f"Bearer {kiosk_token(session, activity)}", **ZH}
    session.execute(update(DeviceToken).values(last_used_at=None))
    session.commit()
    with statements(app) as seen:
        screen = app.test_client().get(f"/api/v1/activities/{activity.id}/screen", headers=device)
    assert screen.status_code == 200, screen.json
    assert [sql for sql in seen if not sql.lstrip().upper().startswith("SELECT")] == []
    assert session.scalar(select(DeviceToken.last_used_at).execution_options(populate_existing=True)) is None


def test_a_kiosk_browser_shows_only_its_activitys_kiosk_and_scans_through_its_cookie(app, session, make_activity, make_person):
    activity, other = make_activity(), make_activity(title="社区清扫")
    volunteer = make_person(name="张小明")
    client = signed_in(app, make_person("coordinator", name="陈志强"))
    page = text(client.get("/device"))
    entered = client.post("/device", data={"token": kiosk_token(session, activity), "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)})
    assert entered.location == f"/activities/{activity.id}/kiosk"

    kiosk = text(client.get(entered.location))
    assert "签到屏" in kiosk and "陈志强" not in kiosk and "/sign-out" not in kiosk and f"/activities/{activity.id}\"" not in kiosk
    assert client.get(f"/activities/{activity.id}/screen").status_code == 200
    assert client.get(f"/activities/{other.id}/kiosk").status_code == 403
    for elsewhere in ("/people", "/activities/manage", f"/activities/{activity.id}", "/me"):
        assert client.get(elsewhere).location == f"/activities/{activity.id}/kiosk", elsewhere
    scanned = client.post(f"/api/v1/activities/{activity.id}/scans", json={"member_code": card_code(volunteer, app.config["SECRET_KEY"])})
    assert scanned.status_code == 200, scanned.json
    assert session.scalar(select(Attendance.check_in_method)) == "kiosk"
    assert client.get("/api/v1/activities/managed").status_code == 401
