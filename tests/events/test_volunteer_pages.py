"""The volunteer's activity pages, through the browser client: browsing, signing up, the page a scanned
code opens, and their own attendances with reports of errors.
"""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from flask_babel import gettext
from sqlalchemy import select

from timebank.events import checkin, review, tokens
from timebank.events.models import Attendance, CorrectionRequest, SignUp
from timebank.orgs.services import create_organisation
from tests.conftest import END, NOW, PASSWORD, START, SYSTEM, csrf_token, send, signed_in, text

MINUTE = dt.timedelta(minutes=1)
TOMORROW = dt.timedelta(days=1)


@pytest.fixture
def clock(monkeypatch):
    """Sets the time the volunteer pages see."""

    def set_to(moment: dt.datetime) -> None:
        monkeypatch.setattr("timebank.events.volunteer_views.now", lambda: moment)

    set_to(NOW)
    return set_to


@pytest.fixture
def volunteer(make_person):
    """An active volunteer of the east community."""
    return make_person(name="王秀英")


def said(app, template: str, **params) -> str:
    """A service's message as the volunteer reads it (Chinese, the default language)."""
    with app.test_request_context():
        return gettext(template, **params)


def code(app, activity, action: str = "in", *, at: dt.datetime = NOW) -> str:
    """The code the venue screen shows at `at`."""
    return tokens.screen_code(activity.code_key, action, app.config["SECRET_KEY"], now=at)


def attendances(session, activity) -> list[Attendance]:
    """The activity's attendances as stored; the read ends its transaction so the app can write."""
    found = list(session.scalars(select(Attendance).where(Attendance.activity_id == activity.id)))
    session.commit()
    return found


def scan_in(app, client, activity, *, at: dt.datetime, clock, **position):
    """The volunteer's phone opens the check-in code shown at `at` and the page sends itself."""
    clock(at)
    return send(client, f"/checkin/{code(app, activity, at=at)}", **position)


# -- browsing and signing up ---------------------------------------------------------


def test_browse_shows_my_community_street_and_district_but_not_another_street_or_district(
    app, session, org_tree, make_activity, volunteer, clock
):
    north = create_organisation(session, name="北关街道", level="street", parent_id=org_tree["county"].id, actor=SYSTEM, now=NOW)
    org_tree["north"] = create_organisation(session, name="北关社区", level="community", parent_id=north.id, actor=SYSTEM, now=NOW)
    elsewhere = create_organisation(session, name="湖滨区", level="district", parent_id=None, actor=SYSTEM, now=NOW)
    org_tree["elsewhere"] = create_organisation(session, name="湖滨社区", level="community", parent_id=elsewhere.id, actor=SYSTEM, now=NOW)
    session.commit()
    make_activity(title="东城读报", starts_at=NOW + TOMORROW, ends_at=NOW + TOMORROW + dt.timedelta(hours=2))
    make_activity(title="西关义诊", org="west", starts_at=NOW + 2 * TOMORROW, ends_at=NOW + 2 * TOMORROW + dt.timedelta(hours=2))
    make_activity(title="大营镇清扫", org="street")
    make_activity(title="陕县培训", org="county", category="training")
    make_activity(title="北关探访", org="north")
    make_activity(title="湖滨探访", org="elsewhere")
    make_activity(title="东城草稿", publish=False)
    make_activity(title="东城已结束", starts_at=NOW - dt.timedelta(hours=3), ends_at=NOW - MINUTE)

    page = text(signed_in(app, volunteer).get("/activities"))

    shown = re.findall(r"<h2><a href=\"/activities/\d+\">([^<]+)</a></h2>", page)
    assert shown == ["大营镇清扫", "陕县培训", "东城读报", "西关义诊"]  # soonest first
    assert "约 2 小时 · 20 积分" in page and "培训 2 小时" in page
    assert "助老服务" in page and "西关社区" in page and "东城社区敬老院" in page
    assert "11月21日周六 10:00–12:00" in page


def test_signing_up_then_a_full_activity_puts_the_next_volunteer_on_the_waiting_list(
    app, session, make_activity, make_person, volunteer, clock
):
    activity = make_activity(capacity=1, starts_at=NOW + TOMORROW, ends_at=NOW + TOMORROW + dt.timedelta(hours=2))
    first, second = signed_in(app, volunteer), signed_in(app, make_person(name="张建国"))

    answer = send(first, f"/activities/{activity.id}/sign-up")
    assert answer.status_code == 302 and answer.location.endswith("/activities")
    page = text(first.get("/activities"))
    assert "报名成功" in page and "已报名" in page and "取消报名" in page

    send(second, f"/activities/{activity.id}/sign-up")
    page = text(second.get("/activities"))
    assert "已加入候补，第 1 位" in page
    assert "已满 · 候补 1 人" in page and "候补第 1 位" in page and "退出候补" in page


