"""Coordinators' and social workers' pages about people, used through the client as they would."""

from __future__ import annotations

import re
from html import unescape

import pytest
from sqlalchemy import func, select

from tests.conftest import NOW, PASSWORD, RESIDENT_ID, SYSTEM, csrf_token, send, signed_in, text
from tests.people.test_me_pages import qr_text
from timebank.audit.models import AuditEntry
from timebank.auth.codes import MemberCodeRevoked, card_code, resolve
from timebank.people.idnumbers import mask, resident_id_birth_date
from timebank.people.models import FamilyLink, Person, RoleGrant
from timebank.people.services import request_family_link
from timebank.redeem.services import create_station

MASKED_ID = mask(RESIDENT_ID)
WRONG_CHECK_DIGIT = RESIDENT_ID[:-1] + ("0" if RESIDENT_ID[-1] != "0" else "1")


def looked_up(session, statement):
    """Rows read afresh, the test's transaction ended at once so the app can write (SQLite); nothing is expired."""
    try:
        return session.execute(statement.execution_options(populate_existing=True)).scalars().all()
    finally:
        session.commit()


def status_of(session, person) -> str:
    return looked_up(session, select(Person.status).where(Person.id == person.id))[0]


def people_count(session) -> int:
    return looked_up(session, select(func.count()).select_from(Person))[0]


def audit_actions(session, person) -> list[str]:
    return looked_up(session, select(AuditEntry.action).where(AuditEntry.target_type == "person", AuditEntry.target_id == person.id).order_by(AuditEntry.id))


@pytest.fixture
def coordinator(app, make_person):
    """A client signed in as the east community's coordinator."""
    return signed_in(app, make_person("coordinator", name="东城协调员"))


# -- registrations -------------------------------------------------------------


def test_a_coordinator_approves_a_pending_registration_and_the_volunteer_can_then_sign_in(app, coordinator, make_person, session):
    pending = make_person(status="pending", name="李桂兰", id_type="resident_id", id_number=RESIDENT_ID)
    page = text(coordinator.get("/people/registrations"))
    assert "李桂兰" in page and pending.phone in page and MASKED_ID in page and RESIDENT_ID not in page

    answer = send(coordinator, f"/people/{pending.id}/approve")

    assert answer.status_code == 302 and answer.location.endswith("/people/registrations")
    assert status_of(session, pending) == "active"
    assert "已通过：李桂兰" in text(coordinator.get("/people/registrations"))
    signed_in(app, pending)


def test_rejecting_a_registration_needs_a_reason(coordinator, make_person, session):
    pending = make_person(status="pending", name="赵明")

    refused = send(coordinator, f"/people/{pending.id}/reject", reason="  ")

    assert refused.status_code == 422
    assert "请写明原因" in text(refused)
    assert status_of(session, pending) == "pending"
    assert send(coordinator, f"/people/{pending.id}/reject", reason="身份证照片看不清").status_code == 302
    assert status_of(session, pending) == "rejected"
    assert audit_actions(session, pending)[-1] == "reject"


def test_approving_all_shown_approves_every_registration_on_the_page(coordinator, make_person, session):
    pending = [make_person(status="pending", name=f"待审{i}") for i in range(3)]

    answer = send(coordinator, "/people/registrations/approve", all="1", shown=[str(p.id) for p in pending])

    assert answer.status_code == 302
    assert [status_of(session, p) for p in pending] == ["active"] * 3
    assert "已通过 3 份注册" in text(coordinator.get("/people/registrations"))


def test_approving_ticked_registrations_approves_only_those(coordinator, make_person, session):
    first, second = make_person(status="pending"), make_person(status="pending")

    send(coordinator, "/people/registrations/approve", person_ids=[str(first.id)], shown=[str(first.id), str(second.id)])

    assert (status_of(session, first), status_of(session, second)) == ("active", "pending")


def test_approving_with_nothing_ticked_says_so(coordinator, make_person):
    make_person(status="pending")
    answer = send(coordinator, "/people/registrations/approve")
    assert answer.status_code == 422 and "请至少勾选一份注册" in text(answer)


def test_a_bulk_approval_reaching_outside_ones_subtree_approves_nobody(coordinator, make_person, session):
    east, west = make_person(status="pending"), make_person(status="pending", org="west")

    answer = send(coordinator, "/people/registrations/approve", person_ids=[str(east.id), str(west.id)])

    assert answer.status_code == 404
    assert (status_of(session, east), status_of(session, west)) == ("pending", "pending")


def test_an_east_coordinator_can_neither_see_nor_approve_a_west_volunteer(coordinator, make_person, session):
    west = make_person(status="pending", org="west", name="西关报名者")

    assert "西关报名者" not in text(coordinator.get("/people/registrations"))
    assert "找到 0 人" in text(coordinator.get("/people?q=西关报名者"))
    assert coordinator.get(f"/people/{west.id}").status_code == 404
    assert send(coordinator, f"/people/{west.id}/approve").status_code in (403, 404)
    assert send(coordinator, f"/people/{west.id}/reject", reason="不是本社区").status_code in (403, 404)
    assert status_of(session, west) == "pending"


