"""The service record certificate (志愿服务记录证明): issued on a page, printed as HTML and PDF, checked by its QR code."""

from __future__ import annotations

from urllib.parse import urlparse

from timebank.app import create_app
from timebank.certify.models import Certificate
from tests.certify.pdfs import pdf_text, qr_on_page, rendered_qr
from timebank.events.models import Attendance
from timebank.events.review import correct_attendance
from tests.conftest import NOW, RESIDENT_ID, send, signed_in, text


def only_certificate(db, person) -> Certificate:
    """The person's one certificate, read in a session of its own, so no test session holds a lock the app waits on."""
    with db.session(write=False) as reader:
        found = reader.query(Certificate).filter_by(person_id=person.id).one()
        reader.expunge(found)
    return found


def _issue(client, person, start="2026-01-01", end="2026-11-20"):
    answer = send(client, f"/certify/people/{person.id}/records", start=start, end=end)
    assert answer.status_code == 302, text(answer)[:500]
    return answer.location


def test_a_volunteer_prints_a_certificate_holding_name_masked_id_hours_and_serial(app, db, make_person, serve, tmp_path):
    volunteer = make_person(name="张秀英", id_type="resident_id", id_number=RESIDENT_ID)
    serve(volunteer, minutes=150, days_ago=30)
    serve(volunteer, minutes=90, category="training", days_ago=20)
    client = signed_in(app, volunteer)
    page_url = _issue(client, volunteer)
    certificate = only_certificate(db, volunteer)
    assert certificate.serial.startswith("TB-2026-") and certificate.certified_minutes == 150 and certificate.training_minutes == 90

    page = text(client.get(page_url))
    assert "张秀英" in page and "1101*************9" in page and RESIDENT_ID not in page
    assert certificate.serial in page and "2.5" in page and "@page" in page  # hours, and the A4 print stylesheet

    pdf = client.get(f"/certify/certificates/{certificate.id}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    words = pdf_text(pdf.data)
    assert "张秀英" in words and certificate.serial in words and "1101*************9" in words
    assert "2.5 小时" in words and "培训时长合计：1.5 小时" in words and RESIDENT_ID not in words
    address = qr_on_page(pdf.data)
    assert urlparse(address).path == f"/certify/verify/{certificate.verify_key}"
    assert rendered_qr(pdf.data, tmp_path) in (None, address)


def test_each_line_names_its_activity_place_content_unit_and_person_in_charge_and_a_correction_stays_on_its_line(app, db, session, make_person, serve, reviewer):
    volunteer = make_person(name="周桂兰")
    corrected = serve(volunteer, minutes=150, days_ago=30)
    serve(volunteer, minutes=60, days_ago=25)
    correct_attendance(session, session.get(Attendance, corrected.id), 120, "签退时间记录有误", actor=reviewer, now=NOW)
    session.commit()
    client = signed_in(app, volunteer)
    page = text(client.get(_issue(client, volunteer)))
    certificate = only_certificate(db, volunteer)

    words = pdf_text(client.get(f"/certify/certificates/{certificate.id}.pdf").data)
    rows = [line for line in words.splitlines() if line.startswith("2026-")]
    assert len(rows) == 2, rows  # the correction is not a line of its own
    for row in rows:
        for field in ("敬老院探访", "东城社区敬老院", "陪老人聊天、读报", "东城社区", "王社工"):
            assert field in row, (field, row)
    assert "2※" in rows[0] and "※" not in rows[1] and "1 " in rows[1] + " "
    assert "该行经更正" in words and "更正后重新记入" not in words
    assert page.count('class="corrected"') == 1 and 'id="corrected-note"' in page and "王社工" in page


def test_the_verification_page_says_valid_then_revoked_after_revocation(app, db, make_person, serve):
    volunteer = make_person(name="李春梅")
    serve(volunteer)
    _issue(signed_in(app, volunteer), volunteer)
    certificate = only_certificate(db, volunteer)
    printed = signed_in(app, volunteer).get(f"/certify/certificates/{certificate.id}.pdf").data
    key = urlparse(qr_on_page(printed)).path
    assert "已撤销" not in pdf_text(printed)

    public = app.test_client()
    page = text(public.get(key))
    assert 'id="verdict"' in page and "status-approved" in page
    assert "李**" in page and "李春梅" not in page and volunteer.phone not in page

    coordinator = signed_in(app, make_person("coordinator", name="陈协调"))
    refused = send(coordinator, f"/certify/certificates/{certificate.id}/revoke", reason="")
    assert refused.status_code == 422
    assert send(coordinator, f"/certify/certificates/{certificate.id}/revoke", reason="服务记录有误").status_code == 302
    page = text(public.get(key))
    assert "status-rejected" in page and "status-approved" not in page
    assert public.get(f"/api/v1/certificates/verify/{certificate.verify_key}").get_json()["status"] == "revoked"
    reprint = signed_in(app, volunteer)
    assert "已撤销" in pdf_text(reprint.get(f"/certify/certificates/{certificate.id}.pdf").data)
    assert 'data-revoked="已撤销"' in text(reprint.get(f"/certify/certificates/{certificate.id}"))


def test_a_period_without_service_gives_a_certificate_saying_so(app, db, make_person, serve):
    volunteer = make_person(name="王小明")
    serve(volunteer, days_ago=300)
    client = signed_in(app, volunteer)
    page = text(client.get(_issue(client, volunteer, start="2026-11-01", end="2026-11-20")))
    assert 'id="no-service"' in page
    certificate = only_certificate(db, volunteer)
    assert "无志愿服务记录" in pdf_text(client.get(f"/certify/certificates/{certificate.id}.pdf").data)


def test_a_period_that_ends_before_it_starts_is_refused_with_a_message(app, make_person):
    volunteer = make_person()
    client = signed_in(app, volunteer)
    answer = send(client, f"/certify/people/{volunteer.id}/records", start="2026-11-20", end="2026-01-01")
    assert answer.status_code == 422 and "problem" in text(answer)


def test_unknown_links_and_serials_get_a_clear_answer(app, db, make_person, serve):
    public = app.test_client()
    answer = public.get("/certify/verify/not-a-real-key")
    assert answer.status_code == 404 and 'id="verdict"' in text(answer)
    assert public.get("/api/v1/certificates/verify/not-a-real-key").get_json()["code"] == "not_found"
    wrong = public.get("/certify/verify?serial=TB-2026-999999&check_code=ABCDEFGH")
    assert wrong.status_code == 404 and 'id="verdict"' in text(wrong)
    assert public.get("/certify/verify?serial=nonsense&check_code=x").status_code == 422
    assert public.get("/certify/verify?serial=TB-2026-000001&check_code=校验码").status_code == 422

    volunteer = make_person()
    serve(volunteer)
    _issue(signed_in(app, volunteer), volunteer)
    certificate = only_certificate(db, volunteer)
    found = public.get(f"/certify/verify?serial={certificate.serial}&check_code={certificate.check_code.lower()}")
    assert found.status_code == 200 and "status-approved" in text(found)
    guessed = public.get(f"/certify/verify?serial={certificate.serial}&check_code=AAAAAAAA")
    assert guessed.status_code == 404


def test_nobody_else_prints_a_volunteers_record(app, make_person, serve):
    volunteer, other = make_person(), make_person()
    serve(volunteer)
    answer = send(signed_in(app, other), f"/certify/people/{volunteer.id}/records", start="2026-01-01", end="2026-11-20")
    assert answer.status_code == 404


def test_looking_up_serials_and_check_codes_is_throttled(db, tmp_path, monkeypatch):
    monkeypatch.setenv("TIMEBANK_INSTANCE_PATH", str(tmp_path / "throttled"))
    throttled = create_app({"TESTING": True, "DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
                            "SECRET_KEY": "x", "DATA_KEY": "test-only-data-key", "RATELIMIT_ENABLED": True})
    client = throttled.test_client()
    answers = [client.get(f"/certify/verify?serial=TB-2026-{n:06d}&check_code=ABCD2345").status_code for n in range(31)]
    throttled.extensions["timebank.database"].dispose()
    assert set(answers[:30]) == {404} and answers[30] == 429
