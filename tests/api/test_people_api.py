"""The people API: oneself, registrations, search, records, approval, passwords, ID numbers, roles."""

from __future__ import annotations

from sqlalchemy import select

from timebank.audit.models import AuditEntry
from timebank.auth.codes import resolve
from timebank.db import utcnow
from timebank.ledger import rules
from timebank.people.models import Person, RoleGrant
from tests.api.conftest import ZH
from tests.conftest import NOW, PASSWORD, RESIDENT_ID, csrf_token


def registration(**fields):
    """A valid self-registration body, with `fields` changed."""
    return {"phone": "13912345678", "password": "long enough 1", "real_name": "王秀英", "home_organisation_id": fields.pop("org"), "privacy_consent": True, **fields}


# -- oneself ------------------------------------------------------------------


def test_me_shows_profile_roles_and_spendable_balances(client, session, make_person, sign_in, credit):
    person = make_person(name="王秀英", service_categories=["elderly"])
    rules.open_system_accounts(session, now=NOW)
    session.commit()
    credit(person.id, minutes=90, points=15)
    sign_in(person)
    answer = client.get("/api/v1/me")
    assert answer.status_code == 200
    body = answer.json
    assert body["person"]["real_name"] == "王秀英"
    assert body["person"]["volunteer_number"] == person.volunteer_number
    assert [grant["role"] for grant in body["roles"]] == ["volunteer"]
    assert body["roles"][0]["organisation_name"] == "东城社区"
    assert body["balances"]["hours"] == {"posted": 90, "held": 0, "available": 90}
    assert body["balances"]["points"]["available"] == 15
    assert body["balances"]["certified_minutes"] == 90


def test_anonymous_callers_get_a_json_401_in_chinese(client):
    for method, url in (("get", "/api/v1/me"), ("get", "/api/v1/people"), ("post", "/api/v1/people/1/approve")):
        answer = getattr(client, method)(url, json={}, headers=ZH) if method == "post" else client.get(url, headers=ZH)
        assert answer.status_code == 401
        assert answer.json == {"code": "unauthorized", "status": 401, "message": "请先登录", "errors": {}}


def test_editing_oneself_changes_only_the_fields_sent_and_ignores_unknown_ones(client, make_person, sign_in, count):
    person = make_person(name="王秀英", skills="理发")
    sign_in(person)
    answer = client.patch(
        "/api/v1/me", json={"residence_area": "东城社区3号楼", "status": "suspended", "phone": "13100000000", "is_admin": True}
    )
    assert answer.status_code == 200, answer.json
    assert answer.json["residence_area"] == "东城社区3号楼"
    assert answer.json["skills"] == "理发" and answer.json["status"] == "active"
    assert count(Person, Person.phone == person.phone, Person.status == "active") == 1


def test_a_fresh_member_code_names_oneself_for_two_minutes(client, session, make_person, sign_in):
    person = make_person()
    sign_in(person)
    answer = client.get("/api/v1/me/member-code")
    assert answer.status_code == 200
    assert answer.json["expires_in"] == 120
    assert resolve(session, answer.json["code"], "test-only-secret", now=utcnow()).id == person.id


# -- registering --------------------------------------------------------------


def test_self_registration_waits_for_approval_whatever_else_is_sent(client, org_tree, count):
    body = registration(org=org_tree["east"].id, status="active", roles=["admin"], id_type="resident_id", id_number=RESIDENT_ID)
    answer = client.post("/api/v1/registrations", json=body)
    assert answer.status_code == 201, answer.json
    assert answer.json["status"] == "pending"
    assert answer.json["id_number_masked"] == RESIDENT_ID[:4] + "*" * 13 + RESIDENT_ID[-1:]
    assert answer.json["birth_date"] == "1956-03-07" and answer.json["sex"] == "M"
    assert count(RoleGrant, RoleGrant.person_id == answer.json["id"]) == 0


def test_bad_registrations_say_what_is_wrong_per_field_in_chinese_and_write_nothing(client, org_tree, count):
    east = org_tree["east"].id
    answer = client.post("/api/v1/registrations", json=registration(org=east, phone="1391234", real_name="王" * 51), headers=ZH)
    assert answer.status_code == 422
    assert answer.json["code"] == "invalid_input"
    assert answer.json["errors"]["phone"] == ["请输入以 1 开头的 11 位手机号码。"]
    assert "50" in answer.json["errors"]["real_name"][0] and "characters" not in answer.json["errors"]["real_name"][0]

    wrong_check_digit = RESIDENT_ID[:-1] + ("0" if RESIDENT_ID[-1] != "0" else "1")
    answer = client.post("/api/v1/registrations", json=registration(org=east, id_type="resident_id", id_number=wrong_check_digit), headers=ZH)
    assert answer.status_code == 422
    assert answer.json["errors"]["id_number"] == ["身份证号码的校验位不对，请再核对一遍。"]

    answer = client.post("/api/v1/registrations", json=registration(org=east, residence_area="x" * 201, home_organisation_id="东城"), headers=ZH)
    assert answer.status_code == 422
    assert set(answer.json["errors"]) == {"residence_area", "home_organisation_id"}
    assert all("characters" not in problem and "valid" not in problem for problems in answer.json["errors"].values() for problem in problems)
    assert count(Person) == 0 and count(AuditEntry, AuditEntry.action == "register") == 0


