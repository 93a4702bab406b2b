"""Notices: one for each event, the inbox and its bell, channels per kind, digests, quiet hours, the outbox and its adapters."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from tests.conftest import END, NOW, SYSTEM, attend, send, signed_in, text
from timebank.certify.services import issue_service_record
from timebank.events import corrections, notices as event_notices, services as events
from timebank.events.review import approve_attendance, approve_unflagged
from timebank.notices import services
from timebank.notices.models import Notice, NoticeSettings, OutboxMessage
from timebank.notices.render import digest, render
from timebank.notices.tasks import deliver
from timebank.people.access import actor_for
from timebank.people.services import approve, register

AFTER = END + dt.timedelta(hours=3)
LATER = AFTER + services.DEBOUNCE


def kinds_of(session, person) -> list[str]:
    """The kinds of a person's notices, oldest first (besides the approval of their registration, which every test person has)."""
    session.commit()
    return list(session.scalars(select(Notice.kind).where(Notice.person_id == person.id, Notice.kind != "registration_approved").order_by(Notice.id)))


def told_already(session) -> None:
    """Every notice so far read and delivered (the test people's registrations)."""
    session.execute(update(Notice).values(read_at=NOW, delivered_at=NOW))
    session.commit()


def messages(session, **where) -> list[OutboxMessage]:
    session.commit()
    stmt = select(OutboxMessage).order_by(OutboxMessage.id)
    for key, value in where.items():
        stmt = stmt.where(getattr(OutboxMessage, key) == value)
    return list(session.scalars(stmt.execution_options(populate_existing=True)))


def gather_all(session, now):
    for person_id in services.due_people(session, now=now):
        services.gather(session, person_id, render, digest, now=now)
    session.commit()


def never_quiet(session, person, email=None) -> None:
    session.merge(NoticeSettings(person_id=person.id, email=email, quiet_from=0, quiet_until=0))
    session.commit()


def served(session, make_activity, make_person, reviewer, volunteer, *, count: int = 1):
    """`count` activities the volunteer attended, each approved (what was told before, such as registrations, out of the way)."""
    attendances = [attend(session, make_activity(title=f"敬老院探访{n}"), volunteer) for n in range(count)]
    told_already(session)
    for attendance in attendances:
        approve_attendance(session, attendance.id, actor=reviewer, now=AFTER)
    session.commit()


# -- one notice for each event ------------------------------------------------------


def test_approved_hours_reach_the_inbox_with_the_bell_count_and_opening_one_marks_it_read(app, session, make_activity, make_person, reviewer):
    volunteer = make_person(name="张阿姨")
    served(session, make_activity, make_person, reviewer, volunteer)
    notice = session.scalars(select(Notice).where(Notice.person_id == volunteer.id, Notice.kind == "hours_approved")).one()
    assert json.loads(notice.params_json) == {"activity": "敬老院探访0", "hours": "2", "points": 20}
    session.commit()
    client = signed_in(app, volunteer)
    home = text(client.get("/notices?lang=en"))
    assert 'class="badge">1<' in home and "Your service at 敬老院探访0 was approved: 2 hours of time credit and 20 points." in home

    opened = send(client, f"/notices/{notice.id}/open")

    assert opened.status_code == 302 and opened.location.endswith("/me/attendances")
    assert 'class="badge"' not in text(client.get("/notices"))
    other = signed_in(app, make_person(name="别人"))
    assert send(other, f"/notices/{notice.id}/open").status_code == 404


def test_approving_again_tells_nobody_twice(session, make_activity, make_person, reviewer):
    volunteer = make_person()
    activity = make_activity()
    attendance = attend(session, activity, volunteer)
    approve_attendance(session, attendance.id, actor=reviewer, now=AFTER)
    approve_attendance(session, attendance.id, actor=reviewer, now=AFTER)
    assert kinds_of(session, volunteer) == ["hours_approved"]


def test_registration_approval_and_an_issued_certificate_are_told(session, org_tree, make_person, vault):
    person = register(session, {"phone": "13811112222", "password": "correct horse 7", "real_name": "新人", "home_organisation_id": org_tree["east"].id, "privacy_consent": True}, actor=None, vault=vault, now=NOW)
    approve(session, person.id, actor=SYSTEM, now=NOW)
    certificate, _ = issue_service_record(session, person.id, {"start": "2026-01-01", "end": "2026-11-20"}, actor=SYSTEM, now=NOW)
    session.commit()
    told = session.scalars(select(Notice).where(Notice.person_id == person.id).order_by(Notice.id)).all()
    assert [(n.kind, n.link) for n in told] == [("registration_approved", "/me"), ("certificate_issued", f"/certify/certificates/{certificate.id}")]
    assert json.loads(told[1].params_json) == {"serial": certificate.serial}