def test_a_full_activity_offers_the_waiting_list_instead_of_a_place(app, make_activity, make_person, volunteer, clock):
    activity = make_activity(capacity=1, starts_at=NOW + TOMORROW, ends_at=NOW + TOMORROW + dt.timedelta(hours=2))
    send(signed_in(app, make_person(name="张建国")), f"/activities/{activity.id}/sign-up")
    page = text(signed_in(app, volunteer).get("/activities"))
    assert "加入候补" in page and ">报名<" not in page


def test_cancelling_my_place_moves_the_first_on_the_waiting_list_up(app, session, make_activity, make_person, volunteer, clock):
    activity = make_activity(capacity=1, starts_at=NOW + TOMORROW, ends_at=NOW + TOMORROW + dt.timedelta(hours=2))
    waiting_one, waiting_two = make_person(name="张建国"), make_person(name="李桂兰")
    mine = signed_in(app, volunteer)
    send(mine, f"/activities/{activity.id}/sign-up")
    for minutes, person in enumerate((waiting_one, waiting_two), start=1):
        clock(NOW + minutes * MINUTE)
        send(signed_in(app, person), f"/activities/{activity.id}/sign-up")

    answer = send(mine, f"/activities/{activity.id}/cancel-sign-up")

    assert answer.status_code == 302
    assert "已取消报名" in text(mine.get("/activities"))
    statuses = dict(session.execute(select(SignUp.volunteer_id, SignUp.status).where(SignUp.activity_id == activity.id)).all())
    session.commit()
    assert statuses == {volunteer.id: "cancelled", waiting_one.id: "signed_up", waiting_two.id: "waiting"}
    assert "已报名" in text(signed_in(app, waiting_one).get("/activities"))
    assert "候补第 1 位" in text(signed_in(app, waiting_two).get("/activities"))


def test_cancelling_after_the_start_is_refused_with_the_reason(app, make_activity, volunteer, clock):
    activity = make_activity()  # under way: 09:00 to 11:00, now 10:00
    client = signed_in(app, volunteer)
    send(client, f"/activities/{activity.id}/sign-up")
    page = text(client.get("/activities"))
    assert "已报名" in page and "取消报名" not in page

    answer = send(client, f"/activities/{activity.id}/cancel-sign-up")

    assert answer.status_code == 409
    assert said(app, "The activity has started; a sign-up can no longer be cancelled.") in text(answer)


# -- the page a scanned code opens -------------------------------------------------------


def test_the_check_in_page_records_nothing_and_sends_itself(app, session, make_activity, volunteer, clock):
    activity = make_activity()
    url = f"/checkin/{code(app, activity)}"

    answer = signed_in(app, volunteer).get(url)

    page = text(answer)
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    assert activity.title in page
    assert re.search(r'<form method="post" id="scan-form"[^>]*>', page) and 'name="csrf_token"' in page
    assert "form.submit()" in page and ">签到</button>" in page
    assert 'data-locate="1"' not in page  # no coordinates: no question about the position
    assert attendances(session, activity) == []


def test_the_check_in_page_asks_for_the_position_only_where_the_venue_has_coordinates(app, make_activity, volunteer, clock):
    activity = make_activity(latitude=34.77, longitude=111.19, radius_m=200)
    page = text(signed_in(app, volunteer).get(f"/checkin/{code(app, activity)}"))
    assert 'data-locate="1"' in page and "navigator.geolocation" in page


def test_posting_the_check_in_form_checks_in_and_says_so_with_the_local_time(app, session, make_activity, volunteer, clock):
    activity = make_activity()
    at = NOW + 2 * MINUTE

    answer = scan_in(app, signed_in(app, volunteer), activity, at=at, clock=clock)

    assert answer.status_code == 200
    assert "签到成功 10:02" in text(answer) and activity.title in text(answer)
    [attendance] = attendances(session, activity)
    assert attendance.volunteer_id == volunteer.id and attendance.checked_in_at == at
    assert attendance.check_in_method == "screen" and attendance.distance_m is None


