"""The audit log page: admins only, newest first, paged, filtered by record, secrets never shown."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.conftest import NOW, SYSTEM, signed_in, text
from timebank.audit.models import AuditEntry
from timebank.audit.services import record
from timebank.auth.services import reset_password


@pytest.fixture
def admin(app, make_person):
    """A client signed in as the county's administrator."""
    return signed_in(app, make_person("admin", org="county", name="县管理员"))


def test_the_audit_log_is_for_admins_only(app, make_person):
    for roles in (("coordinator",), ("social_worker",), ()):
        assert signed_in(app, make_person(*roles)).get("/audit").status_code == 403


def test_admins_see_who_did_what_newest_first_with_changes_and_no_secrets(admin, make_person, session):
    person = make_person(name="吴奶奶")
    reset_password(session, person.id, actor=SYSTEM, now=NOW)
    session.commit()

    page = text(admin.get("/audit"))

    assert page.index("重设了密码") < page.index("注册审核通过") < page.index("登记注册")
    assert "吴奶奶" in page and "状态" in page and "待审核 → 正常" in page
    assert "pbkdf2" not in page and "scrypt" not in page and "密码" in page and "已更改" in page
    assert "password_hash" not in page and "&#34;" not in page and "null" not in page


def test_history_reads_in_the_readers_language_with_names_for_records_it_refers_to(admin, make_person, org_tree, session):
    person = make_person(name="吴奶奶")
    session.commit()

    page = text(admin.get(f"/people/{person.id}"))

    assert "出生日期" in page and "东城社区" in page and "待审核" in page
    for internal in ("birth_date", "home_organisation_id", "&#34;pending&#34;", "None", "null"):
        assert internal not in page


def test_the_audit_log_filters_by_record_and_pages_back(admin, make_person, session, monkeypatch):
    first, second = make_person(name="甲"), make_person(name="乙")

    only_first = text(admin.get(f"/audit?type=person&id={first.id}"))
    assert f"/people/{first.id}" in only_first and f"/people/{second.id}" not in only_first

    monkeypatch.setattr("timebank.audit.views.PAGE_SIZE", 2)
    newest = text(admin.get("/audit"))
    try:
        newest_ids = list(session.scalars(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(3)))
    finally:
        session.commit()
    assert f"before={newest_ids[1]}" in newest
    older = text(admin.get(f"/audit?before={newest_ids[1]}"))
    assert older.count("<tr>") == 2 + 1  # two entries and the header


def test_secret_values_are_hidden_even_inside_recorded_changes(admin, session):
    record(session, actor=None, action="set_policies", target=("organisation", 1), changes={"nested": {"token_hash": "abc123secret"}}, now=NOW)
    session.commit()
    page = text(admin.get("/audit?type=organisation&id=1"))
    assert "abc123secret" not in page and "修改了政策" in page


def test_junk_in_the_query_string_is_ignored(admin):
    assert admin.get("/audit?before=x&type=<script>&id=y").status_code == 200
