"""Consent to the personal information notice (PIPL): shown before anything is collected, required, recorded with its version and time."""

from __future__ import annotations

from sqlalchemy import select

from timebank.people.models import Person
from timebank.people.privacy import NOTICE_VERSION
from tests.conftest import NOW, RESIDENT_ID, send, text

SELF = {"real_name": "张秀兰", "phone": "13912345678", "password": "long enough 1", "id_type": "resident_id", "id_number": RESIDENT_ID}


def _registered(session, phone: str) -> Person | None:
    session.expire_all()
    return session.scalar(select(Person).where(Person.phone == phone))


def test_the_register_page_says_what_is_collected_why_who_sees_it_how_long_and_how_to_withdraw(client):
    page = text(client.get("/register"))
    for heading in ("收集哪些信息", "为什么收集", "谁能看到", "保存多久", "您的权利"):
        assert heading in page
    assert f"{NOTICE_VERSION} 版" in page and 'name="privacy_consent"' in page and "撤回同意" in page


def test_registering_without_agreeing_is_refused_and_writes_nothing(client, session, org_tree):
    answer = send(client, "/register", home_organisation_id=org_tree["east"].id, **SELF)
    assert answer.status_code == 422 and "请阅读《个人信息处理告知》并勾选同意后再登记。" in text(answer)
    assert _registered(session, SELF["phone"]) is None


def test_a_volunteers_own_consent_is_recorded_with_the_notices_version_and_time(client, session, org_tree, monkeypatch):
    monkeypatch.setattr("timebank.auth.views.now", lambda: NOW)
    answer = send(client, "/register", home_organisation_id=org_tree["east"].id, privacy_consent="1", **SELF)
    assert answer.status_code == 200 and 'name="privacy_consent"' not in text(answer)  # the page saying it awaits approval
    person = _registered(session, SELF["phone"])
    assert (person.consent_version, person.consent_at, person.consent_recorded_by) == (NOTICE_VERSION, NOW, None)


def test_a_coordinator_registering_in_person_confirms_the_persons_consent_and_is_named_as_recording_it(app, session, org_tree, make_person, sign_in):
    coordinator = make_person("coordinator", name="陈协调")
    desk = sign_in(coordinator)
    data = {"real_name": "钱奶奶", "phone": "13912340000", "home_organisation_id": org_tree["east"].id}
    refused = send(desk, "/people/new", **data)
    assert refused.status_code == 422 and "请确认本人已知悉《个人信息处理告知》的内容并表示同意。" in text(refused)
    assert send(desk, "/people/new", privacy_consent="1", **data).status_code == 302
    person = _registered(session, "13912340000")
    assert person.consent_version == NOTICE_VERSION and person.consent_recorded_by == coordinator.id


def test_the_api_refuses_a_registration_without_consent_naming_the_field(client, org_tree):
    answer = client.post("/api/v1/registrations", json={**SELF, "home_organisation_id": org_tree["east"].id})
    body = answer.get_json()
    assert answer.status_code == 422 and "privacy_consent" in body["errors"]