def test_a_registered_id_number_or_phone_cannot_register_again(client, org_tree, make_person, count):
    make_person(id_type="resident_id", id_number=RESIDENT_ID)
    answer = client.post(
        "/api/v1/registrations",
        json=registration(org=org_tree["east"].id, id_type="resident_id", id_number=RESIDENT_ID),
        headers=ZH,
    )
    assert answer.status_code == 409
    assert answer.json["errors"] == {"id_number": ["这个证件号码已经注册过了。"]}
    answer = client.post("/api/v1/registrations", json=registration(org=org_tree["east"].id, phone="13800000001"), headers=ZH)
    assert answer.status_code == 409
    assert answer.json["errors"] == {"phone": ["这个手机号已经注册过了。"]}
    assert count(Person) == 1


def test_a_coordinator_registers_someone_in_person_who_is_active_at_once(client, org_tree, make_person, sign_in):
    sign_in(make_person("coordinator"))
    body = registration(org=org_tree["east_team"].id)
    del body["password"]
    answer = client.post("/api/v1/people", json=body)
    assert answer.status_code == 201, answer.json
    assert answer.json["status"] == "active"


def test_a_coordinator_cannot_register_people_into_another_community(client, org_tree, make_person, sign_in, count):
    sign_in(make_person("coordinator", org="east"))
    answer = client.post("/api/v1/people", json=registration(org=org_tree["west"].id))
    assert answer.status_code == 404
    assert count(Person, Person.phone == "13912345678") == 0


def test_a_volunteer_may_not_register_others(client, org_tree, make_person, sign_in):
    sign_in(make_person())
    assert client.post("/api/v1/people", json=registration(org=org_tree["east"].id)).status_code == 403


# -- finding people -----------------------------------------------------------


def test_search_finds_people_of_the_actors_subtree_only(client, make_person, sign_in):
    sign_in(make_person("social_worker", org="east", name="李社工"))
    mine = make_person(org="east_team", name="张桂兰")
    make_person(org="west", name="张建国")
    answer = client.get("/api/v1/people?q=张")
    assert answer.status_code == 200
    assert [p["id"] for p in answer.json["items"]] == [mine.id]
    assert answer.json["total"] == 1 and answer.json["page"] == 1
    assert client.get(f"/api/v1/people?q={mine.volunteer_number}").json["items"][0]["id"] == mine.id
    assert client.get("/api/v1/people?status=pending").json["total"] == 0
    assert client.get("/api/v1/people?page=2").json["items"] == []


def test_search_refuses_an_unknown_status_or_page(client, make_person, sign_in):
    sign_in(make_person("coordinator"))
    answer = client.get("/api/v1/people?status=deleted&page=0", headers=ZH)
    assert answer.status_code == 422
    assert set(answer.json["errors"]) == {"status", "page"}


def test_a_volunteer_may_not_search_people(client, make_person, sign_in):
    sign_in(make_person())
    answer = client.get("/api/v1/people", headers=ZH)
    assert answer.status_code == 403
    assert answer.json["message"] == "您的账号没有进行此操作的权限。"


def test_a_record_outside_the_actors_subtree_is_not_found_and_not_changed(client, make_person, sign_in, count):
    sign_in(make_person("coordinator", org="east"))
    mine, theirs = make_person(org="east_team", name="张桂兰"), make_person(org="west", name="张建国")
    answer = client.get(f"/api/v1/people/{mine.id}")
    assert answer.status_code == 200
    assert answer.json["real_name"] == "张桂兰" and answer.json["roles"][0]["role"] == "volunteer"
    assert client.get(f"/api/v1/people/{theirs.id}").status_code == 404
    assert client.get("/api/v1/people/999999").status_code == 404
    assert client.patch(f"/api/v1/people/{theirs.id}", json={"real_name": "改名"}).status_code == 404
    assert count(Person, Person.real_name == "张建国") == 1


def test_a_coordinator_edits_a_record_of_their_community(client, make_person, sign_in):
    sign_in(make_person("coordinator", org="east"))
    person = make_person(org="east_team")
    answer = client.patch(f"/api/v1/people/{person.id}", json={"skills": "电工", "service_categories": ["elderly"]})
    assert answer.status_code == 200, answer.json
    assert answer.json["skills"] == "电工" and answer.json["service_categories"] == ["elderly"]


# -- approval, passwords, ID numbers ----------------------------------------------


def test_a_coordinator_approves_a_pending_registration(client, make_person, sign_in):
    sign_in(make_person("coordinator"))
    pending = make_person(status="pending")
    answer = client.post(f"/api/v1/people/{pending.id}/approve", json={})
    assert answer.status_code == 200
    assert answer.json["status"] == "active"


