"""The events API: activities, sign-up, check-in by venue code and by member code, review and corrections."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from timebank import ledger
from timebank.auth.codes import card_code
from timebank.auth.services import create_device_token
from timebank.events import tokens
from timebank.events.models import Activity, Attendance, CorrectionRequest
from timebank.ledger.models import Transaction
from tests.api.conftest import ZH
from tests.conftest import END, NOW, START, SYSTEM, signed_in

SECRET = "test-only-secret"  # the app fixture's SECRET_KEY
SECOND = dt.timedelta(seconds=1)
AFTER = END + dt.timedelta(hours=1)


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    """The API's clock: frozen at NOW, moved by `clock(moment)`."""
    moment = [NOW]
    monkeypatch.setattr("timebank.events.api.now", lambda: moment[0])

    def set_to(at: dt.datetime) -> dt.datetime:
        moment[0] = at
        return at

    return set_to


def code(activity, action="in", *, at=NOW, secret=SECRET) -> str:
    """The code the venue screen shows at `at`."""
    return tokens.screen_code(activity.code_key, action, secret, now=at)


def kiosk_token(session, activity_id: int) -> str:
    """A device token for a kiosk at the activity (plain), committed."""
    _, plain = create_device_token(session, {"name": "签到自助机", "scope_type": "activity", "scope_id": activity_id}, actor=SYSTEM, now=NOW)
    session.commit()
    return plain


def stored(session, activity_id: int) -> Activity:
    """The activity as stored (its code key is what the venue screen signs)."""
    activity = session.get(Activity, activity_id)
    session.commit()
    return activity


def bearer(token: str) -> dict[str, str]:
    """The headers a kiosk sends."""
    return {"Authorization": f"Bearer {token}", **ZH}


def check(client, activity, action="in", **body):
    """POST the venue code to /check-ins or /check-outs, in Chinese."""
    url = "/api/v1/check-ins" if action == "in" else "/api/v1/check-outs"
    return client.post(url, json={"code": code(activity, action), **body}, headers=ZH)


# -- the whole flow -----------------------------------------------------------


def test_an_activity_goes_from_draft_to_credit_through_the_api(app, session, clock, make_person, org_tree, count):
    clock(NOW - dt.timedelta(days=2))
    organiser = signed_in(app, make_person("coordinator", name="赵主任"))
    volunteer = signed_in(app, make_person(name="张明"))
    created = organiser.post(
        "/api/v1/activities",
        json={"title": "敬老院探访", "category": "elderly", "organisation_id": org_tree["east"].id, "address": "东城社区敬老院", "starts_at": "2026-11-20 09:00", "ends_at": "2026-11-20 11:00", "capacity": 10},
    )
    assert created.status_code == 201, created.json
    activity_id = created.json["activity"]["id"]
    assert created.json["phase"] == "draft" and created.json["activity"]["starts_at"] == START.isoformat()
    assert volunteer.get("/api/v1/activities").json == []

    assert organiser.post(f"/api/v1/activities/{activity_id}/publish", json={}).json["phase"] == "published"
    [listed] = volunteer.get("/api/v1/activities").json
    assert listed["expected_credit"] == {"minutes": 120, "points": 20}
    assert listed["activity"]["category_name"] == "助老服务" and listed["my_signup"] is None

    signed_up = volunteer.post(f"/api/v1/activities/{activity_id}/signup", json={})
    assert signed_up.status_code == 201 and signed_up.json["status"] == "signed_up"
    assert volunteer.get(f"/api/v1/activities/{activity_id}").json["my_signup"] == "signed_up"

    activity = stored(session, activity_id)
    at = clock(START + dt.timedelta(minutes=2))
    checked_in = volunteer.post("/api/v1/check-ins", json={"code": code(activity, at=at), "activity_id": activity_id}, headers=ZH)
    assert checked_in.status_code == 201, checked_in.json
    assert checked_in.json["message"] == "签到成功 09:02" and checked_in.json["local_time"] == "09:02"
    assert checked_in.json["activity"]["title"] == "敬老院探访"
    at = clock(END)
    checked_out = volunteer.post("/api/v1/check-outs", json={"code": code(activity, "out", at=at)}, headers=ZH)
    assert checked_out.status_code == 200 and checked_out.json["message"] == "签退成功 11:00"
    assert checked_out.json["attendance_id"] == checked_in.json["attendance_id"]

    clock(AFTER)
    [reviewed] = organiser.get(f"/api/v1/activities/{activity_id}/attendances").json
    # 09:02 to 11:00 is 118 minutes, rounded down to 105 (policy: 15-minute steps); 105 min at 10 points an hour is 17.
    assert (reviewed["attended_minutes"], reviewed["minutes"], reviewed["points"], reviewed["flags"]) == (118, 105, 17, [])
    approved = organiser.post(f"/api/v1/attendances/{reviewed['attendance']['id']}/approve", json={})
    assert approved.status_code == 200 and approved.json["status"] == "approved"

    [mine] = volunteer.get("/api/v1/me/attendances").json
    assert mine["attendance"]["status"] == "approved" and mine["activity"]["title"] == "敬老院探访"
    assert (mine["attendance"]["credited_minutes"], mine["attendance"]["credited_points"]) == (reviewed["minutes"], reviewed["points"])
    balances = volunteer.get("/api/v1/me").json["balances"]
    assert balances["hours"]["posted"] == reviewed["minutes"] and balances["points"]["posted"] == reviewed["points"]
    assert count(Transaction, Transaction.kind == "service_credit") == 1


