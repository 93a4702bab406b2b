"""In Chromium: a volunteer issues their service record certificate on the phone, and its printed QR code opens the verification page."""

from __future__ import annotations

from tests.browser.conftest import PHONE, browser, decode_qr, live_server, sign_in  # noqa: F401  (fixtures)


def test_a_volunteer_issues_a_certificate_whose_code_opens_the_page_saying_valid(browser, live_server, app, session, make_person, serve):  # noqa: F811
    volunteer = make_person(name="周桂兰")
    serve(volunteer, minutes=150)
    phone = volunteer.phone
    session.close()

    context = browser.new_context(**PHONE)
    page = sign_in(context, live_server, phone)
    page.goto(f"{live_server}/certify/me")
    assert "2 小时 30 分钟" in page.locator("#certified-total").inner_text()
    page.locator("form[action$='/records'] button[type=submit]").click()
    page.wait_for_url("**/certify/certificates/*")
    document = page.locator("#document")
    assert "周桂兰" in document.inner_text() and "2.5" in page.locator("#service-lines").inner_text()
    address = decode_qr(page.locator(".verification svg").screenshot())
    assert address.startswith(f"{live_server}/certify/verify/")

    anyone = browser.new_context(**PHONE)
    check = anyone.new_page()
    check.goto(address)
    verdict = check.locator("#verdict").inner_text()
    assert "有效" in verdict and "周**" in check.locator("#holder").inner_text()
    assert "周桂兰" not in check.content()
    anyone.close()
    context.close()
