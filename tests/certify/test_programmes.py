"""Certification programmes: defined by a coordinator, progress requirement by requirement, issued on a social worker's sign-off."""

from __future__ import annotations

from urllib.parse import urlparse

from timebank.certify.models import Certificate
from timebank.certify.services import add_months
from timebank.localtime import local_day
from timebank.people.services import grant_role
from tests.certify.pdfs import pdf_text, qr_on_page
from tests.conftest import NOW, SYSTEM, send, signed_in, text

PROGRAMME = {
    "name": "助老服务专业志愿者",
    "hours_elderly": "2",
    "required_training_hours": "1",
    "required_activities": "2",
    "signoff_level": "社会工作师",
    "validity_months": "24",
}


def define(app, make_person, org_tree) -> tuple[int, object]:
    coordinator = signed_in(app, make_person("coordinator", name="陈协调"))
    answer = send(coordinator, "/certify/programmes/new", organisation_id=org_tree["east"].id, **PROGRAMME)
    assert answer.status_code == 302, text(answer)[:800]
    return int(answer.location.rstrip("/").rsplit("/", 1)[1]), coordinator


def test_a_coordinators_programme_shows_each_volunteer_what_is_missing(app, make_person, org_tree, serve):
    programme_id, _ = define(app, make_person, org_tree)
    volunteer = make_person(name="赵丽")
    serve(volunteer, minutes=60)
    mine = signed_in(app, volunteer)
    page = text(mine.get("/certify/me"))
    assert "助老服务专业志愿者" in page and page.count('class="missing"') == 3
    progress = mine.get("/api/v1/me/certification").get_json()["progress"][0]
    assert progress["met"] is False
    assert {r["kind"]: r["missing"] for r in progress["requirements"]} == {"category": 60, "training": 60, "activities": 1}


def test_a_programme_without_any_certified_hours_asked_is_refused(app, make_person, org_tree):
    coordinator = signed_in(app, make_person("coordinator"))
    answer = send(coordinator, "/certify/programmes/new", organisation_id=org_tree["east"].id, **{**PROGRAMME, "hours_elderly": ""})
    assert answer.status_code == 422 and "problem" in text(answer)


def test_the_social_worker_signs_off_once_every_requirement_is_met(app, db, session, make_person, org_tree, serve):
    programme_id, coordinator = define(app, make_person, org_tree)
    volunteer = make_person(name="赵丽")
    supervisor = signed_in(app, make_person("social_worker", name="孙督导"))
    serve(volunteer, minutes=60)
    assert send(supervisor, f"/certify/programmes/{programme_id}/people/{volunteer.id}/issue").status_code == 409

    serve(volunteer, minutes=60, days_ago=5)
    serve(volunteer, minutes=60, category="training", days_ago=4)
    assistant = make_person(name="周助理")
    grant_role(session, assistant.id, {"role": "social_worker", "organisation_id": org_tree["east"].id, "certificate_level": "助理社会工作师"}, actor=SYSTEM, now=NOW)
    session.commit()
    assert send(signed_in(app, assistant), f"/certify/programmes/{programme_id}/people/{volunteer.id}/issue").status_code == 403
    assert volunteer.real_name in text(supervisor.get(f"/certify/programmes/{programme_id}"))  # awaiting sign-off

    issued = send(supervisor, f"/certify/programmes/{programme_id}/people/{volunteer.id}/issue")
    assert issued.status_code == 302
    with db.session(write=False) as reader:
        certificate = reader.query(Certificate).filter_by(person_id=volunteer.id).one()
        serial, key, valid_until = certificate.serial, certificate.verify_key, certificate.valid_until
        issued_on = local_day(certificate.issued_at)
        assert certificate.certified_minutes == 120 and certificate.training_minutes == 60 and certificate.activities == 2
        assert certificate.basis == {"elderly": 120}
    assert valid_until == add_months(issued_on, 24) and (valid_until - issued_on).days in (730, 731)
    assert send(supervisor, f"/certify/programmes/{programme_id}/people/{volunteer.id}/issue").status_code == 409

    pdf = supervisor.get(issued.location + ".pdf")
    words = pdf_text(pdf.data)
    assert "助老服务专业志愿者" in words and serial in words and "赵丽" in words and "孙督导" in words
    assert urlparse(qr_on_page(pdf.data)).path == f"/certify/verify/{key}"
    mine = signed_in(app, volunteer).get("/api/v1/me/certification").get_json()
    assert mine["progress"][0]["certificate"]["serial"] == serial


def test_a_volunteer_of_another_community_cannot_be_signed_off_from_here(app, make_person, org_tree, serve):
    programme_id, _ = define(app, make_person, org_tree)
    west_volunteer = make_person(org="west")
    supervisor = signed_in(app, make_person("social_worker"))
    assert send(supervisor, f"/certify/programmes/{programme_id}/people/{west_volunteer.id}/issue").status_code == 404


def test_the_api_defines_programmes_and_issues_and_revokes_certificates(app, make_person, org_tree, serve):
    coordinator = signed_in(app, make_person("coordinator"))
    created = coordinator.post("/api/v1/programmes", json={"organisation_id": org_tree["east"].id, "name": "应急救援专业志愿者", "required_hours": {"emergency": 1}, "signoff_level": "助理社会工作师"})
    assert created.status_code == 201, created.get_json()
    refused = coordinator.post("/api/v1/programmes", json={"organisation_id": org_tree["east"].id, "name": "x", "required_hours": {"cooking": 1}, "signoff_level": "x"})
    assert refused.status_code == 422 and set(refused.get_json()["errors"]) >= {"required_hours", "signoff_level"}
    volunteer = make_person()
    serve(volunteer, minutes=60, category="emergency")
    supervisor = signed_in(app, make_person("social_worker"))
    issued = supervisor.post(f"/api/v1/programmes/{created.get_json()['id']}/certificates", json={"person_id": volunteer.id})
    assert issued.status_code == 201, issued.get_json()
    revoked = coordinator.post(f"/api/v1/certificates/{issued.get_json()['id']}/revoke", json={"reason": "发现记录造假"})
    assert revoked.status_code == 200 and revoked.get_json()["revoke_reason"] == "发现记录造假"
    assert coordinator.post(f"/api/v1/certificates/{issued.get_json()['id']}/revoke", json={"reason": "再次撤销"}).status_code == 409