def test_a_social_worker_can_search_but_not_approve(app, make_person, session):
    social_worker = signed_in(app, make_person("social_worker"))
    pending = make_person(status="pending", name="王秀英")

    assert "王秀英" in text(social_worker.get("/people?q=王秀英"))
    assert social_worker.get(f"/people/{pending.id}").status_code == 200
    assert social_worker.get("/people/registrations").status_code == 403
    assert send(social_worker, f"/people/{pending.id}/approve").status_code == 403
    assert send(social_worker, f"/people/{pending.id}/id-number").status_code == 403
    assert status_of(session, pending) == "pending"


def test_a_volunteer_cannot_open_the_coordinators_pages(app, make_person):
    volunteer = signed_in(app, make_person())
    assert volunteer.get("/people").status_code == 403


# -- search --------------------------------------------------------------------------


def test_search_finds_by_name_phone_volunteer_number_and_masked_id(coordinator, make_person):
    person = make_person(name="孙建国", id_type="resident_id", id_number=RESIDENT_ID)
    make_person(name="周丽")

    for query in ("孙建", person.phone, person.volunteer_number, RESIDENT_ID[:4] + "****"):
        page = text(coordinator.get("/people", query_string={"q": query}))
        assert "孙建国" in page and "周丽" not in page, query


def test_search_filters_by_status_and_pages(coordinator, make_person, monkeypatch):
    monkeypatch.setattr("timebank.people.views.PAGE_SIZE", 2)
    names = [f"待审核{i}" for i in range(3)]
    for name in names:
        make_person(status="pending", name=name)

    first = text(coordinator.get("/people?status=pending"))
    second = text(coordinator.get("/people?status=pending&page=2"))

    assert "东城协调员" not in first + second
    assert "第 1 / 2 页" in first and "status=pending" in first and "page=2" in first
    assert sorted(n for n in names if n in first + second) == names
    assert coordinator.get("/people?page=abc").status_code == 200


# -- registering in person and editing ----------------------------------------------------


def in_person(**fields):
    """A complete in-person registration of the east community, with some fields changed."""
    return {"real_name": "钱奶奶", "phone": "13912345678", "id_type": "resident_id", "id_number": RESIDENT_ID, "residence_area": "东城社区3号楼",
            "privacy_consent": "1", **fields}


def test_registering_in_person_without_a_password_makes_an_active_volunteer(coordinator, org_tree, session):
    answer = send(coordinator, "/people/new", home_organisation_id=org_tree["east"].id, **in_person())

    assert answer.status_code == 302
    (person,) = looked_up(session, select(Person).where(Person.phone == "13912345678"))
    assert person.status == "active" and person.password_hash is None and person.birth_date == resident_id_birth_date(RESIDENT_ID)
    assert "钱奶奶" in text(coordinator.get(answer.location))


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"real_name": ""}, 422, "此项必填"),
        ({"phone": "12345"}, 422, "请输入以 1 开头的 11 位手机号码"),
        ({"id_number": WRONG_CHECK_DIGIT}, 422, "身份证号码的校验位不对"),
        ({"residence_area": "长" * 201}, 422, "最多 200 个字"),
        ({"real_name": "<script>alert(1)</script>"}, 422, "姓名不能包含 &lt; &gt;"),
    ],
    ids=["missing name", "bad phone", "wrong checksum", "too long", "script in name"],
)
def test_bad_input_in_person_is_refused_clearly_and_nothing_is_written(coordinator, org_tree, session, fields, status, message):
    before = people_count(session)

    answer = send(coordinator, "/people/new", home_organisation_id=org_tree["east"].id, **in_person(**fields))

    assert answer.status_code == status
    assert message in text(answer) and "有几项需要修改" in text(answer)
    assert "<script>alert" not in text(answer)
    assert people_count(session) == before


def test_a_duplicate_id_number_is_refused_as_a_clash(coordinator, make_person, org_tree, session):
    make_person(id_type="resident_id", id_number=RESIDENT_ID)
    before = people_count(session)

    answer = send(coordinator, "/people/new", home_organisation_id=org_tree["east"].id, **in_person())

    assert answer.status_code == 409 and "这个证件号码已经注册过了" in text(answer)
    assert people_count(session) == before


def test_registering_in_someone_elses_community_is_refused(coordinator, org_tree, session):
    before = people_count(session)
    answer = send(coordinator, "/people/new", home_organisation_id=org_tree["west"].id, **in_person())
    assert answer.status_code == 404 and people_count(session) == before