# -- activities and sign-up ---------------------------------------------------


def test_a_draft_is_shown_to_its_organisers_only(app, session, make_activity, make_person):
    draft = make_activity(publish=False)
    organiser = signed_in(app, make_person("social_worker"))
    volunteer = signed_in(app, make_person())
    assert organiser.get(f"/api/v1/activities/{draft.id}").json["phase"] == "draft"
    answer = volunteer.get(f"/api/v1/activities/{draft.id}", headers=ZH)
    assert answer.status_code == 404 and answer.json["message"] == "找不到这个活动。"
    assert [a["activity"]["id"] for a in organiser.get("/api/v1/activities/managed").json] == [draft.id]


def test_bad_activity_input_says_what_is_wrong_per_field_and_creates_nothing(app, make_person, org_tree, count):
    organiser = signed_in(app, make_person("coordinator"))
    answer = organiser.post(
        "/api/v1/activities",
        json={"title": "", "category": "dancing", "organisation_id": org_tree["east"].id, "address": "活动室", "starts_at": "2026-11-22 11:00", "ends_at": "2026-11-22 09:00"},
        headers=ZH,
    )
    assert answer.status_code == 422 and answer.json["code"] == "invalid_input"
    assert answer.json["errors"]["category"] == ["请选择服务类别。"]
    assert set(answer.json["errors"]) == {"title", "category"}
    fields_right = {"title": "读书会", "category": "civility", "organisation_id": org_tree["east"].id, "address": "活动室"}
    answer = organiser.post("/api/v1/activities", json={**fields_right, "starts_at": "2026-11-22 11:00", "ends_at": "2026-11-22 09:00"}, headers=ZH)
    assert answer.json["errors"] == {"ends_at": ["结束时间必须晚于开始时间。"]}
    assert count(Activity) == 0


def test_a_coordinator_elsewhere_can_neither_create_nor_review_here(app, make_activity, make_person, org_tree, count):
    activity = make_activity()
    west = signed_in(app, make_person("coordinator", org="west"))
    body = {"title": "借地活动", "category": "elderly", "organisation_id": org_tree["east"].id, "address": "东城", "starts_at": "2026-11-22 09:00", "ends_at": "2026-11-22 10:00"}
    assert west.post("/api/v1/activities", json=body).status_code == 404
    assert west.get(f"/api/v1/activities/{activity.id}/attendances").status_code == 404
    assert west.post(f"/api/v1/activities/{activity.id}/cancel", json={"reason": "下雨"}).status_code == 404
    assert count(Activity) == 1


def test_anonymous_callers_get_a_json_401(client, make_activity):
    activity = make_activity()
    for method, url in (
        ("get", "/api/v1/activities"),
        ("get", f"/api/v1/activities/{activity.id}"),
        ("post", f"/api/v1/activities/{activity.id}/signup"),
        ("post", "/api/v1/check-ins"),
        ("post", f"/api/v1/activities/{activity.id}/scans"),
        ("get", "/api/v1/me/attendances"),
    ):
        answer = getattr(client, method)(url, json={}, headers=ZH) if method == "post" else client.get(url, headers=ZH)
        assert answer.status_code == 401 and answer.json["message"] == "请先登录", url