def test_sending_the_check_in_again_says_when_i_checked_in(app, session, make_activity, volunteer, clock):
    activity = make_activity()
    client = signed_in(app, volunteer)
    token = code(app, activity, at=NOW + 2 * MINUTE)
    clock(NOW + 2 * MINUTE)
    assert send(client, f"/checkin/{token}").status_code == 200

    clock(NOW + 2 * MINUTE + dt.timedelta(seconds=20))
    again = send(client, f"/checkin/{token}")

    assert again.status_code == 409
    assert said(app, checkin.AlreadyCheckedIn.template, at="10:02") in text(again)
    assert len(attendances(session, activity)) == 1


def test_the_position_the_phone_shares_is_kept_as_the_distance_from_the_venue(app, session, make_activity, volunteer, clock):
    activity = make_activity(latitude=34.7700, longitude=111.1900, radius_m=200)
    answer = scan_in(app, signed_in(app, volunteer), activity, at=NOW, clock=clock, latitude="34.7709", longitude="111.1900")
    assert answer.status_code == 200
    [attendance] = attendances(session, activity)
    assert 95 <= attendance.distance_m <= 105


def test_a_garbled_position_never_stops_the_check_in(app, session, make_activity, volunteer, clock):
    activity = make_activity(latitude=34.77, longitude=111.19)
    answer = scan_in(app, signed_in(app, volunteer), activity, at=NOW, clock=clock, latitude="north", longitude="")
    assert answer.status_code == 200 and "签到成功 10:00" in text(answer)


def test_checking_out_says_so_with_the_local_time(app, session, make_activity, volunteer, clock):
    activity = make_activity()
    client = signed_in(app, volunteer)
    scan_in(app, client, activity, at=NOW, clock=clock)
    later = NOW + dt.timedelta(minutes=65)
    clock(later)

    answer = send(client, f"/checkout/{code(app, activity, 'out', at=later)}")

    assert answer.status_code == 200 and "签退成功 11:05" in text(answer)
    [attendance] = attendances(session, activity)
    assert attendance.checked_out_at == later and attendance.status == "checked_out"


def test_an_expired_code_is_refused_with_its_message_and_nothing_recorded(app, session, make_activity, volunteer, clock):
    activity = make_activity()
    stale = code(app, activity, at=NOW - 2 * MINUTE)
    client = signed_in(app, volunteer)

    assert client.get(f"/checkin/{stale}").status_code == 200  # the page cannot tell yet; the check-in can
    answer = send(client, f"/checkin/{stale}")

    assert answer.status_code in (409, 422)
    assert said(app, checkin.CodeExpired.template) in text(answer) and "scan-refused" in text(answer)
    assert attendances(session, activity) == []


def test_a_forged_code_is_refused_at_once_with_its_message(app, session, make_activity, volunteer, clock):
    activity = make_activity()
    forged = tokens.screen_code(activity.code_key, "in", "not-the-secret", now=NOW)
    client = signed_in(app, volunteer)

    shown, posted = client.get(f"/checkin/{forged}"), send(client, f"/checkin/{forged}")

    for answer in (shown, posted):
        assert answer.status_code == 422
        assert said(app, tokens.ActivityCodeError.template) in text(answer)
        assert 'id="scan-form"' not in text(answer)
    assert attendances(session, activity) == []


def test_a_check_out_code_at_check_in_gets_its_own_message(app, session, make_activity, volunteer, clock):
    activity = make_activity()
    answer = send(signed_in(app, volunteer), f"/checkin/{code(app, activity, 'out')}")
    assert answer.status_code in (409, 422)
    assert said(app, checkin.CheckOutCodeAtCheckIn.template) in text(answer)
    assert attendances(session, activity) == []


def test_a_scan_before_signing_in_comes_back_after_and_still_checks_in_minutes_later(app, session, make_activity, volunteer, clock):
    activity = make_activity()
    url = f"/checkin/{code(app, activity)}"
    client = app.test_client()

    first = client.get(url)
    assert first.status_code == 302
    where = urlsplit(first.location)
    back = parse_qs(where.query)["next"][0]
    assert where.path == "/sign-in" and back.startswith(url + "?seen=")
    assert f'name="next" value="{back}"' in text(client.get(first.location)).replace("&amp;", "&")

    # Typing the phone number and password takes three minutes: the code on the screen has long changed.
    clock(NOW + 3 * MINUTE)
    signed = client.post("/sign-in", data={"phone": volunteer.phone, "password": PASSWORD, "next": back, "csrf_token": csrf_token(client)})
    assert signed.status_code == 302 and signed.location == back
    assert 'id="scan-form"' in text(client.get(back))
    done = send(client, back)

    assert done.status_code == 200 and "签到成功" in text(done)
    assert [a.checked_in_at for a in attendances(session, activity)] == [NOW + 3 * MINUTE]


