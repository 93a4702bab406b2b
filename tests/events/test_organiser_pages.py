"""The organisers' pages, through the HTTP client: the manage list, the activity form, publishing and
cancelling, the venue screen and its JSON, the poster (PDF and PNG) and the kiosk page."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
import zxingcpp
from flask_babel import gettext
from PIL import Image
from sqlalchemy import func, select

from timebank.events import checkin, services, tokens
from timebank.events.models import Activity, ActivityStatus
from timebank.people.access import CARERS, actor_for
from timebank.people.models import Person
from tests.conftest import END, NOW, START, send, signed_in, text

SECRET = "test-only-secret"  # the app fixture's SECRET_KEY
TOMORROW = dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pages see NOW (10:00 on the day of the fixtures' 09:00-11:00 activity)."""
    monkeypatch.setattr("timebank.events.views.now", lambda: NOW)


def chinese(app, msgid: str, **params) -> str:
    """The Chinese the pages show for a message (the catalogue's, so a reworded translation breaks nothing)."""
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        translated = gettext(msgid, **params)
    assert re.search(r"[\u4e00-\u9fff]", translated), f"not translated: {msgid!r}"
    return translated


def leader_of(session, activity: Activity):
    """The person in charge of the activity."""
    return session.get(Person, activity.person_in_charge_id)


def form_for(org_tree, **fields) -> dict[str, object]:
    """What the new-activity form sends for a morning activity tomorrow in `east`."""
    return {
        "title": "重阳节敬老院探访",
        "category": "elderly",
        "organisation_id": org_tree["east"].id,
        "address": "东城社区敬老院",
        "starts_at": "2026-11-21T09:00",
        "ends_at": "2026-11-21T11:30",
        "capacity": "20",
        "credit_mode": "actual",
        "signup_required": "on",
        **fields,
    }


def stored(session, activity_id: int) -> Activity:
    """The activity as stored now; the test's transaction ends at once, so the app's next write is not kept waiting."""
    session.expire_all()
    activity = session.get(Activity, activity_id)
    session.commit()
    return activity


def count_activities(session) -> int:
    """How many activities are stored."""
    return session.scalar(select(func.count()).select_from(Activity))


# -- creating and editing ------------------------------------------------------------------


def test_the_new_activity_form_offers_the_actors_organisations_leaders_and_training(app, make_person):
    worker = make_person("social_worker", name="赵社工")
    page = text(signed_in(app, worker).get("/activities/new"))
    assert "东城社区" in page and "东城助老服务队" in page
    assert "西关社区" not in page  # another community: not the actor's to organise in
    assert f'<option value="{worker.id}" selected>赵社工' in page  # the actor in charge by default
    assert 'value="training"' in page and "培训" in page
    assert 'type="datetime-local"' in page
    assert 'placeholder="10"' in page  # the policy's points per hour


def test_creating_an_activity_through_the_form_saves_a_draft_in_local_time(app, session, org_tree, make_person):
    worker = make_person("social_worker")
    client = signed_in(app, worker)
    answer = send(client, "/activities/new", **form_for(org_tree))
    assert answer.status_code == 302
    activity = session.scalar(select(Activity))
    assert answer.headers["Location"].endswith(f"/activities/{activity.id}")
    assert activity.status == ActivityStatus.DRAFT.value
    assert activity.starts_at == dt.datetime(2026, 11, 21, 1, 0, tzinfo=dt.timezone.utc)  # 09:00 in Shanghai
    assert activity.person_in_charge_id == worker.id
    assert (activity.capacity, activity.signup_required, activity.poster_allowed) == (20, True, False)
    page = text(client.get(answer.headers["Location"]))
    assert "重阳节敬老院探访" in page and "草稿" in page
    assert chinese(app, "Saved as a draft. Volunteers see the activity once you publish it.") in page


def test_an_end_before_the_start_is_refused_with_the_reason_and_nothing_is_saved(app, session, org_tree, make_person):
    client = signed_in(app, make_person("coordinator"))
    answer = send(client, "/activities/new", **form_for(org_tree, ends_at="2026-11-21T08:00"))
    assert answer.status_code == 422
    page = text(answer)
    assert chinese(app, "The end must come after the start.") in page
    assert 'value="重阳节敬老院探访"' in page  # what was typed is kept
    assert count_activities(session) == 0


