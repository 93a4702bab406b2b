"""The volunteer's main moment, in Chromium: the venue screen's QR, read by a real decoder, opened on a
phone checks in; later the check-out code checks out; the social worker approves; the volunteer's
balances show the hours, points and certified hours; the ledger verifies clean.

The app's clock is moved by hand (the server runs in this process), so a two-hour activity takes seconds.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from timebank import ledger
from timebank.events.models import Attendance
from timebank.people.access import actor_for
from timebank.events import services
from tests.browser.conftest import PHONE, START, TABLET, decode_qr, sign_in
from tests.conftest import PASSWORD

def scanned_code(screen, base: str, activity_id: int, which: str) -> str:
    """Open the venue screen and read one of its two QR codes off a screenshot of that code alone."""
    screen.goto(f"{base}/activities/{activity_id}/screen")
    url = decode_qr(screen.locator(f"[data-code={which}]").screenshot())
    assert url.startswith(base), url
    return url


def two_hour_visit(session, org_tree, worker) -> int:
    """A published two-hour activity at 09:00 led by `worker`; its id (the session is closed for the server)."""
    leader = actor_for(session, worker)
    details = {"title": "敬老院探访", "category": "elderly", "organisation_id": org_tree["east"].id, "address": "东城社区敬老院",
               "starts_at": START.isoformat(), "ends_at": (START + dt.timedelta(hours=2)).isoformat()}
    activity = services.create_activity(session, details, actor=leader, now=START - dt.timedelta(days=2))
    services.publish_activity(session, activity.id, actor=leader, now=START - dt.timedelta(days=2))
    session.commit()
    session.close()
    return activity.id


def test_scan_the_venue_code_check_in_and_out_get_approved_and_see_the_credit(browser, live_server, db, session, org_tree, make_person, clock, run_cli):
    worker = make_person("social_worker", name="王社工")
    volunteer = make_person(name="张秀兰")
    activity_id = two_hour_visit(session, org_tree, worker)

    tablet = browser.new_context(**TABLET)
    screen = sign_in(tablet, live_server, worker.phone)
    phone = browser.new_context(**PHONE)
    hand = sign_in(phone, live_server, volunteer.phone)

    # 08:50: the screen shows the check-in code; the phone opens it and is checked in, no further tap.
    hand.goto(scanned_code(screen, live_server, activity_id, "in"))
    hand.wait_for_selector("text=签到成功")
    assert "08:50" in hand.content()

    # 11:00: the check-out code.
    clock.at = START + dt.timedelta(hours=2)
    hand.goto(scanned_code(screen, live_server, activity_id, "out"))
    hand.wait_for_selector("text=签退成功")

    # 14:00: the social worker reviews the finished activity and approves.
    clock.at = START + dt.timedelta(hours=5)
    screen.goto(f"{live_server}/review/activities/{activity_id}")
    assert "张秀兰" in screen.content()
    screen.locator('form[action$="/approve"] button[type=submit]').first.click()
    screen.wait_for_load_state()
    with db.session(write=False) as reader:
        attendance = reader.scalar(select(Attendance).where(Attendance.activity_id == activity_id))
        assert (attendance.status, attendance.credited_minutes, attendance.credited_points) == ("approved", 120, 20)

    # The volunteer's balances: 2 hours of time credit, 20 points, 2 certified hours in 助老服务.
    hand.goto(f"{live_server}/me/balances")
    balances = hand.content()
    assert "助老服务" in balances
    assert hand.locator("#certified-total").inner_text().startswith("2")
    with db.session(write=False) as reader:
        assert ledger.balance(reader, f"vol:{volunteer.id}:HOUR").posted == 120
        assert ledger.balance(reader, f"vol:{volunteer.id}:PTS").posted == 20
    verified = run_cli("ledger", "verify")
    assert verified.exit_code == 0, verified.output
    tablet.close()
    phone.close()


def test_scan_while_signed_out_sign_in_and_be_checked_in_but_a_forwarded_link_checks_no_one_in(browser, live_server, session, org_tree, make_person, clock):
    worker = make_person("social_worker", name="王社工")
    volunteer, friend = make_person(name="张秀兰"), make_person(name="未到场")
    activity_id = two_hour_visit(session, org_tree, worker)

    tablet = browser.new_context(**TABLET)
    screen = sign_in(tablet, live_server, worker.phone)
    phone = browser.new_context(**PHONE)
    hand = phone.new_page()

    # The phone is signed out: the code sends it to sign in, which takes three minutes of typing.
    hand.goto(scanned_code(screen, live_server, activity_id, "in"))
    hand.wait_for_url("**/sign-in?**")
    forwarded = hand.url
    clock.at += dt.timedelta(minutes=3)
    hand.fill("input[name=phone]", volunteer.phone)
    hand.fill("input[name=password]", PASSWORD)
    hand.click("button[type=submit]")
    hand.wait_for_selector("text=签到成功")

    # The same sign-in link, forwarded to someone who was never at the venue, checks no one in.
    elsewhere = browser.new_context(**PHONE).new_page()
    elsewhere.goto(forwarded)
    elsewhere.fill("input[name=phone]", friend.phone)
    elsewhere.fill("input[name=password]", PASSWORD)
    elsewhere.click("button[type=submit]")
    elsewhere.wait_for_selector("text=这个码已过期")
    with session.bind.connect() as reader:
        volunteers = reader.execute(select(Attendance.volunteer_id).where(Attendance.activity_id == activity_id)).scalars().all()
    assert volunteers == [volunteer.id]
    tablet.close()
    phone.close()