def test_an_answered_correction_is_told_with_the_answer(session, make_activity, make_person, reviewer):
    volunteer = make_person()
    attendance = attend(session, make_activity(), volunteer)
    request = corrections.report_error(session, attendance.id, {"message": "我待到了最后", "claimed_minutes": 120}, volunteer=volunteer, now=AFTER)
    corrections.answer_correction(session, request.id, {"accept": False, "answer": "签退记录显示 10:30 离开"}, actor=reviewer, now=AFTER)
    notice = session.scalars(select(Notice).where(Notice.person_id == volunteer.id, Notice.kind == "correction_answered")).one()
    assert "10:30" in json.loads(notice.params_json)["answer"]


def test_those_signed_up_are_told_when_an_activity_moves_or_is_cancelled_and_reminded_the_day_before(session, make_activity, make_person, org_tree):
    starts = NOW + dt.timedelta(days=3)
    activity = make_activity(starts_at=starts, ends_at=starts + dt.timedelta(hours=2))
    volunteers = [make_person(name=f"志愿者{n}") for n in range(2)]
    for volunteer in volunteers:
        events.sign_up(session, activity.id, volunteer=volunteer, now=NOW)
    leader = actor_for(session, activity.person_in_charge_id)
    events.update_activity(session, activity.id, {"title": "新标题"}, actor=leader, now=NOW)
    assert kinds_of(session, volunteers[0]) == []  # a new title is not worth a message
    moved = starts + dt.timedelta(days=1)
    events.update_activity(session, activity.id, {"starts_at": moved.isoformat(), "ends_at": (moved + dt.timedelta(hours=2)).isoformat()}, actor=leader, now=NOW)
    session.commit()
    assert event_notices.remind_tomorrow(session, now=moved - dt.timedelta(hours=20)) == 2
    assert event_notices.remind_tomorrow(session, now=moved - dt.timedelta(hours=19)) == 0  # once
    events.cancel_activity(session, activity.id, "暴雨预警", actor=leader, now=NOW)
    for volunteer in volunteers:
        assert kinds_of(session, volunteer) == ["activity_changed", "activity_tomorrow", "activity_cancelled"]


def test_the_person_in_charge_is_warned_as_the_recording_deadline_nears(session, make_activity, make_person):
    activity = make_activity()
    attend(session, activity, make_person())
    # Ends Friday 2026-11-20; ten working days later is Friday 2026-12-04.
    assert event_notices.warn_recording_deadlines(session, now=NOW + dt.timedelta(days=3)) == 0
    assert event_notices.warn_recording_deadlines(session, now=dt.datetime(2026, 12, 2, 1, tzinfo=dt.timezone.utc)) == 1
    assert event_notices.warn_recording_deadlines(session, now=dt.datetime(2026, 12, 3, 1, tzinfo=dt.timezone.utc)) == 0  # once
    notice = session.scalars(select(Notice).where(Notice.kind == "recording_deadline")).one()
    assert notice.person_id == activity.person_in_charge_id and json.loads(notice.params_json)["deadline"] == "2026-12-04"


# -- delivery: digests, channels, quiet hours -----------------------------------------


def test_a_burst_of_approvals_sends_each_volunteer_one_digest(session, make_activity, make_person, reviewer, org_tree):
    activity = make_activity()
    crowd = [make_person(name=f"志愿者{n}") for n in range(5)]
    for volunteer in crowd:
        attend(session, activity, volunteer)
    regular = crowd[0]
    served(session, make_activity, make_person, reviewer, regular, count=3)
    session.commit()
    approve_unflagged(session, activity.id, actor=reviewer, now=AFTER)
    session.commit()

    gather_all(session, AFTER + dt.timedelta(seconds=30))
    assert messages(session) == []  # still within the burst
    gather_all(session, LATER)
    gather_all(session, LATER + dt.timedelta(minutes=5))  # a retried delivery finds nothing new

    sent = messages(session, channel="sms")
    assert sorted(m.person_id for m in sent) == sorted(v.id for v in crowd)
    mine = next(m for m in sent if m.person_id == regular.id)
    assert mine.kind == "digest" and mine.notices == 4 and mine.body.count("·") == 4 and mine.address == regular.phone
    assert all(m.notices == 1 and m.kind == "hours_approved" for m in sent if m.person_id != regular.id)


def test_sms_written_in_quiet_hours_waits_for_the_morning(session, make_activity, make_person, reviewer):
    volunteer = make_person()
    served(session, make_activity, make_person, reviewer, volunteer)
    late_evening = dt.datetime(2026, 11, 20, 15, 30, tzinfo=dt.timezone.utc)  # 23:30 in Shanghai
    gather_all(session, late_evening)
    [message] = messages(session, person_id=volunteer.id)
    assert message.not_before == dt.datetime(2026, 11, 21, 0, 0, tzinfo=dt.timezone.utc)  # 08:00 in Shanghai
    assert services.claim_due(session, now=late_evening + dt.timedelta(hours=3)) == []
    assert message.id in services.claim_due(session, now=message.not_before)