def test_a_missing_title_is_refused_beside_the_field_and_nothing_is_saved(app, session, org_tree, make_person):
    client = signed_in(app, make_person("coordinator"))
    answer = send(client, "/activities/new", **form_for(org_tree, title=""))
    assert answer.status_code == 422
    page = text(answer)
    assert chinese(app, "Field may not be null.") in page.split('name="title"', 1)[1].split("</label>", 1)[0]
    assert chinese(app, "Some fields need attention.") in page
    assert count_activities(session) == 0


def test_editing_before_the_start_changes_the_fields_and_an_unticked_box_turns_it_off(app, session, make_activity):
    activity = make_activity(publish=False, starts_at=START + TOMORROW, ends_at=END + TOMORROW, poster_allowed=True, capacity=5)
    client = signed_in(app, leader_of(session, activity))
    form = text(client.get(f"/activities/{activity.id}/edit"))
    assert 'value="敬老院探访"' in form and 'name="poster_allowed" value="on" checked' in form
    assert 'value="2026-11-21T09:00"' in form  # local time, as datetime-local takes it
    values = {
        "title": "敬老院探访（下午场）",
        "category": "elderly",
        "organisation_id": activity.organisation_id,
        "person_in_charge_id": activity.person_in_charge_id,
        "address": "东城社区敬老院",
        "starts_at": "2026-11-21T14:00",
        "ends_at": "2026-11-21T16:00",
        "capacity": "",
        "credit_mode": "fixed",
        "fixed_minutes": "90",
    }
    answer = send(client, f"/activities/{activity.id}/edit", **values)
    assert answer.status_code == 302
    changed = stored(session, activity.id)
    assert changed.title == "敬老院探访（下午场）"
    assert changed.starts_at == dt.datetime(2026, 11, 21, 6, 0, tzinfo=dt.timezone.utc)
    assert (changed.capacity, changed.poster_allowed, changed.credit_mode, changed.fixed_minutes) == (None, False, "fixed", 90)


def test_editing_once_the_activity_is_under_way_is_refused(app, session, make_activity):
    activity = make_activity()  # 09:00-11:00, and it is 10:00
    client = signed_in(app, leader_of(session, activity))
    answer = send(client, f"/activities/{activity.id}/edit", title="改个名字")
    assert answer.status_code == 409
    assert chinese(app, "An activity cannot be changed once it has started.") in text(answer)
    assert stored(session, activity.id).title == "敬老院探访"


# -- publishing and cancelling --------------------------------------------------------------


def test_publishing_a_draft_opens_it_to_volunteers(app, session, make_activity):
    activity = make_activity(publish=False, starts_at=START + TOMORROW, ends_at=END + TOMORROW)
    client = signed_in(app, leader_of(session, activity))
    assert "发布" in text(client.get(f"/activities/{activity.id}"))
    answer = send(client, f"/activities/{activity.id}/publish")
    assert answer.status_code == 302
    assert stored(session, activity.id).status == ActivityStatus.PUBLISHED.value
    page = text(client.get(f"/activities/{activity.id}"))
    assert chinese(app, "Published: volunteers can now find the activity and sign up.") in page
    assert "已发布" in page


def test_cancelling_needs_a_reason_and_then_keeps_it(app, session, make_activity):
    activity = make_activity(starts_at=START + TOMORROW, ends_at=END + TOMORROW)
    client = signed_in(app, leader_of(session, activity))
    refused = send(client, f"/activities/{activity.id}/cancel", reason="   ")
    assert refused.status_code == 422
    assert chinese(app, "Give a reason.") in text(refused)
    assert stored(session, activity.id).status == ActivityStatus.PUBLISHED.value

    answer = send(client, f"/activities/{activity.id}/cancel", reason="大风预警，活动改期")
    assert answer.status_code == 302
    cancelled = stored(session, activity.id)
    assert (cancelled.status, cancelled.cancel_reason) == (ActivityStatus.CANCELLED.value, "大风预警，活动改期")
    page = text(client.get(f"/activities/{activity.id}"))
    assert "大风预警，活动改期" in page and "已取消" in page


# -- who may see what ---------------------------------------------------------------------


def test_a_social_worker_of_another_community_is_refused_every_organisers_page_and_sees_the_volunteers_view(app, make_activity, make_person):
    activity = make_activity(poster_allowed=True)
    outsider = signed_in(app, make_person("social_worker", org="west"))
    seen = outsider.get(f"/activities/{activity.id}")
    assert seen.status_code == 200 and "服务内容" in text(seen) and f"/activities/{activity.id}/edit" not in text(seen)
    for path in ("/screen", "/screen.json", "/kiosk", "/poster.pdf", "/poster.png", "/edit"):
        assert outsider.get(f"/activities/{activity.id}{path}").status_code == 404, path
    assert send(outsider, f"/activities/{activity.id}/publish").status_code == 404
    assert send(outsider, f"/activities/{activity.id}/cancel", reason="不是我的").status_code == 404