def test_a_full_activity_puts_later_volunteers_on_the_waiting_list_and_moves_them_up(app, clock, make_activity, make_person):
    clock(START - dt.timedelta(days=1))
    activity = make_activity(capacity=1)
    first, second = signed_in(app, make_person(name="甲")), signed_in(app, make_person(name="乙"))
    url = f"/api/v1/activities/{activity.id}/signup"
    assert (first.post(url, json={}).status_code, first.post(url, json={}).status_code) == (201, 200)
    waiting = second.post(url, json={})
    assert waiting.status_code == 201 and waiting.json["status"] == "waiting"
    assert second.get(f"/api/v1/activities/{activity.id}").json["signups"] == {"signed_up": 1, "waiting": 1}

    assert first.delete(url, json={}).json["status"] == "cancelled"

    assert second.get(f"/api/v1/activities/{activity.id}").json["my_signup"] == "signed_up"
    assert first.delete(url, json={}, headers=ZH).json["code"] == "conflict"


def test_cancelling_an_activity_needs_a_reason(app, clock, make_activity, make_person):
    clock(START - dt.timedelta(days=1))
    activity = make_activity()
    organiser = signed_in(app, make_person("social_worker"))
    refused = organiser.post(f"/api/v1/activities/{activity.id}/cancel", json={"reason": "  "}, headers=ZH)
    assert refused.status_code == 422 and refused.json["errors"] == {"reason": ["请填写理由。"]}
    cancelled = organiser.post(f"/api/v1/activities/{activity.id}/cancel", json={"reason": "台风预警"})
    assert cancelled.json["phase"] == "cancelled" and cancelled.json["activity"]["cancel_reason"] == "台风预警"


# -- check-in by the venue code -----------------------------------------------


@pytest.mark.parametrize(
    ("case", "status", "error_code", "message"),
    [
        ("forged", 422, "invalid_activity_code", "这不是有效的签到码。请重新扫描活动现场屏幕上的码。"),
        ("expired", 422, "code_expired", "这个码已过期。请重新扫描屏幕上的码，它每 30 秒更换一次。"),
        ("another activity", 422, "wrong_activity", "这个码属于另一个活动：社区清扫。"),
        ("check-out code at check-in", 422, "check_out_code_at_check_in", "这是签退码。签到请扫描屏幕上的签到码。"),
    ],
)
def test_a_bad_code_is_refused_with_its_own_reason_and_nothing_is_recorded(app, clock, make_activity, make_person, count, case, status, error_code, message):
    activity, other = make_activity(), make_activity(title="社区清扫")
    volunteer = signed_in(app, make_person())
    token = {
        "forged": code(activity, secret="someone-elses-key"),
        "expired": code(activity, at=NOW - 61 * SECOND),  # older than this window and the one before
        "another activity": code(other),
        "check-out code at check-in": code(activity, "out"),
    }[case]
    answer = volunteer.post("/api/v1/check-ins", json={"code": token, "activity_id": activity.id}, headers=ZH)
    assert (answer.status_code, answer.json["code"], answer.json["message"]) == (status, error_code, message)
    assert count(Attendance) == 0


def test_a_code_replayed_after_check_out_records_nothing_more(app, session, clock, make_activity, make_person, count):
    activity = make_activity()
    volunteer = signed_in(app, make_person())
    check_in_code, check_out_code = code(activity), code(activity, "out")
    assert volunteer.post("/api/v1/check-ins", json={"code": check_in_code}).status_code == 201
    again = volunteer.post("/api/v1/check-ins", json={"code": check_in_code}, headers=ZH)
    assert (again.status_code, again.json["code"], again.json["message"]) == (409, "already_checked_in", "您已于 10:00 签到过了。")
    clock(NOW + 10 * SECOND)
    assert volunteer.post("/api/v1/check-outs", json={"code": check_out_code}).status_code == 200

    clock(NOW + 20 * SECOND)  # both codes are still fresh: only the record says no
    for url, token in (("/api/v1/check-ins", check_in_code), ("/api/v1/check-outs", check_out_code)):
        replay = volunteer.post(url, json={"code": token}, headers=ZH)
        assert (replay.status_code, replay.json["code"], replay.json["message"]) == (409, "already_checked_out", "您已于 10:00 签退过了。")
    assert count(Attendance) == 1
    assert session.scalar(select(Attendance.checked_out_at)) == NOW + 10 * SECOND


