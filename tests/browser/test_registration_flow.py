"""A volunteer registers on a phone, a coordinator approves on a tablet, the volunteer signs in
and shows 我的码: the QR on the screen decodes to a code the station service accepts."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from timebank.auth.codes import resolve
from timebank.db import utcnow
from timebank.people.models import Person
from tests.browser.conftest import PHONE, TABLET, decode_qr, sign_in
from tests.conftest import PASSWORD, RESIDENT_ID

VOLUNTEER_PHONE = "13912345678"


def person_with_phone(db, phone: str) -> tuple[int, str]:
    """(id, status) of the person with this phone, read in a short read-only transaction.

    The test never holds a write transaction open while the server serves, or
    SQLite would keep the server waiting for the write lock.
    """
    with db.session(write=False) as reader:
        person = reader.scalar(select(Person).where(Person.phone == phone))
        return (person.id, person.status) if person else (0, "")


def test_register_approve_sign_in_and_show_a_member_code_that_the_station_accepts(
    browser, live_server, app, db, session, org_tree, make_person
):
    coordinator_phone = make_person("coordinator", org="east", name="李协调").phone
    session.close()

    # On a phone: the volunteer registers.
    phone = browser.new_context(**PHONE)
    page = phone.new_page()
    page.goto(f"{live_server}/register")
    page.fill("input[name=real_name]", "张秀兰")
    page.fill("input[name=phone]", VOLUNTEER_PHONE)
    page.fill("input[name=password]", PASSWORD)
    page.select_option("select[name=home_organisation_id]", label="东城社区")
    page.select_option("select[name=id_type]", value="resident_id")
    page.fill("input[name=id_number]", RESIDENT_ID)
    page.check("input[name=service_categories][value=elderly]")
    # The notice stands open above the consent box, whole on a phone's width, and registering needs the tick.
    notice, consent = page.locator("#privacy-notice"), page.locator("label.consent")
    for heading in ("收集哪些信息", "为什么收集", "谁能看到", "保存多久", "您的权利"):
        expect(notice.get_by_text(heading)).to_be_visible()
    above, below = notice.bounding_box(), consent.bounding_box()
    assert above["y"] + above["height"] <= below["y"] and above["x"] + above["width"] <= 390
    page.check("input[name=privacy_consent]")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "张秀兰" in page.content()
    volunteer_id, status = person_with_phone(db, VOLUNTEER_PHONE)
    assert status == "pending"

    # On a tablet: the coordinator approves.
    tablet = browser.new_context(**TABLET)
    desk = sign_in(tablet, live_server, coordinator_phone)
    desk.goto(f"{live_server}/people/registrations")
    assert "张秀兰" in desk.content()
    desk.locator(f'form[action$="/people/{volunteer_id}/approve"] button[type=submit]').click()
    desk.wait_for_load_state()
    assert person_with_phone(db, VOLUNTEER_PHONE) == (volunteer_id, "active")

    # Back on the phone: sign in and open 我的码.
    page = sign_in(phone, live_server, VOLUNTEER_PHONE)
    page.goto(f"{live_server}/me/code")
    code = decode_qr(page.screenshot(full_page=True))
    with db.session(write=False) as reader:
        assert resolve(reader, code, app.secret_key, now=utcnow()).id == volunteer_id
    phone.close()
    tablet.close()