def test_a_seen_ticket_does_not_outlive_ten_minutes_or_fit_another_code(app, session, make_activity, volunteer, clock):
    activity = make_activity()
    scanned, other = code(app, activity), code(app, activity, at=NOW - 5 * MINUTE)
    ticket = tokens.seen_ticket(scanned, app.config["SECRET_KEY"], browser="this phone", now=NOW)
    client = signed_in(app, volunteer)
    client.set_cookie("timebank_scan", "this phone")

    clock(NOW + 11 * MINUTE)
    late = send(client, f"/checkin/{scanned}?seen={ticket}")
    clock(NOW + 1 * MINUTE)
    borrowed = send(client, f"/checkin/{other}?seen={ticket}")
    forged = send(client, f"/checkin/{other}?seen=x{ticket}")

    assert [r.status_code for r in (late, borrowed, forged)] == [422, 422, 422]
    assert said(app, checkin.CodeExpired.template) in text(late)
    assert attendances(session, activity) == []


def scanned_signed_out(app, activity, clock):
    """A phone scans the check-in code while signed out; the sign-in link it is sent to."""
    clock(NOW)
    phone = app.test_client()
    first = phone.get(f"/checkin/{code(app, activity)}")
    return phone, parse_qs(urlsplit(first.location).query)["next"][0]


def test_a_forwarded_seen_link_checks_no_one_in(app, session, make_activity, volunteer, make_person, clock):
    activity = make_activity()
    _phone, link = scanned_signed_out(app, activity, clock)
    clock(NOW + 100 * dt.timedelta(seconds=1))
    elsewhere = signed_in(app, make_person(name="未到场"))
    answer = send(elsewhere, link)
    assert answer.status_code == 422 and said(app, checkin.CodeExpired.template) in text(answer)
    assert attendances(session, activity) == []


def test_a_seen_ticket_checks_in_once_even_from_the_browser_that_scanned(app, session, make_activity, volunteer, make_person, clock):
    activity = make_activity()
    phone, link = scanned_signed_out(app, activity, clock)
    clock(NOW + 2 * MINUTE)
    first = send(phone, "/sign-in", phone=volunteer.phone, password=PASSWORD, next=link)
    assert first.location == link and "签到成功" in text(send(phone, link))
    send(phone, "/sign-out")
    friend = make_person(name="同行")
    send(phone, "/sign-in", phone=friend.phone, password=PASSWORD, next=link)
    again = send(phone, link)
    assert again.status_code == 422 and said(app, checkin.SeenTicketUsed.template) in text(again)
    assert [a.volunteer_id for a in attendances(session, activity)] == [volunteer.id]


# -- my attendances and reports of errors --------------------------------------------


def checked_in_and_out(app, session, activity, volunteer, clock) -> tuple[object, Attendance]:
    """The volunteer attends the whole activity, scanning in at the start and out at the end."""
    client = signed_in(app, volunteer)
    scan_in(app, client, activity, at=START, clock=clock)
    clock(END)
    send(client, f"/checkout/{code(app, activity, 'out', at=END)}")
    [attendance] = attendances(session, activity)
    clock(END + dt.timedelta(hours=1))
    return client, attendance


def test_my_attendances_show_the_status_and_what_was_credited_after_approval(app, session, make_activity, volunteer, reviewer, clock):
    activity = make_activity()
    session.commit()
    client, attendance = checked_in_and_out(app, session, activity, volunteer, clock)
    page = text(client.get("/me/attendances"))
    assert activity.title in page and "待审核" in page and "09:00" in page and "11:00" in page
    assert "2026年11月20日" in page

    review.approve_attendance(session, attendance.id, actor=reviewer, now=END + dt.timedelta(hours=1))
    session.commit()
    page = text(client.get("/me/attendances"))

    assert "已通过" in page and "2 小时 · 20 积分" in page and "待审核" not in page


def test_a_rejected_attendance_shows_the_reason(app, session, make_activity, volunteer, reviewer, clock):
    activity = make_activity()
    session.commit()
    client, attendance = checked_in_and_out(app, session, activity, volunteer, clock)
    review.reject_attendance(session, attendance.id, "没有在现场", actor=reviewer, now=END + dt.timedelta(hours=1))
    session.commit()
    page = text(client.get("/me/attendances"))
    assert "未通过" in page and "没有在现场" in page


