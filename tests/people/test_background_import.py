"""A large volunteer file is imported by a background job: its status page, then the same report as the page's."""

from __future__ import annotations

import datetime as dt
import io
import stat
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from timebank.db import utcnow
from timebank.people import background_imports
from timebank.people.access import actor_for
from timebank.people.models import PeopleImport
from timebank.people.tasks import import_folder
from timebank.web import database
from tests.conftest import NOW, csrf_token, signed_in
from tests.people.test_importing import BAD, BAD_PROBLEMS, GOOD, HEADINGS, assert_registered_as_active_volunteers, coordinator, csv_file, people_count, xlsx_file  # noqa: F401 (fixture)

ZH = {"Accept-Language": "zh-CN"}


@pytest.fixture
def large(app: Flask) -> Flask:
    """The app, with files of more than two rows imported in the background (GOOD has three)."""
    app.config["PEOPLE_IMPORT_BACKGROUND_ROWS"] = 2
    return app


def upload(client, organisation_id: int, content: bytes, filename: str = "名单.csv"):
    """Post a file to the import page."""
    data = {"csrf_token": csrf_token(client), "organisation_id": str(organisation_id), "file": (io.BytesIO(content), filename)}
    return client.post("/people/import", data=data, content_type="multipart/form-data")


def waiting_files(app: Flask) -> list[Path]:
    """Uploaded files still kept for an import."""
    with app.app_context():
        folder = import_folder()
    return sorted(folder.iterdir()) if folder.is_dir() else []


def run_again(app: Flask, import_id: int) -> None:
    """Run the import's job once more, as the queue would after a worker died or for a retry."""
    with app.app_context():
        background_imports.run_import(database(), import_id, import_folder(), vault=app.extensions["timebank.vault"], now=utcnow)


def test_a_large_file_is_imported_by_a_job_and_its_report_shows_on_its_status_page(large, client, sign_in, coordinator, org_tree, session):
    east = org_tree["east"].id
    sign_in(coordinator)

    answer = upload(client, east, xlsx_file(GOOD).getvalue(), filename="名单.xlsx")

    assert answer.status_code == 302 and answer.location.startswith("/people/imports/")
    status = client.get(answer.location, headers=ZH)
    page = status.get_data(as_text=True)
    assert status.status_code == 200 and status.headers["Cache-Control"] == "no-store"
    assert 'data-status="done"' in page and "3 名志愿者已登记并通过审核" in page and 'http-equiv="refresh"' not in page
    session.rollback()
    assert_registered_as_active_volunteers(session, org_tree)
    assert waiting_files(large) == []


def test_a_job_run_again_after_its_import_is_done_writes_nobody_twice(large, client, sign_in, coordinator, org_tree, session):
    east = org_tree["east"].id
    sign_in(coordinator)
    upload(client, east, csv_file(GOOD).getvalue())
    session.rollback()
    import_id = session.scalars(select(PeopleImport.id)).one()
    after_first = people_count(session)
    session.rollback()

    run_again(large, import_id)

    assert people_count(session) == after_first
    assert session.get(PeopleImport, import_id).status == "done"


def test_a_job_that_fails_records_its_error_and_keeps_the_file_for_the_retry(large, client, sign_in, coordinator, org_tree, session, monkeypatch):
    east = org_tree["east"].id
    def broken(*args, **kwargs):
        raise OSError("disk gone")

    monkeypatch.setattr(background_imports, "write_import", broken)
    sign_in(coordinator)
    before = people_count(session)
    session.rollback()

    answer = upload(client, east, csv_file(GOOD).getvalue())

    page = client.get(answer.location, headers=ZH).get_data(as_text=True)
    assert 'data-status="failed"' in page and "OSError" in page and "disk gone" not in page
    assert people_count(session) == before
    assert len(waiting_files(large)) == 1
    monkeypatch.undo()
    import_id = session.scalars(select(PeopleImport.id)).one()
    session.rollback()
    run_again(large, import_id)  # the queue's retry
    assert people_count(session) == before + 3 and waiting_files(large) == []


def test_a_refused_large_file_shows_every_rows_problems_and_writes_nothing(large, client, sign_in, coordinator, org_tree, session):
    east = org_tree["east"].id
    sign_in(coordinator)
    before = people_count(session)
    session.rollback()

    answer = upload(client, east, csv_file(GOOD + BAD).getvalue())

    page = client.get(answer.location, headers=ZH).get_data(as_text=True)
    assert 'data-status="refused"' in page and "没有导入任何人" in page
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "与第 6 行的手机号相同" in page
    assert page.count("<tr><td>") == len(BAD_PROBLEMS)
    assert people_count(session) == before
    assert waiting_files(large) == []


def test_a_small_file_is_still_imported_in_the_request(large, client, sign_in, coordinator, org_tree, session):
    east = org_tree["east"].id
    sign_in(coordinator)

    answer = upload(client, east, csv_file(GOOD[:2]).getvalue())

    assert answer.status_code == 200 and "2 名志愿者已登记并通过审核" in answer.get_data(as_text=True)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(PeopleImport)) == 0