@pytest.mark.parametrize("wrap", [
    lambda token: f"http://localhost/checkin/{token}",
    lambda token: f"  https://timebank.example.cn/checkin/{token}?from=wechat\n",
    lambda token: f"/checkin/{token}/",
])
def test_the_whole_scanned_venue_url_checks_in_as_the_bare_code_does(app, session, make_activity, make_person, wrap):
    """A phone's camera hands over the QR code's whole URL; the API finds the code in it."""
    activity = make_activity()
    answer = signed_in(app, make_person()).post("/api/v1/check-ins", json={"code": wrap(code(activity))}, headers=ZH)
    assert answer.status_code == 201, answer.json
    assert session.scalar(select(Attendance.activity_id)) == activity.id


def test_a_scanned_check_out_url_at_check_in_is_refused_as_the_check_out_code(app, make_activity, make_person, count):
    activity = make_activity()
    answer = signed_in(app, make_person()).post("/api/v1/check-ins", json={"code": f"http://localhost/checkout/{code(activity, 'out')}"}, headers=ZH)
    assert (answer.status_code, answer.json["code"]) == (422, "check_out_code_at_check_in")
    assert count(Attendance) == 0


def test_an_activity_for_signed_up_volunteers_refuses_anyone_else(app, make_activity, make_person, count):
    activity = make_activity(signup_required=True)
    answer = check(signed_in(app, make_person()), activity)
    assert (answer.status_code, answer.json["code"]) == (409, "not_signed_up")
    assert answer.json["message"] == "本活动只限已报名的志愿者参加。请先报名，或问问组织者。"
    assert count(Attendance) == 0


def test_a_shared_position_is_kept_as_the_distance_from_the_venue(app, session, make_activity, make_person):
    activity = make_activity(latitude=34.7700, longitude=111.1900, radius_m=200)
    answer = check(signed_in(app, make_person()), activity, latitude=34.7709, longitude=111.1900)
    assert answer.status_code == 201
    assert session.scalar(select(Attendance.distance_m)) == 100


# -- check-in by member code at a kiosk ---------------------------------------


def test_a_kiosk_of_the_activity_checks_volunteers_in_and_out_by_member_code(app, session, clock, make_activity, make_person):
    activity, volunteer = make_activity(), make_person(name="张小明")
    kiosk, headers = app.test_client(), bearer(kiosk_token(session, activity.id))
    url = f"/api/v1/activities/{activity.id}/scans"

    # A scanner that reads a card's code as a link hands over the whole text; the code in it counts.
    scanned = kiosk.post(url, json={"member_code": f"https://timebank.example.cn/m/{card_code(volunteer, SECRET)}", "action": "in"}, headers=headers)

    assert scanned.status_code == 200, scanned.json
    assert scanned.json["volunteer"]["masked_name"] == "张**" and scanned.json["message"] == "张** 签到成功 10:00"
    assert scanned.json["presence"] == {"in": 1, "total": 1}
    clock(END - dt.timedelta(minutes=1))
    out = kiosk.post(url, json={"member_code": card_code(volunteer, SECRET), "action": "out"}, headers=headers)
    assert out.json["presence"] == {"in": 0, "total": 1} and out.json["message"] == "张** 签退成功 10:59"
    attendance = session.scalar(select(Attendance))
    assert (attendance.check_in_method, attendance.check_out_method, attendance.recorded_by) == ("kiosk", "kiosk", None)


def test_a_station_token_or_another_activitys_kiosk_cannot_scan_here(app, session, make_activity, make_person, make_station, device_token, count):
    activity, other = make_activity(), make_activity(title="社区清扫")
    member_code = card_code(make_person(), SECRET)
    _, station_plain = device_token(make_station())
    for plain in (station_plain, kiosk_token(session, other.id)):
        answer = app.test_client().post(f"/api/v1/activities/{activity.id}/scans", json={"member_code": member_code}, headers=bearer(plain))
        assert (answer.status_code, answer.json["code"], answer.json["message"]) == (403, "forbidden", "这台设备不是为本活动设置的。")
    assert count(Attendance) == 0