def test_reporting_an_error_is_sent_and_a_second_report_is_refused(app, session, make_activity, volunteer, clock):
    activity = make_activity()
    client, attendance = checked_in_and_out(app, session, activity, volunteer, clock)
    url = f"/me/attendances/{attendance.id}/report"
    assert "报告错误" in text(client.get("/me/attendances"))

    answer = send(client, url, message="我 11:30 才走，忘了签退", claimed_minutes="150")

    assert answer.status_code == 302 and answer.location.endswith("/me/attendances")
    page = text(client.get("/me/attendances"))
    assert "我 11:30 才走，忘了签退" in page and f'href="{url}"' not in page
    [request] = session.scalars(select(CorrectionRequest).where(CorrectionRequest.attendance_id == attendance.id))
    session.commit()
    assert request.claimed_minutes == 150 and request.status == "open"

    again = send(client, url, message="再说一次")

    assert again.status_code == 409
    assert said(app, "You have already reported this attendance; the organisation will answer soon.") in text(again)
    assert len(list(session.scalars(select(CorrectionRequest)))) == 1
    session.commit()


def test_a_report_without_saying_what_is_wrong_is_refused_beside_the_field(app, session, make_activity, volunteer, clock):
    activity = make_activity()
    client, attendance = checked_in_and_out(app, session, activity, volunteer, clock)

    answer = send(client, f"/me/attendances/{attendance.id}/report", message="  ", claimed_minutes="lots")

    assert answer.status_code == 422
    assert said(app, "Say what is wrong.") in text(answer) and said(app, "Enter a whole number.") in text(answer)
    assert session.scalar(select(CorrectionRequest.id)) is None
    session.commit()


def test_someone_elses_attendance_cannot_be_seen_or_reported(app, session, make_activity, make_person, volunteer, clock):
    activity = make_activity()
    _, attendance = checked_in_and_out(app, session, activity, volunteer, clock)
    other = signed_in(app, make_person(name="张建国"))
    url = f"/me/attendances/{attendance.id}/report"

    assert other.get(url).status_code == 404
    assert send(other, url, message="这不是我的").status_code == 404
    assert activity.title not in text(other.get("/me/attendances"))
    assert session.scalar(select(CorrectionRequest.id)) is None
    session.commit()


def test_a_volunteer_opens_an_activity_and_sees_its_content_place_map_time_credit_and_whom_to_call(app, session, make_activity, volunteer, clock):
    activity = make_activity(description="陪老人聊天、读报", latitude=34.7209, longitude=111.1047, radius_m=300)
    leader = activity.person_in_charge

    answer = signed_in(app, volunteer).get(f"/activities/{activity.id}")

    page = text(answer)
    assert answer.status_code == 200
    assert "陪老人聊天、读报" in page and "东城社区敬老院" in page and "王社工" in page and f'href="tel:{leader.phone}"' in page
    assert "https://www.openstreetmap.org/?mlat=34.72090&amp;mlon=111.10470" in page
    assert "积分" in page and "报名" in page
    assert not re.search(r'<script[^>]+src="(https?:)?//', page)  # a link to a map, never a map's script


def test_an_activity_without_coordinates_links_to_a_map_search_for_its_address(app, make_activity, volunteer, clock):
    activity = make_activity()
    page = text(signed_in(app, volunteer).get(f"/activities/{activity.id}"))
    assert "https://uri.amap.com/search?keyword=%E4%B8%9C%E5%9F%8E" in page


def test_a_draft_or_a_faraway_activity_is_not_found_for_a_volunteer_while_its_organiser_manages_it(app, session, make_activity, make_person, volunteer, org_tree, clock):
    draft = make_activity(publish=False)
    street = create_organisation(session, name="城关镇", level="street", parent_id=org_tree["county"].id, actor=SYSTEM, now=NOW)
    elsewhere = create_organisation(session, name="湖滨社区", level="community", parent_id=street.id, actor=SYSTEM, now=NOW)
    session.commit()
    stranger = make_person(name="外地志愿者")
    stranger.home_organisation_id = elsewhere.id
    session.commit()
    published = make_activity()

    assert signed_in(app, volunteer).get(f"/activities/{draft.id}").status_code == 404
    assert signed_in(app, stranger).get(f"/activities/{published.id}").status_code == 404
    organiser = signed_in(app, draft.person_in_charge)
    assert "发布" in text(organiser.get(f"/activities/{draft.id}"))


def test_the_activity_list_links_each_card_to_its_page_and_names_the_person_in_charge(app, make_activity, volunteer, clock):
    activity = make_activity(description="陪老人聊天、读报")
    page = text(signed_in(app, volunteer).get("/activities"))
    assert f'href="/activities/{activity.id}"' in page and "陪老人聊天、读报" in page and "王社工" in page