def test_the_saved_file_is_readable_by_the_service_only(tmp_path):
    name = background_imports.save_file(io.BytesIO(b"x"), tmp_path / "imports", "名单.CSV")
    assert name.endswith(".csv") and "名单" not in name
    assert stat.S_IMODE((tmp_path / "imports" / name).stat().st_mode) == 0o600


def test_another_coordinator_gets_404_on_the_status_page_and_an_admin_sees_it(large, client, sign_in, coordinator, org_tree, make_person):
    east = org_tree["east"].id
    sign_in(coordinator)
    location = upload(client, east, csv_file(GOOD).getvalue()).location
    colleague = make_person("coordinator", org="east", name="王协调", phone="13900009001")
    admin = make_person("admin", org="county", name="刘管理", phone="13900009002")

    assert signed_in(large, colleague).get(location).status_code == 404
    assert signed_in(large, colleague).get("/api/v1" + location).status_code == 404
    assert signed_in(large, admin).get(location).status_code == 200


def test_the_api_answers_202_for_a_large_csv_and_its_status_gives_the_report(large, client, sign_in, coordinator, org_tree, session):
    east = org_tree["east"].id
    sign_in(coordinator)
    good = csv_file(GOOD).getvalue().decode("utf-8-sig")
    bad = csv_file(GOOD + BAD).getvalue().decode("utf-8-sig")

    refused = client.post("/api/v1/people/imports", json={"organisation_id": east, "csv": bad})
    accepted = client.post("/api/v1/people/imports", json={"organisation_id": east, "csv": good})

    assert (refused.status_code, accepted.status_code) == (202, 202)
    body = accepted.get_json()
    assert accepted.headers["Location"] == body["status_url"] == f"/api/v1/people/imports/{body['id']}"
    followed = client.get(body["status_url"]).get_json()
    assert (followed["status"], followed["rows_read"], followed["imported"], followed["errors"]) == ("done", 3, 3, {})
    session.rollback()
    assert_registered_as_active_volunteers(session, org_tree)
    session.rollback()
    report = client.get(refused.headers["Location"], headers=ZH).get_json()
    assert (report["status"], report["imported"], report["refused_rows"]) == ("refused", 0, len(BAD_PROBLEMS))
    assert len(report["errors"]) == len(BAD_PROBLEMS) and report["errors"]["row 7"] == ["手机号: 与第 6 行的手机号相同。"]


def test_the_api_still_answers_at_once_for_a_small_csv(large, client, sign_in, coordinator, org_tree):
    east = org_tree["east"].id
    sign_in(coordinator)
    small = csv_file(GOOD[:2]).getvalue().decode("utf-8-sig")

    answer = client.post("/api/v1/people/imports", json={"organisation_id": east, "csv": small})

    assert answer.status_code == 201 and answer.get_json() == {"rows_read": 2, "imported": 2}


def test_a_file_longer_than_the_pages_limit_is_refused_by_the_job_with_its_reason(large, client, sign_in, coordinator, org_tree, session, monkeypatch):
    east = org_tree["east"].id
    monkeypatch.setattr(background_imports, "WEB_MAX_ROWS", 2 + 1)
    sign_in(coordinator)
    before = people_count(session)
    session.rollback()
    four = GOOD + [["周桂兰", "13700000004", "女", "", "", "", ""]]

    answer = upload(client, east, csv_file(four).getvalue())

    page = client.get(answer.location).get_data(as_text=True)
    assert 'data-status="failed"' in page and "The file has more than 3 volunteers" in page
    assert people_count(session) == before and waiting_files(large) == []


def test_a_queued_import_page_refreshes_itself_until_the_job_has_run(large, client, sign_in, coordinator, org_tree, session):
    record = background_imports.queue_import(session, filename="waiting.csv", original_name="名单.csv", organisation_id=org_tree["east"].id,
                                             actor=actor_for(session, coordinator), now=NOW)
    session.commit()
    sign_in(coordinator)

    page = client.get(f"/people/imports/{record.id}", headers=ZH).get_data(as_text=True)

    assert 'data-status="queued"' in page and 'http-equiv="refresh"' in page and "名单.csv" in page


def test_the_file_of_a_failed_import_is_deleted_a_day_after_its_upload(large, client, sign_in, coordinator, org_tree, session, monkeypatch):
    east = org_tree["east"].id
    monkeypatch.setattr(background_imports, "write_import", lambda *args, **kwargs: 1 / 0)
    sign_in(coordinator)
    upload(client, east, csv_file(GOOD).getvalue())
    assert len(waiting_files(large)) == 1
    session.rollback()

    with large.app_context():
        folder = import_folder()
        assert background_imports.prune_files(session, folder, now=utcnow() + dt.timedelta(hours=23)) == 0
        assert background_imports.prune_files(session, folder, now=utcnow() + dt.timedelta(hours=25)) == 1
    session.rollback()
    assert waiting_files(large) == []