def test_an_organiser_signed_in_scans_member_codes_and_is_recorded_as_the_scanner(app, session, make_activity, make_person, count):
    activity, volunteer = make_activity(), make_person(name="李华")
    organiser = make_person("social_worker", name="周社工")
    url = f"/api/v1/activities/{activity.id}/scans"
    assert signed_in(app, make_person("coordinator", org="west")).post(url, json={"member_code": card_code(volunteer, SECRET)}).status_code == 404
    client = signed_in(app, organiser)
    bad = client.post(url, json={"member_code": "not-a-code"}, headers=ZH)
    assert (bad.status_code, bad.json["code"]) == (422, "invalid_member_code")
    assert count(Attendance) == 0

    assert client.post(url, json={"member_code": card_code(volunteer, SECRET)}).status_code == 200
    assert session.scalar(select(Attendance.recorded_by)) == organiser.id


def test_the_person_in_charge_runs_the_kiosk_but_a_volunteer_elsewhere_cannot(app, session, make_activity, make_person, count):
    leader = make_person(name="刘队长")  # a volunteer who leads this activity, no carer's role
    activity = make_activity(person_in_charge_id=leader.id)
    url = f"/api/v1/activities/{activity.id}/scans"
    assert signed_in(app, make_person()).post(url, json={"member_code": card_code(make_person(), SECRET)}).status_code == 403
    assert signed_in(app, leader).post(url, json={"member_code": card_code(make_person(), SECRET)}).status_code == 200
    assert count(Attendance) == 1


# -- review -------------------------------------------------------------------


@pytest.fixture
def attended(app, session, clock, make_activity, make_person):
    """A volunteer who scanned in at the start (or later) and out at the end, through the API; the clock back at NOW."""

    def attend(activity=None, *, name="张明", late=dt.timedelta(0)):
        activity = activity or make_activity()
        volunteer = make_person(name=name)
        client = signed_in(app, volunteer)
        for action, at in (("in", START + late), ("out", END)):
            clock(at)
            assert check(client, activity, action, code=code(activity, action, at=at)).status_code == (201 if action == "in" else 200)
        clock(NOW)
        return activity, volunteer, client, session.scalar(select(Attendance.id).where(Attendance.volunteer_id == volunteer.id))

    return attend