def test_a_volunteer_cannot_open_the_organisers_pages(app, make_person):
    client = signed_in(app, make_person())
    assert client.get("/activities/manage").status_code == 403
    assert client.get("/activities/new").status_code == 403


# -- the list and the activity's page ----------------------------------------------------------


def test_the_manage_list_groups_activities_by_phase_with_sign_ups_and_presence(app, session, make_activity, make_person):
    under_way = make_activity(title="正在进行的活动")
    make_activity(title="明天的活动", starts_at=START + TOMORROW, ends_at=END + TOMORROW)
    make_activity(title="草稿活动", publish=False, starts_at=START + TOMORROW, ends_at=END + TOMORROW)
    make_activity(title="昨天的活动", starts_at=START - TOMORROW, ends_at=END - TOMORROW)
    volunteer = make_person(name="张小明")
    services.sign_up(session, under_way.id, volunteer=volunteer, now=START - dt.timedelta(hours=2))
    checkin.record_scan(session, under_way, volunteer, "in", method="screen", now=START)
    session.commit()

    page = text(signed_in(app, leader_of(session, under_way)).get("/activities/manage"))
    sections = {phase: page.index(f'id="phase-{phase}"') for phase in ("under_way", "published", "draft", "finished")}
    assert sections["under_way"] < sections["published"] < sections["draft"] < sections["finished"]
    for name in ("进行中", "已发布", "草稿", "已结束"):
        assert name in page
    under_way_part = page[sections["under_way"]:sections["published"]]
    assert "正在进行的活动" in under_way_part and "09:00–11:00" in under_way_part
    assert "在场: 1" in under_way_part and "已签到: 1" in under_way_part
    assert "昨天的活动" in page[sections["finished"]:]
    assert "新建活动" in page


def test_the_activity_page_says_a_printed_poster_code_is_not_allowed_rather_than_no_permission(app, session, make_activity):
    activity = make_activity(poster_allowed=False)
    page = text(signed_in(app, leader_of(session, activity)).get(f"/activities/{activity.id}"))
    assert "<dt>打印的海报签到码</dt><dd>不允许</dd>" in page and "没有权限" not in page


def test_the_activity_page_shows_what_it_credits_and_the_waiting_list_in_order(app, session, make_activity, make_person):
    activity = make_activity(capacity=1, starts_at=START + TOMORROW, ends_at=END + TOMORROW)
    first, second, third = (make_person(name=name) for name in ("张小明", "李大妈", "王大爷"))
    for person, minutes_before in ((first, 300), (second, 200), (third, 100)):
        services.sign_up(session, activity.id, volunteer=person, now=START - dt.timedelta(minutes=minutes_before))
    session.commit()
    page = text(signed_in(app, leader_of(session, activity)).get(f"/activities/{activity.id}"))
    assert chinese(app, "%(time)s and %(points)d points for full attendance", time="2 小时", points=20) in page
    waiting = page.split("候补名单")[-1]
    assert "张小明" not in waiting and waiting.index("李大妈") < waiting.index("王大爷")
    assert chinese(app, "Open the venue screen") in page


# -- the venue screen --------------------------------------------------------------------------


def test_the_venue_screen_shows_both_codes_and_the_live_count_and_is_never_cached(app, session, make_activity, make_person):
    activity = make_activity()
    volunteer = make_person(name="张小明")
    checkin.record_scan(session, activity, volunteer, "in", method="screen", now=START)
    session.commit()
    answer = signed_in(app, leader_of(session, activity)).get(f"/activities/{activity.id}/screen")
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    page = text(answer)
    assert page.count('<svg class="qr"') == 2
    assert "签到" in page and "签退" in page and "敬老院探访" in page
    assert chinese(app, "Checked in: {total} · here now: {present}").replace("{total}", "1").replace("{present}", "1") in page
    assert "/static/venue.js" in page
    assert not re.search(r'(src|href)="(https?:)?//', page)  # nothing from outside: the venue's Wi-Fi may be all there is