def test_markup_in_a_record_is_shown_as_text(coordinator, make_person):
    person = make_person(skills="<script>alert(1)</script>")
    page = text(coordinator.get(f"/people/{person.id}"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page


def test_editing_a_record_saves_it_and_logs_the_change(coordinator, make_person, session):
    person = make_person(name="冯大爷")
    assert "冯大爷" in text(coordinator.get(f"/people/{person.id}/edit"))

    answer = send(coordinator, f"/people/{person.id}/edit", real_name="冯大爷", residence_area="东城社区5号楼")

    assert answer.status_code == 302
    assert looked_up(session, select(Person.residence_area).where(Person.id == person.id)) == ["东城社区5号楼"]
    assert audit_actions(session, person)[-1] == "update_profile"
    refused = send(coordinator, f"/people/{person.id}/edit", real_name="", residence_area="别处")
    assert refused.status_code == 422 and "此项必填" in text(refused)


# -- a person's record ------------------------------------------------------------------


def test_revealing_the_full_id_shows_it_once_and_writes_an_audit_entry(coordinator, make_person, session):
    person = make_person(id_type="resident_id", id_number=RESIDENT_ID)
    assert RESIDENT_ID not in text(coordinator.get(f"/people/{person.id}"))

    answer = send(coordinator, f"/people/{person.id}/id-number")

    assert answer.status_code == 200 and RESIDENT_ID in text(answer)
    assert answer.headers["Cache-Control"] == "no-store"
    assert audit_actions(session, person)[-1] == "view_id_number"
    page = text(coordinator.get(f"/people/{person.id}"))
    assert RESIDENT_ID not in page and "查看了完整证件号码" in page


def test_a_reset_password_signs_in_once_and_must_be_changed(app, coordinator, make_person):
    person = make_person(name="陈阿姨")

    answer = send(coordinator, f"/people/{person.id}/reset-password")

    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    temporary = unescape(re.search(r'class="secret-value"[^>]*>([^<]+)<', text(answer)).group(1)).strip()
    client = app.test_client()
    assert client.post("/sign-in", data={"phone": person.phone, "password": PASSWORD, "csrf_token": csrf_token(client)}).status_code == 401
    signed = signed_in(app, person, temporary)
    assert signed.get("/me").location.endswith("/password")


def test_a_new_card_replaces_the_printed_one(app, coordinator, make_person, session):
    person = make_person(name="刘爷爷")
    old_code = card_code(person, app.secret_key)
    page = text(coordinator.get(f"/people/{person.id}/card"))
    assert "刘爷爷" in page and old_code not in page  # the code only as its QR: nobody types a token that long
    assert qr_text(re.search(r'class="member-card-qr" src="([^"]+)"', page).group(1)) == old_code

    answer = send(coordinator, f"/people/{person.id}/new-card")

    assert answer.status_code == 302 and answer.location.endswith(f"/people/{person.id}/card")
    session.refresh(person)
    with pytest.raises(MemberCodeRevoked):
        resolve(session, old_code, app.secret_key, now=NOW)
    new_code = card_code(person, app.secret_key)
    session.commit()
    new_page = text(coordinator.get(answer.location))
    assert qr_text(re.search(r'class="member-card-qr" src="([^"]+)"', new_page).group(1)) == new_code


def test_a_coordinator_confirms_a_family_link(coordinator, make_person, session):
    person, relative = make_person(name="老周"), make_person(name="小周")
    link = request_family_link(session, person.id, relative.phone, "child", actor=SYSTEM, now=NOW)
    session.commit()
    assert "等待确认" in text(coordinator.get(f"/people/{person.id}"))

    assert send(coordinator, f"/people/links/{link.id}/confirm").status_code == 302

    assert looked_up(session, select(FamilyLink.confirmed_at).where(FamilyLink.id == link.id))[0] is not None
    page = text(coordinator.get(f"/people/{relative.id}"))
    assert "老周" in page and "父母" in page


# -- roles ------------------------------------------------------------------------------------


def test_a_coordinator_grants_and_revokes_a_station_staff_role(coordinator, make_person, org_tree, session):
    person = make_person(name="郑师傅")
    station = create_station(session, org_tree["east"].id, {"name": "26度万家驿站"}, actor=SYSTEM, now=NOW)
    session.commit()

    refused = send(coordinator, f"/people/{person.id}/roles", role="station_staff", organisation_id=org_tree["east"].id)
    assert refused.status_code == 422 and "请选择驿站" in text(refused)

    granted = send(coordinator, f"/people/{person.id}/roles", role="station_staff", organisation_id=org_tree["east"].id, station_id=station.id)
    assert granted.status_code == 302
    page = text(coordinator.get(f"/people/{person.id}"))
    assert "驿站工作人员" in page and "26度万家驿站" in page

    (grant_id,) = looked_up(session, select(RoleGrant.id).where(RoleGrant.person_id == person.id, RoleGrant.role == "station_staff"))
    assert send(coordinator, f"/people/roles/{grant_id}/revoke").status_code == 302
    assert looked_up(session, select(RoleGrant.revoked_at).where(RoleGrant.id == grant_id))[0] is not None


def test_a_coordinator_cannot_grant_roles_over_another_community(coordinator, make_person, org_tree, session):
    person = make_person()
    answer = send(coordinator, f"/people/{person.id}/roles", role="volunteer", organisation_id=org_tree["west"].id)
    assert answer.status_code == 403  # not theirs to give: another community's coordinators grant its roles
    assert looked_up(session, select(RoleGrant.id).where(RoleGrant.person_id == person.id, RoleGrant.role == "volunteer", RoleGrant.organisation_id == org_tree["west"].id)) == []