def test_two_approvals_of_the_same_attendance_post_once(app, clock, attended, make_person, count):
    _, _, _, attendance_id = attended()
    clock(AFTER)
    first, second = (signed_in(app, make_person(role)) for role in ("social_worker", "coordinator"))
    answers = [reviewer.post(f"/api/v1/attendances/{attendance_id}/approve", json={}) for reviewer in (first, first, second)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert {a.json["status"] for a in answers} == {"approved"} and {a.json["credited_minutes"] for a in answers} == {120}
    assert count(Transaction, Transaction.kind == "service_credit") == 1


def test_approving_all_unflagged_leaves_the_late_arrival_for_a_closer_look(app, clock, attended, make_person):
    activity, _, _, on_time = attended()
    _, _, _, late = attended(activity, name="迟到者", late=dt.timedelta(minutes=40))
    clock(AFTER)
    organiser = signed_in(app, make_person("coordinator"))

    answer = organiser.post(f"/api/v1/activities/{activity.id}/approve-unflagged", json={}, headers=ZH).json

    assert answer["approved"] == [on_time] and answer["at_cap"] == []
    assert answer["exceptions"] == [{
        "attendance_id": late, "volunteer_id": answer["exceptions"][0]["volunteer_id"], "volunteer_name": "迟到者",
        "reason": "flagged", "flags": ["late"], "message": "有标记（迟到）：请查看后单独决定。",
    }]

    listed = {item["attendance"]["id"]: item for item in organiser.get(f"/api/v1/activities/{activity.id}/attendances").json}
    assert listed[late]["flags"] == ["late"] and listed[late]["attendance"]["status"] == "checked_out"
    assert listed[late]["volunteer_name"] == "迟到者"


def test_a_reviewer_rejects_with_a_reason_or_adjusts_the_minutes(app, clock, attended, make_person):
    activity, _, _, first = attended()
    _, _, _, second = attended(activity, name="王芳")
    clock(AFTER)
    organiser = signed_in(app, make_person("social_worker"))
    refused = organiser.post(f"/api/v1/attendances/{first}/reject", json={}, headers=ZH)
    assert refused.status_code == 422 and refused.json["errors"] == {"reason": ["请填写理由。"]}
    rejected = organiser.post(f"/api/v1/attendances/{first}/reject", json={"reason": "未在现场"})
    assert (rejected.json["status"], rejected.json["reject_reason"]) == ("rejected", "未在现场")

    adjusted = organiser.post(f"/api/v1/attendances/{second}/adjust", json={"minutes": 90, "reason": "中途离开半小时"})
    assert (adjusted.json["adjusted_minutes"], adjusted.json["adjust_reason"]) == (90, "中途离开半小时")
    assert organiser.post(f"/api/v1/attendances/{second}/approve", json={}).json["credited_minutes"] == 90


def test_a_correction_of_spent_credit_is_refused_with_credit_spent_and_a_coordinator_writes_it_off(app, session, clock, attended, make_person, count):
    _, volunteer, _, attendance_id = attended()
    clock(AFTER)
    worker, coordinator = signed_in(app, make_person("social_worker")), signed_in(app, make_person("coordinator"))
    worker.post(f"/api/v1/attendances/{attendance_id}/approve", json={})
    ledger.open_account(session, "station:1:PTS", commodity="PTS", owner_type="station", owner_id=1, now=AFTER)
    ledger.post(session, ledger.rules.redemption_legs(volunteer.id, 1, 20), kind="redemption", idempotency_key="spent", actor=volunteer.id, now=AFTER)
    session.commit()

    refused = worker.post(f"/api/v1/attendances/{attendance_id}/adjust", json={"minutes": 60, "reason": "只待了一小时"}, headers=ZH)
    not_theirs = worker.post(f"/api/v1/attendances/{attendance_id}/write-off", json={"minutes": 60, "reason": "只待了一小时"})
    written_off = coordinator.post(f"/api/v1/attendances/{attendance_id}/write-off", json={"minutes": 60, "reason": "只待了一小时"})

    assert (refused.status_code, refused.json["code"]) == (409, "credit_spent")
    assert "短缺 0 分钟、10 积分" in refused.json["message"] and refused.json["errors"] == {"write_off": ["协调员可登记原因核销短缺部分。"]}
    assert not_theirs.status_code == 403
    assert written_off.status_code == 200 and (written_off.json["credited_minutes"], written_off.json["credited_points"]) == (60, 10)
    assert count(Transaction, Transaction.kind == "write_off") == 1


def test_reviewing_before_the_activity_has_finished_is_a_conflict(app, attended, make_person):
    _, _, _, attendance_id = attended()  # the clock is still NOW, during the activity
    answer = signed_in(app, make_person("coordinator")).post(f"/api/v1/attendances/{attendance_id}/approve", json={}, headers=ZH)
    assert (answer.status_code, answer.json["message"]) == (409, "活动结束后才能审核出勤记录。")


# -- the volunteer's record and corrections -----------------------------------


def test_a_volunteer_reports_an_error_and_the_accepted_correction_is_credited(app, clock, attended, make_person, count):
    _, _, volunteer, attendance_id = attended()
    clock(AFTER)
    organiser = signed_in(app, make_person("coordinator"))
    organiser.post(f"/api/v1/attendances/{attendance_id}/approve", json={})
    stranger = signed_in(app, make_person(name="路人"))
    assert stranger.post(f"/api/v1/attendances/{attendance_id}/corrections", json={"message": "不是我的"}).status_code == 404

    report = volunteer.post(f"/api/v1/attendances/{attendance_id}/corrections", json={"message": "我待到了11:30", "claimed_minutes": 150})
    assert report.status_code == 201 and report.json["status"] == "open"
    assert volunteer.post(f"/api/v1/attendances/{attendance_id}/corrections", json={"message": "再说一次"}).status_code == 409
    [listed] = organiser.get("/api/v1/correction-requests").json
    assert (listed["volunteer_name"], listed["activity_title"], listed["claimed_minutes"]) == ("张明", "敬老院探访", 150)

    incomplete = organiser.post(f"/api/v1/correction-requests/{listed['id']}/answer", json={"accept": "accept", "answer": "已核实"}, headers=ZH)
    assert incomplete.status_code == 422 and incomplete.json["errors"] == {"minutes": ["请填写这次出勤应记录的分钟数。"]}
    answered = organiser.post(f"/api/v1/correction-requests/{listed['id']}/answer", json={"accept": "accept", "answer": "已核实", "minutes": 150})
    assert answered.json["status"] == "accepted"

    [mine] = volunteer.get("/api/v1/me/attendances").json
    assert mine["attendance"]["credited_minutes"] == 150 and mine["correction"]["status"] == "accepted"
    assert volunteer.get("/api/v1/me").json["balances"]["hours"]["posted"] == 150
    assert organiser.get("/api/v1/correction-requests").json == []
    assert count(CorrectionRequest) == 1