def test_rejecting_needs_a_reason_and_a_coordinator_of_the_person(client, make_person, sign_in, count):
    sign_in(make_person("coordinator", org="east"))
    pending, elsewhere = make_person(status="pending"), make_person(status="pending", org="west")
    answer = client.post(f"/api/v1/people/{pending.id}/reject", json={}, headers=ZH)
    assert answer.status_code == 422
    assert answer.json["errors"] == {"reason": ["请写明原因，让对方知道该怎么做。"]}
    assert client.post(f"/api/v1/people/{elsewhere.id}/reject", json={"reason": "信息不全"}).status_code == 404
    assert count(Person, Person.status == "rejected") == 0
    answer = client.post(f"/api/v1/people/{pending.id}/reject", json={"reason": "请到社区现场登记"})
    assert answer.status_code == 200 and answer.json["status"] == "rejected"


def test_approving_someone_already_rejected_is_a_conflict(client, make_person, sign_in):
    sign_in(make_person("coordinator"))
    rejected = make_person(status="rejected")
    answer = client.post(f"/api/v1/people/{rejected.id}/approve", json={}, headers=ZH)
    assert answer.status_code == 409 and answer.json["code"] == "conflict"


def test_a_reset_password_is_shown_once_and_signs_the_person_in(app, client, make_person, sign_in):
    person = make_person()
    sign_in(make_person("coordinator"))
    answer = client.post(f"/api/v1/people/{person.id}/reset-password", json={})
    assert answer.status_code == 200
    temporary = answer.json["temporary_password"]
    other = app.test_client()
    old = other.post("/sign-in", data={"phone": person.phone, "password": PASSWORD, "csrf_token": csrf_token(other)})
    assert old.status_code == 401
    new = other.post("/sign-in", data={"phone": person.phone, "password": temporary, "csrf_token": csrf_token(other)})
    assert new.status_code == 302


def test_the_whole_id_number_is_shown_to_a_coordinator_and_logged(client, make_person, sign_in, count):
    person = make_person(id_type="resident_id", id_number=RESIDENT_ID)
    outsider = make_person("coordinator", org="west")
    sign_in(make_person("coordinator", org="east"))
    answer = client.post(f"/api/v1/people/{person.id}/id-number", json={})
    assert answer.status_code == 200
    assert answer.json == {"id_number": RESIDENT_ID}
    assert count(AuditEntry, AuditEntry.action == "view_id_number", AuditEntry.target_id == person.id) == 1
    sign_in(outsider)
    assert client.post(f"/api/v1/people/{person.id}/id-number", json={}).status_code == 404
    assert count(AuditEntry, AuditEntry.action == "view_id_number") == 1


# -- roles --------------------------------------------------------------------


def test_a_coordinator_grants_and_revokes_a_role_in_their_subtree(client, org_tree, make_person, sign_in, count):
    sign_in(make_person("coordinator", org="east"))
    person = make_person(org="east_team")
    answer = client.post(
        f"/api/v1/people/{person.id}/roles",
        json={"role": "social_worker", "organisation_id": org_tree["east_team"].id, "certificate_level": "社会工作师"},
    )
    assert answer.status_code == 201, answer.json
    grant_id = answer.json["id"]
    assert answer.json["role"] == "social_worker" and answer.json["organisation_name"] == "东城助老服务队"
    answer = client.delete(f"/api/v1/roles/{grant_id}", json={})
    assert answer.status_code == 200 and answer.json["revoked_at"]
    assert count(RoleGrant, RoleGrant.id == grant_id, RoleGrant.revoked_at.is_(None)) == 0


def test_only_an_admin_makes_admins_and_nobody_grants_outside_their_subtree(client, org_tree, make_person, sign_in, count):
    sign_in(make_person("coordinator", org="east"))
    person = make_person(org="east")
    assert client.post(f"/api/v1/people/{person.id}/roles", json={"role": "admin", "organisation_id": org_tree["east"].id}).status_code == 403
    assert client.post(f"/api/v1/people/{person.id}/roles", json={"role": "volunteer", "organisation_id": org_tree["west"].id}).status_code == 403
    answer = client.post(f"/api/v1/people/{person.id}/roles", json={"role": "wizard", "organisation_id": org_tree["east"].id}, headers=ZH)
    assert answer.status_code == 422 and set(answer.json["errors"]) == {"role"}
    assert count(RoleGrant, RoleGrant.person_id == person.id) == 1


def test_a_role_of_another_subtree_cannot_be_revoked(client, session, make_person, sign_in):
    outsider = make_person("coordinator", org="west")
    sign_in(make_person("coordinator", org="east"))
    grant_id = session.scalar(select(RoleGrant.id).where(RoleGrant.person_id == outsider.id, RoleGrant.role == "coordinator"))
    session.rollback()
    assert client.delete(f"/api/v1/roles/{grant_id}", json={}).status_code == 404
    assert client.delete("/api/v1/roles/999999", json={}).status_code == 404
