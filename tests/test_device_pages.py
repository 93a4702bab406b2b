"""Device token pages: a token is shown once, listed by prefix only, and revoked with one button."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from tests.conftest import NOW, SYSTEM, send, signed_in, text
from timebank.auth.models import DeviceToken
from timebank.auth.services import authenticate_device
from timebank.events.services import cancel_activity, create_activity
from timebank.redeem.services import create_station


def device_for(session, plain):
    """The live token this plain string is, as a device signing in would find it (and its use recorded)."""
    try:
        return authenticate_device(session, plain, now=NOW)
    finally:
        session.commit()


def token_count(session) -> int:
    try:
        return session.scalar(select(func.count()).select_from(DeviceToken))
    finally:
        session.commit()


@pytest.fixture
def stations(session, org_tree):
    """A station in each community."""
    made = {key: create_station(session, org_tree[key].id, {"name": name}, actor=SYSTEM, now=NOW) for key, name in (("east", "26度万家驿站"), ("west", "西关驿站"))}
    session.commit()
    return made


@pytest.fixture
def coordinator(app, make_person):
    """A client signed in as the east community's coordinator."""
    return signed_in(app, make_person("coordinator"))


def test_a_new_token_is_shown_once_and_then_only_its_prefix(coordinator, stations, session):
    answer = send(coordinator, "/devices", name="前台平板", scope=f"station:{stations['east'].id}")

    assert answer.status_code == 201 and answer.headers["Cache-Control"] == "no-store"
    plain = re.search(r"tbd_[A-Za-z0-9_-]+", text(answer)).group(0)
    assert "只显示这一次" in text(answer)
    assert device_for(session, plain).name == "前台平板"
    listing = text(coordinator.get("/devices"))
    assert "前台平板" in listing and plain[:10] in listing and plain not in listing and "26度万家驿站" in listing


def test_a_revoked_token_stops_working(coordinator, stations, session):
    plain = re.search(r"tbd_[A-Za-z0-9_-]+", text(send(coordinator, "/devices", name="自助机", scope=f"station:{stations['east'].id}"))).group(0)
    token_id = device_for(session, plain).id

    answer = send(coordinator, f"/devices/{token_id}/revoke")

    assert answer.status_code == 302
    assert device_for(session, plain) is None
    assert "已于" in text(coordinator.get("/devices"))


@pytest.mark.parametrize(
    ("name", "station", "message"),
    [("", "east", "请输入名称"), ("平" * 101, "east", "请输入名称"), ("平板", None, "请选择这台设备的用途")],
    ids=["no name", "long name", "no station"],
)
def test_bad_token_input_is_refused_clearly_and_nothing_is_written(coordinator, stations, session, name, station, message):
    answer = send(coordinator, "/devices", name=name, scope=f"station:{stations[station].id}" if station else "")
    assert answer.status_code == 422 and message in text(answer)
    assert token_count(session) == 0


def test_a_coordinator_cannot_make_or_revoke_tokens_for_another_community(app, coordinator, make_person, stations, session):
    assert send(coordinator, "/devices", name="冒名平板", scope=f"station:{stations['west'].id}").status_code == 404
    assert token_count(session) == 0
    west = signed_in(app, make_person("coordinator", org="west"))
    plain = re.search(r"tbd_[A-Za-z0-9_-]+", text(send(west, "/devices", name="西关平板", scope=f"station:{stations['west'].id}"))).group(0)

    assert "西关平板" not in text(coordinator.get("/devices"))
    assert send(coordinator, f"/devices/{device_for(session, plain).id}/revoke").status_code == 404
    assert device_for(session, plain) is not None


def test_a_volunteer_cannot_open_the_devices_page(app, make_person):
    assert signed_in(app, make_person()).get("/devices").status_code == 403


@pytest.fixture
def activities(session, org_tree, make_person):
    """An open activity and a cancelled one in `east`, and an open one in `west`."""
    leader = make_person("social_worker", name="王社工")

    def make(title, org="east"):
        data = {
            "title": title,
            "category": "elderly",
            "organisation_id": org_tree[org].id,
            "address": "东城社区活动室",
            "starts_at": "2026-11-22 09:00",
            "ends_at": "2026-11-22 11:00",
            "person_in_charge_id": leader.id,
        }
        return create_activity(session, data, actor=SYSTEM, now=NOW)

    made = {"open": make("敬老院探访"), "cancelled": make("取消的义诊"), "west": make("西关清扫", org="west")}
    cancel_activity(session, made["cancelled"].id, "天气原因", actor=SYSTEM, now=NOW)
    session.commit()
    return made


def test_a_kiosk_token_is_made_for_an_open_activity_and_listed_with_its_title(coordinator, activities, session):
    page = text(coordinator.get("/devices"))
    assert f'value="activity:{activities["open"].id}"' in page
    assert "取消的义诊" not in page and "西关清扫" not in page

    answer = send(coordinator, "/devices", name="签到自助机", scope=f"activity:{activities['open'].id}")

    assert answer.status_code == 201 and "敬老院探访" in text(answer)
    token = device_for(session, re.search(r"tbd_[A-Za-z0-9_-]+", text(answer)).group(0))
    assert (token.scope_type, token.scope_id) == ("activity", activities["open"].id)
    assert "敬老院探访" in text(coordinator.get("/devices"))


def test_a_kiosk_token_for_another_communitys_activity_is_refused(coordinator, activities, session):
    assert send(coordinator, "/devices", name="冒名自助机", scope=f"activity:{activities['west'].id}").status_code == 404
    assert token_count(session) == 0