def test_each_person_chooses_channels_per_kind_and_bad_settings_are_refused(app, session, make_activity, make_person, reviewer):
    volunteer = make_person()
    client = signed_in(app, volunteer)
    refused = send(client, "/notices/preferences?lang=en", email="not an address", quiet_from="25")
    page = text(refused)
    assert refused.status_code == 422 and "name@example.com" in page and "Choose an hour from 0 to 23." in page
    saved = client.post("/notices/preferences", data={"hours_approved": ["email"], "registration_approved": ["sms", "email"], "email": "zhang@example.com",
                                                      "quiet_from": "22", "quiet_until": "7", "csrf_token": page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]})
    assert saved.status_code == 302
    chosen = services.preferences_of(session, volunteer.id)
    assert chosen["hours_approved"] == {"email"} and chosen["registration_approved"] == {"sms", "email"} and chosen["activity_cancelled"] == set()
    served(session, make_activity, make_person, reviewer, volunteer)
    gather_all(session, LATER)
    assert [(m.channel, m.address) for m in messages(session, person_id=volunteer.id)] == [("email", "zhang@example.com")]


# -- sending: the outbox and the adapters -------------------------------------------------


def test_without_a_gateway_sms_is_kept_in_the_outbox_where_staff_read_it(app, session, make_activity, make_person, reviewer):
    volunteer = make_person(name="李大爷")
    never_quiet(session, volunteer)
    served(session, make_activity, make_person, reviewer, volunteer)
    with app.app_context():
        assert deliver() == (1, 0)
    [message] = messages(session, person_id=volunteer.id)
    assert message.status == "held" and message.sent_at is None
    coordinator = signed_in(app, make_person("coordinator"))
    page = text(coordinator.get("/notices/outbox?status=held"))
    assert volunteer.phone in page and "敬老院探访0" in page
    assert signed_in(app, volunteer).get("/notices/outbox").status_code == 403


@pytest.fixture
def smtp_server():
    """A local SMTP server (aiosmtpd) that keeps what it receives."""
    received = []

    class Keep:
        async def handle_DATA(self, server, session, envelope):
            received.append(envelope)
            return "250 OK"

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    controller = Controller(Keep(), hostname="127.0.0.1", port=port)
    controller.start()
    yield port, received
    controller.stop()


def test_email_goes_out_over_smtp_once_however_often_delivery_runs(app, session, make_activity, make_person, reviewer, smtp_server):
    port, received = smtp_server
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_FROM="timebank@example.org")
    volunteer = make_person()
    never_quiet(session, volunteer, email="zhang@example.com")
    session.merge(services.NoticePreference(person_id=volunteer.id, kind="hours_approved", channels="email"))
    served(session, make_activity, make_person, reviewer, volunteer, count=2)
    with app.app_context():
        assert deliver() == (1, 1)
        assert deliver() == (0, 0)
    assert len(received) == 1 and received[0].rcpt_tos == ["zhang@example.com"]
    body = received[0].content.decode()
    assert "From: timebank@example.org" in body and "Subject:" in body
    assert [m.status for m in messages(session, person_id=volunteer.id)] == ["sent"]


@pytest.fixture
def sms_gateway():
    """A local HTTP SMS gateway that keeps each request's JSON (and refuses when told to)."""
    received, answer = [], {"status": 200}

    class Gateway(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append((self.headers.get("Authorization"), json.loads(self.rfile.read(int(self.headers["Content-Length"])))))
            self.send_response(answer["status"])
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/send", received, answer
    server.shutdown()
    server.server_close()


def test_the_sms_gateway_gets_the_template_of_the_notice_kind_and_a_refusal_is_shown_as_failed(app, session, make_activity, make_person, reviewer, sms_gateway):
    url, received, answer = sms_gateway
    app.config.update(SMS_URL=url, SMS_TOKEN="gateway-token", SMS_TEMPLATES=json.dumps({"hours_approved": "SMS_1001", "default": "SMS_9000"}))
    first, second = make_person(name="一号"), make_person(name="二号")
    for volunteer in (first, second):
        never_quiet(session, volunteer)
    served(session, make_activity, make_person, reviewer, first)
    with app.app_context():
        assert deliver() == (1, 1)
    token, payload = received[0]
    assert token == "Bearer gateway-token" and payload["phone"] == first.phone and payload["template"] == "SMS_1001"
    assert payload["params"] == {"activity": "敬老院探访0", "hours": "2", "points": 20}

    answer["status"] = 500
    served(session, make_activity, make_person, reviewer, second)
    with app.app_context():
        assert deliver() == (1, 0)
        assert deliver() == (0, 0)  # a failed message is not sent again by itself
    failed = messages(session, person_id=second.id)[0]
    assert failed.status == "failed" and "500" in failed.error and len(received) == 2
