"""The kiosk at the venue, in Chromium: a volunteer without a smartphone hands over a printed card, the
organiser's scanner types its code and Enter, and each result shows at once; the same rules hold."""

from __future__ import annotations

from sqlalchemy import select

from timebank.auth.codes import card_code
from timebank.events.models import Attendance
from tests.browser.conftest import TABLET, sign_in


def test_a_scanned_card_checks_in_at_once_and_a_second_scan_says_why_not(browser, live_server, app, db, session, make_activity, make_person, clock):
    activity = make_activity()  # 09:00 to 11:00; the clock says 08:50
    organiser = activity.person_in_charge
    volunteer = make_person(name="李桂芝")
    card = card_code(volunteer, app.secret_key)
    activity_id, organiser_phone = activity.id, organiser.phone
    session.close()

    tablet = browser.new_context(**TABLET)
    page = sign_in(tablet, live_server, organiser_phone)
    page.goto(f"{live_server}/activities/{activity_id}/kiosk")

    # A keyboard-wedge scanner types the code and Enter into the focused field.
    page.keyboard.type(card)
    page.keyboard.press("Enter")
    first = page.locator("#kiosk-results li").first
    first.locator("xpath=self::li[contains(@class, 'ok')]").wait_for()
    assert "李" in first.inner_text() and "08:50" in first.inner_text()
    assert page.locator("#kiosk-code").input_value() == ""

    page.keyboard.type(card)
    page.keyboard.press("Enter")
    page.locator("#kiosk-results li.refused").wait_for()
    assert "08:50" in page.locator("#kiosk-results li.refused").inner_text()  # "您已于 08:50 签到"

    with db.session(write=False) as reader:
        recorded = reader.scalars(select(Attendance).where(Attendance.activity_id == activity_id)).all()
        assert [(a.volunteer_id, a.check_in_method) for a in recorded] == [(volunteer.id, "kiosk")]
    tablet.close()
