"""Check-in and check-out rules, through the services: each refusal its own, nothing recorded on refusal."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from timebank.auth.codes import card_code, phone_code
from timebank.events import checkin, tokens
from timebank.events.checkin import scan_activity_code, scan_member_code
from timebank.events.models import Attendance, AttendanceStatus
from timebank.events.services import sign_up
from timebank.orgs.services import set_policies
from timebank.people.access import actor_for
from tests.conftest import END, NOW, SECRET, START, SYSTEM

MINUTE = dt.timedelta(minutes=1)


def attendances(session) -> int:
    return session.scalar(select(func.count()).select_from(Attendance))


def scan(session, activity, volunteer, *, action="in", at=NOW, code_at=None, poster=False, **kwargs):
    token = (
        tokens.poster_code(activity.code_key, action, SECRET)
        if poster
        else tokens.screen_code(activity.code_key, kwargs.pop("code_action", action), SECRET, now=code_at or at)
    )
    return scan_activity_code(session, token, action=action, volunteer=volunteer, secret_key=SECRET, now=at, **kwargs)


def test_a_volunteer_checks_in_with_the_screen_code_and_out_later(session, make_activity, make_person):
    activity, volunteer = make_activity(), make_person()
    done = scan(session, activity, volunteer)
    assert done.action == "in" and done.local_time == "10:00"
    later = NOW + dt.timedelta(minutes=55)
    out = scan(session, activity, volunteer, action="out", at=later)
    assert out.attendance.checked_out_at == later
    assert out.attendance.status == AttendanceStatus.CHECKED_OUT


@pytest.mark.parametrize(
    ("case", "error"),
    [
        ("forged", tokens.ActivityCodeError),
        ("expired", checkin.CodeExpired),
        ("other activity", checkin.WrongActivity),
        ("check-out code at check-in", checkin.CheckOutCodeAtCheckIn),
        ("poster not allowed", checkin.PosterNotAllowed),
        ("before the window opens", checkin.NotStarted),
        ("after the end", checkin.Ended),
    ],
)
def test_each_bad_scan_is_refused_with_its_own_reason_and_records_nothing(session, make_activity, make_person, case, error):
    activity, other, volunteer = make_activity(), make_activity(title="社区清扫"), make_person()
    with pytest.raises(error):
        if case == "forged":
            token = tokens.screen_code(activity.code_key, "in", "another-secret", now=NOW)
            scan_activity_code(session, token, action="in", volunteer=volunteer, secret_key=SECRET, now=NOW)
        elif case == "expired":
            scan(session, activity, volunteer, code_at=NOW - 61 * dt.timedelta(seconds=1))
        elif case == "other activity":
            scan(session, other, volunteer, activity_id=activity.id)
        elif case == "check-out code at check-in":
            scan(session, activity, volunteer, code_action="out")
        elif case == "poster not allowed":
            scan(session, activity, volunteer, poster=True)
        elif case == "before the window opens":
            scan(session, activity, volunteer, at=START - 61 * MINUTE)
        else:
            scan(session, activity, volunteer, at=END)
    session.rollback()
    assert attendances(session) == 0


def test_a_code_from_the_previous_window_still_works(session, make_activity, make_person):
    activity, volunteer = make_activity(), make_person()
    assert scan(session, activity, volunteer, code_at=NOW - dt.timedelta(seconds=30)).action == "in"


def test_the_window_opens_an_hour_before_the_start(session, make_activity, make_person):
    activity, volunteer = make_activity(), make_person()
    assert scan(session, activity, volunteer, at=START - 60 * MINUTE).action == "in"


def test_the_poster_code_works_where_the_organiser_allows_it(session, make_activity, make_person):
    activity, volunteer = make_activity(poster_allowed=True), make_person()
    assert scan(session, activity, volunteer, poster=True).attendance.check_in_method == "poster"


def test_checking_in_twice_or_after_checking_out_is_refused(session, make_activity, make_person):
    activity, volunteer = make_activity(), make_person()
    scan(session, activity, volunteer)
    with pytest.raises(checkin.AlreadyCheckedIn, match="10:00"):
        scan(session, activity, volunteer, at=NOW + MINUTE)
    scan(session, activity, volunteer, action="out", at=NOW + 30 * MINUTE)
    with pytest.raises(checkin.AlreadyCheckedOut):
        scan(session, activity, volunteer, at=NOW + 31 * MINUTE)
    with pytest.raises(checkin.AlreadyCheckedOut):
        scan(session, activity, volunteer, action="out", at=NOW + 32 * MINUTE)
    assert attendances(session) == 1


def test_checking_out_before_checking_in_is_refused(session, make_activity, make_person):
    activity, volunteer = make_activity(), make_person()
    with pytest.raises(checkin.NotCheckedIn):
        scan(session, activity, volunteer, action="out")


def test_the_check_in_code_cannot_check_out(session, make_activity, make_person):
    activity, volunteer = make_activity(), make_person()
    scan(session, activity, volunteer)
    with pytest.raises(checkin.CheckInCodeAtCheckOut):
        scan(session, activity, volunteer, action="out", code_action="in")


def test_signup_required_refuses_those_not_signed_up_and_those_waiting(session, make_activity, make_person):
    activity = make_activity(signup_required=True, capacity=1)
    placed, waiting, stranger = make_person(), make_person(), make_person()
    sign_up(session, activity.id, volunteer=placed, now=NOW - dt.timedelta(days=1))
    assert sign_up(session, activity.id, volunteer=waiting, now=NOW - dt.timedelta(days=1)).status == "waiting"
    with pytest.raises(checkin.NotSignedUp):
        scan(session, activity, stranger)
    with pytest.raises(checkin.OnWaitingList):
        scan(session, activity, waiting)
    assert scan(session, activity, placed).action == "in"


def test_a_draft_activity_takes_no_check_ins(session, make_activity, make_person):
    activity, volunteer = make_activity(publish=False), make_person()
    with pytest.raises(checkin.NotOpen):
        scan(session, activity, volunteer)


def test_the_phones_position_is_measured_against_the_venue(session, make_activity, make_person):
    activity = make_activity(latitude=34.7208, longitude=111.1046, radius_m=200)
    near, far = make_person(), make_person()
    assert scan(session, activity, near, position=(34.7209, 111.1047)).attendance.distance_m < 50
    assert scan(session, activity, far, position=(34.7308, 111.1046)).attendance.distance_m > 1000


def test_a_kiosk_checks_in_by_phone_code_and_by_printed_card(session, make_activity, make_person):
    activity = make_activity()
    organiser = actor_for(session, activity.person_in_charge)
    phone_user, card_user = make_person(), make_person()
    by_phone = scan_member_code(session, activity.id, phone_code(phone_user, SECRET, now=NOW), action="in", actor=organiser, secret_key=SECRET, now=NOW)
    by_card = scan_member_code(session, activity.id, card_code(card_user, SECRET), action="in", actor=organiser, secret_key=SECRET, now=NOW)
    assert by_phone.attendance.check_in_method == by_card.attendance.check_in_method == "kiosk"
    assert by_card.attendance.recorded_by == organiser.id


def test_a_kiosk_device_of_another_activity_is_refused(session, make_activity, make_person):
    activity, other, volunteer = make_activity(), make_activity(), make_person()
    with pytest.raises(checkin.CheckInRefused, match="another activity"):
        scan_member_code(session, activity.id, card_code(volunteer, SECRET), action="in", actor=None, device_activity_id=other.id, secret_key=SECRET, now=NOW)


def test_a_forgotten_check_out_cannot_be_made_hours_later(session, make_activity, make_person):
    activity, volunteer = make_activity(), make_person()
    scan(session, activity, volunteer)
    with pytest.raises(checkin.CheckOutClosed):
        scan(session, activity, volunteer, action="out", at=END + dt.timedelta(hours=3))


def test_a_second_scan_says_already_checked_in_before_any_other_reason(session, make_activity, make_person):
    """The first refusal a volunteer hears again is "already", even once the activity has ended."""
    activity = make_activity(signup_required=True)
    volunteer = make_person()
    sign_up(session, activity.id, volunteer=volunteer, now=NOW - dt.timedelta(days=1))
    scan(session, activity, volunteer, at=START)
    with pytest.raises(checkin.AlreadyCheckedIn, match="09:00"):
        scan(session, activity, volunteer, at=NOW)
    with pytest.raises(checkin.AlreadyCheckedIn, match="09:00"):
        scan(session, activity, volunteer, at=END + MINUTE)
    assert attendances(session) == 1


def test_a_kiosk_check_in_records_the_organiser_in_the_same_row(session, make_activity, make_person):
    activity, volunteer, organiser = make_activity(), make_person(), make_person("social_worker")
    actor = actor_for(session, organiser)
    code = card_code(volunteer, SECRET)
    recorded = scan_member_code(session, activity.id, code, action="in", actor=actor, secret_key=SECRET, now=NOW)
    session.commit()
    session.expire_all()
    assert session.get(Attendance, recorded.attendance.id).recorded_by == organiser.id


def test_check_in_opens_as_the_nearest_level_above_the_activity_says(session, org_tree, make_activity, make_person):
    # The county lets check-in open 30 minutes early, the east community 20; the west says nothing.
    set_policies(session, org_tree["county"].id, {"checkin_opens_minutes": 30}, actor=SYSTEM, now=NOW)
    set_policies(session, org_tree["east"].id, {"checkin_opens_minutes": 20}, actor=SYSTEM, now=NOW)
    session.commit()
    later = NOW + dt.timedelta(days=1)
    east = make_activity(org="east_team", starts_at=later, ends_at=later + dt.timedelta(hours=2))
    west = make_activity(org="west_team", starts_at=later, ends_at=later + dt.timedelta(hours=2))
    volunteer = make_person()

    with pytest.raises(checkin.NotStarted):
        scan(session, east, volunteer, at=later - 25 * MINUTE)
    assert scan(session, east, volunteer, at=later - 20 * MINUTE).action == "in"
    with pytest.raises(checkin.NotStarted):
        scan(session, west, volunteer, at=later - 31 * MINUTE)
    assert scan(session, west, volunteer, at=later - 30 * MINUTE).action == "in"