def test_the_screen_json_carries_fresh_codes_for_this_activity_and_the_count(app, session, make_activity, monkeypatch):
    activity = make_activity()
    client = signed_in(app, leader_of(session, activity))
    answer = client.get(f"/activities/{activity.id}/screen.json")
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    state = answer.get_json()
    assert state["phase"] == "under_way"
    assert state["presence"] == {"in": 0, "total": 0}
    assert state["refresh_in"] == tokens.seconds_left(NOW)
    for key, action, path in (("check_in", "in", "/checkin/"), ("check_out", "out", "/checkout/")):
        url = state[key]["url"]
        assert url.startswith("http://localhost/") and path in url
        code = tokens.read(url.rsplit("/", 1)[1], SECRET)
        assert (code.key, code.action, code.window) == (activity.code_key, action, tokens.window_at(NOW))
        assert state[key]["svg"].startswith('<svg class="qr"')

    monkeypatch.setattr("timebank.events.views.now", lambda: NOW + dt.timedelta(seconds=tokens.WINDOW_SECONDS))
    turned = client.get(f"/activities/{activity.id}/screen.json").get_json()
    assert turned["check_in"]["url"] != state["check_in"]["url"]  # the code rotates with the window


# -- the poster ---------------------------------------------------------------------------------


def test_the_poster_pdf_is_one_a4_page(app, session, make_activity):
    activity = make_activity(poster_allowed=True)
    answer = signed_in(app, leader_of(session, activity)).get(f"/activities/{activity.id}/poster.pdf")
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    body = answer.get_data()
    assert body.startswith(b"%PDF-")
    assert len(re.findall(rb"/Type /Page\b(?!s)", body)) == 1
    assert re.search(rb"/MediaBox \[ 0 0 595\.27\d* 841\.88\d* \]", body)
    assert b"/FontFile2" in body and b"STSong" not in body  # the Chinese font embedded, not left to the reader


def test_the_poster_image_decodes_to_the_activitys_check_in_and_check_out_addresses(app, session, make_activity):
    activity = make_activity(poster_allowed=True)
    answer = signed_in(app, leader_of(session, activity)).get(f"/activities/{activity.id}/poster.png")
    assert answer.status_code == 200 and answer.mimetype == "image/png"
    found = sorted(code.text for code in zxingcpp.read_barcodes(Image.open(io.BytesIO(answer.get_data()))))
    assert len(found) == 2
    check_in, check_out = (next(url for url in found if f"/{path}/" in url) for path in ("checkin", "checkout"))
    for url, action in ((check_in, "in"), (check_out, "out")):
        code = tokens.read(url.rsplit("/", 1)[1], SECRET)
        assert (code.key, code.action, code.is_poster) == (activity.code_key, action, True)


def test_the_poster_is_not_found_when_the_activity_does_not_allow_it(app, session, make_activity):
    activity = make_activity()
    client = signed_in(app, leader_of(session, activity))
    for path in ("poster.pdf", "poster.png"):
        answer = client.get(f"/activities/{activity.id}/{path}")
        assert answer.status_code == 404
        assert chinese(app, "This activity does not accept a printed code. To print a poster, edit the activity and allow it.") in text(answer)


# -- the kiosk ----------------------------------------------------------------------------------


def test_the_kiosk_page_is_ready_for_a_barcode_scanner(app, session, make_activity):
    activity = make_activity()
    page = text(signed_in(app, leader_of(session, activity)).get(f"/activities/{activity.id}/kiosk"))
    assert f'data-scan-url="/api/v1/activities/{activity.id}/scans"' in page
    assert re.search(r'<input id="kiosk-code" name="member_code" autofocus', page)
    assert 'name="action" value="in" checked' in page and 'name="action" value="out"' in page
    assert 'data-done-in="签到成功"' in page
    assert 'id="kiosk-camera" hidden' in page  # shown by kiosk.js only where BarcodeDetector exists
    assert "/static/kiosk.js" in page


def test_the_screen_and_kiosk_scripts_are_served(client):
    for name in ("venue.js", "kiosk.js"):
        answer = client.get(f"/static/{name}")
        assert answer.status_code == 200 and b"use strict" in answer.get_data()
        answer.close()


def test_the_person_in_charge_need_not_hold_a_role_over_the_organisation(app, session, make_activity, make_person):
    activity = make_activity()
    volunteer_leader = make_person(name="志愿者队长")
    activity.person_in_charge_id = volunteer_leader.id  # e.g. a team leader named in charge through the API
    session.commit()
    client = signed_in(app, volunteer_leader)
    assert client.get(f"/activities/{activity.id}").status_code == 200
    assert client.get(f"/activities/{activity.id}/screen").status_code == 200
    assert not actor_for(session, volunteer_leader).has(*CARERS)  # no carer's role anywhere: being in charge is enough
