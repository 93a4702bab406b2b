"""Bulk import of volunteers: CSV (UTF-8, GB18030) and XLSX, all or nothing, every refused row reported."""

from __future__ import annotations

import datetime as dt
import io
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.cli import ScriptInfo
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from timebank.demo import make_resident_id
from timebank.domain import Conflict, NotAllowed
from timebank.ledger import Account
from timebank.people.access import actor_for
from timebank.people.cli import people
from timebank.people.import_views import bp as import_pages
from timebank.people.importing import COLUMNS, FileRefused, ImportReport, RowProblem, import_volunteers, prepare_import, read_rows, template_csv, write_import
from timebank.people.models import Person, RoleGrant, VolunteerCategory
from tests.conftest import NOW, csrf_token, signed_in

HEADINGS = ["姓名", "手机号", "性别", "证件类型", "证件号码", "服务类别", "所属组织"]
BORN = dt.date(1958, 4, 12)


def resident_id(sequence: int) -> str:
    """A valid resident ID number (odd sequence: a man)."""
    return make_resident_id("411222", BORN, sequence)


GOOD = [
    ["李秀英", "13700000001", "女", "居民身份证", resident_id(102), "助老服务、文明实践", ""],
    ["王建军", "137 0000 0002", "男", "", resident_id(111), "emergency;children", "东城助老服务队"],
    ["赵丽华", "13700000003", "F", "resident_id", "", "助残", ""],
]


def csv_file(rows: list[list[str]], encoding: str = "utf-8-sig", headings: list[str] = HEADINGS) -> io.BytesIO:
    """A CSV file as Excel saves it."""
    lines = [",".join(headings)] + [",".join(row) for row in rows]
    return io.BytesIO(("\r\n".join(lines) + "\r\n").encode(encoding))


def people_count(session: Session) -> int:
    """How many people are registered."""
    return session.scalar(select(func.count()).select_from(Person))


@pytest.fixture
def coordinator(make_person) -> Person:
    """A coordinator of 东城社区 (and its team)."""
    return make_person("coordinator", org="east", name="陈协调")


@pytest.fixture
def run_import(session: Session, org_tree, coordinator, vault) -> Callable[..., ImportReport]:
    """Imports a file into 东城社区 as the coordinator; commits if every row passed, else rolls back."""

    def run(source, filename: str = "volunteers.csv", organisation: str = "east") -> ImportReport:
        report = import_volunteers(
            session, read_rows(source, filename), organisation_id=org_tree[organisation].id,
            actor=actor_for(session, coordinator), vault=vault, now=NOW,
        )
        session.commit() if report.ok else session.rollback()
        return report

    return run


def assert_registered_as_active_volunteers(session: Session, org_tree) -> None:
    """The GOOD rows are active volunteers with their fields, roles and ledger accounts."""
    found = {p.real_name: p for p in session.scalars(select(Person).where(Person.phone.like("1370000000%")))}
    assert set(found) == {"李秀英", "王建军", "赵丽华"}
    assert {p.status for p in found.values()} == {"active"}
    li, wang, zhao = found["李秀英"], found["王建军"], found["赵丽华"]
    assert (li.sex, li.birth_date, li.categories) == ("F", BORN, ["elderly", "civility"])
    assert li.id_number_masked == resident_id(102)[:4] + "*" * 13 + resident_id(102)[-1:]
    assert (wang.phone, wang.sex, wang.categories) == ("13700000002", "M", ["emergency", "children"])
    assert wang.home_organisation_id == org_tree["east_team"].id
    assert li.home_organisation_id == zhao.home_organisation_id == org_tree["east"].id
    assert zhao.categories == ["disability"] and zhao.id_number_masked is None
    roles = session.scalars(select(RoleGrant.role).where(RoleGrant.person_id.in_([li.id, wang.id, zhao.id])))
    assert list(roles) == ["volunteer"] * 3
    assert session.scalar(select(Account.id).where(Account.code == f"vol:{wang.id}:CERT:emergency")) is not None
    # Dispatch suggestions find them: each category (and "any") under their team and every organisation above it.
    walked = {(row.category, row.organisation_id) for row in session.scalars(select(VolunteerCategory).where(VolunteerCategory.person_id == wang.id))}
    above = [org_tree[key].id for key in ("county", "street", "east", "east_team")]
    assert walked == {(category, org) for category in ("*", "emergency", "children") for org in above}


def test_a_utf8_csv_with_a_bom_registers_every_row_as_an_active_volunteer(session, run_import, org_tree):
    before = people_count(session)

    report = run_import(csv_file(GOOD))

    assert (report.ok, report.rows_read, report.imported, report.problems) == (True, 3, 3, [])
    assert people_count(session) == before + 3
    assert_registered_as_active_volunteers(session, org_tree)


def test_a_gbk_csv_from_chinese_excel_is_read_as_gb18030(session, run_import, org_tree):
    report = run_import(csv_file(GOOD, encoding="gbk"))

    assert (report.ok, report.imported) == (True, 3)
    assert_registered_as_active_volunteers(session, org_tree)


def test_a_utf8_csv_without_bom_from_a_file_on_disk_is_read(session, run_import, org_tree, tmp_path):
    path = tmp_path / "名单.CSV"
    path.write_bytes(csv_file(GOOD, encoding="utf-8").getvalue())

    report = run_import(str(path), filename=path.name)

    assert (report.ok, report.imported) == (True, 3)
    assert_registered_as_active_volunteers(session, org_tree)


def xlsx_file(rows: list[list[object]], headings: list[str] = HEADINGS, title: str | None = None) -> io.BytesIO:
    """An Excel workbook as a coordinator would fill it in."""
    workbook = Workbook()
    sheet = workbook.active
    if title:
        sheet.append([title])
    sheet.append(headings)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    out.seek(0)
    return out


def test_an_xlsx_with_a_title_row_numbers_and_dates_registers_every_row(session, run_import, org_tree):
    """Excel gives phone numbers as numbers and dates as dates; a title row above the headings is skipped."""
    rows = [[*row[:1], int(row[1].replace(" ", "")), *row[2:]] for row in GOOD]
    rows[2] = rows[2] + [dt.datetime(1960, 5, 6)]

    report = run_import(xlsx_file(rows, HEADINGS + ["出生日期"], title="东城社区志愿者名单"), filename="名单.xlsx")

    assert (report.ok, report.rows_read, report.imported) == (True, 3, 3)
    assert_registered_as_active_volunteers(session, org_tree)
    assert session.scalar(select(Person.birth_date).where(Person.real_name == "赵丽华")) == dt.date(1960, 5, 6)


def test_an_id_number_excel_turned_into_a_number_is_refused_with_advice(session, run_import):
    rows = [["李秀英", 13700000001, "女", "居民身份证", float(resident_id(102)), "", ""]]

    report = run_import(xlsx_file(rows), filename="名单.xlsx")

    assert [(p.row, p.field, p.message) for p in report.problems] == [
        (2, "id_number", "Excel stored this ID number as a number and lost its last digits. Set the column to Text and type it again.")
    ]


BAD = [
    ["张三", "13700000011", "男", "居民身份证", resident_id(111)[:-1] + ("0" if resident_id(111)[-1] != "0" else "1"), "", ""],
    ["李四", "13700000012", "", "", "", "", ""],
    ["王五", "13700000012", "", "", "", "", ""],
    ["赵六", "1370000001", "", "", "", "", ""],
    ["欧" * 51, "13700000014", "", "", "", "", ""],
    ["钱七", "13700000015", "", "", "", "养花", ""],
    ["<script>alert(1)</script>", "13700000016", "", "", "", "", ""],
    ["孙八", "13700000017", "", "", "", "", "不存在的社区"],
]
BAD_PROBLEMS = [
    (2, "id_number", "The resident ID number's check digit is wrong; please check it again.", {}),
    (4, "phone", "The same phone number is in row %(row)d.", {"row": 6}),
    (5, "phone", "Enter an 11-digit mobile number starting with 1.", {}),
    (6, "real_name", "Enter a name of at most 50 characters.", {}),
    (7, "service_categories", "Unknown service category.", {}),
    (8, "real_name", "Names cannot contain < > or control characters.", {}),
    (9, "organisation", "No organisation of this name or number within %(organisation)s.", {"organisation": "东城社区"}),
]


def test_one_bad_file_imports_nothing_and_lists_every_problem_with_its_row(session, run_import):
    before = people_count(session)

    report = run_import(csv_file(GOOD + BAD))

    assert (report.ok, report.rows_read, report.imported, report.refused_rows) == (False, 11, 0, 7)
    assert [(p.row - 3, p.field, p.message, p.params) for p in report.problems] == BAD_PROBLEMS
    assert people_count(session) == before
    assert session.scalar(select(Person.id).where(Person.phone == "13700000001")) is None


def test_a_phone_or_id_number_already_registered_is_refused(session, run_import, make_person):
    existing = make_person(name="老会员", id_type="resident_id", id_number=resident_id(102))
    rows = [["新人甲", existing.phone, "", "", "", "", ""], ["新人乙", "13700000021", "", "", resident_id(102), "", ""]]

    report = run_import(csv_file(rows))

    assert [(p.row, p.field, p.message) for p in report.problems] == [
        (2, "phone", "This phone number is already registered."),
        (3, "id_number", "This ID number is already registered."),
    ]


def test_the_same_id_number_twice_in_a_file_names_the_first_row(run_import):
    rows = [["甲", "13700000031", "", "", resident_id(102), "", ""], ["乙", "13700000032", "", "", resident_id(102), "", ""]]

    report = run_import(csv_file(rows))

    assert [(p.row, p.field, p.message, p.params, p.value) for p in report.problems] == [
        (3, "id_number", "The same ID number is in row %(row)d.", {"row": 2}, "4112*************" + resident_id(102)[-1:]),
    ]


@pytest.mark.parametrize(
    ("headings", "template", "params"),
    [
        (["姓名", "电话号"], "Unknown column %(column)s. Use the column names of the template.", {"column": "电话号"}),
        (["姓名", "性别"], "The file has no %(column)s column. Download the template to see the columns.", {"column": "手机号"}),
        (["姓名", "手机号", "real_name"], "The column %(column)s appears twice.", {"column": "姓名"}),
    ],
)
def test_a_file_whose_headings_are_wrong_is_refused_as_a_whole(session, run_import, headings, template, params):
    before = people_count(session)

    with pytest.raises(FileRefused) as refused:
        run_import(csv_file([["李秀英", "13700000001", "女"]], headings=headings))

    assert (refused.value.template, refused.value.params) == (template, params)
    assert refused.value.errors == {"file": ["This file cannot be imported."]}
    session.rollback()
    assert people_count(session) == before


def test_headings_with_notes_and_serial_numbers_are_understood(session, run_import):
    headings = ["序号", "姓名*", "手机号（必填）", "出生日期(年-月-日)", "备注"]
    report = run_import(csv_file([["1", "李秀英", "13700000001", "1958年4月12日", "老党员"]], headings=headings))

    assert report.ok, report.problems
    assert session.scalar(select(Person.birth_date).where(Person.phone == "13700000001")) == BORN


@pytest.mark.parametrize(
    ("filename", "content", "template"),
    [
        ("名单.xls", b"\xd0\xcf\x11\xe0", "Old Excel files (.xls) cannot be read. In Excel choose 另存为 and save as .xlsx or CSV (UTF-8)."),
        ("名单.pdf", b"%PDF", "Upload a CSV file or an Excel (.xlsx) file."),
        ("名单.xlsx", b"not a zip", "This file cannot be read as an Excel workbook (.xlsx)."),
        ("名单.csv", b"", "The file is empty: the first row must name the columns, as in the template."),
        ("名单.csv", "姓名,手机号\r\n".encode(), "The file has no volunteers below its heading row."),
    ],
)
def test_files_that_are_not_volunteer_lists_are_refused_with_a_clear_message(run_import, filename, content, template):
    with pytest.raises(FileRefused) as refused:
        run_import(io.BytesIO(content), filename=filename)

    assert refused.value.template == template


def test_a_file_longer_than_the_limit_is_refused_and_nothing_is_written(session, org_tree, coordinator, vault):
    before = people_count(session)

    with pytest.raises(FileRefused) as refused:
        import_volunteers(
            session, read_rows(csv_file(GOOD), "名单.csv"), organisation_id=org_tree["east"].id,
            actor=actor_for(session, coordinator), vault=vault, now=NOW, max_rows=2,
        )

    assert refused.value.params == {"limit": 2}
    assert people_count(session) == before


def test_a_coordinator_cannot_import_into_another_community(session, run_import):
    with pytest.raises(NotAllowed):
        run_import(csv_file(GOOD), organisation="west")


def test_rows_may_only_join_organisations_within_the_chosen_one(run_import, org_tree):
    rows = [["李秀英", "13700000001", "", "", "", "", str(org_tree["west_team"].id)]]

    report = run_import(csv_file(rows))

    assert [(p.field, p.message, p.value) for p in report.problems] == [
        ("organisation", "No organisation of this name or number within %(organisation)s.", str(org_tree["west_team"].id))
    ]


def test_the_template_names_every_column_and_its_example_row_imports_cleanly(session, run_import):
    text = template_csv()

    assert text.startswith("\ufeff姓名,手机号,性别,出生日期,证件类型,证件号码,居住区域,技能,服务类别,紧急联系人,紧急联系电话,所属组织\r\n")
    report = run_import(io.BytesIO(text.encode("utf-8")))
    assert (report.ok, report.imported) == (True, 1), report.problems
    example = session.scalar(select(Person).where(Person.phone == COLUMNS[1].example))
    assert (example.real_name, example.sex, example.categories) == ("张秀英", "F", ["elderly", "civility"])


def test_a_report_keeps_a_bounded_number_of_problems_but_counts_them_all():
    report = ImportReport()
    for row in range(2, 703):
        report.refuse([RowProblem(row, "phone", "Enter an 11-digit mobile number starting with 1.")])

    assert (len(report.problems), report.problem_count, report.refused_rows, report.ok) == (500, 701, 701, False)


# -- the command line ---------------------------------------------------------


def invoke(app: Flask, *args: str) -> Result:
    """Run `timebank people ...` against the test app."""
    return CliRunner().invoke(people, list(args), obj=ScriptInfo(create_app=lambda: app))


@pytest.fixture
def volunteer_file(tmp_path: Path) -> Callable[[list[list[str]]], Path]:
    """Writes rows to a CSV file on disk."""

    def write(rows: list[list[str]]) -> Path:
        path = tmp_path / "名单.csv"
        path.write_bytes(csv_file(rows).getvalue())
        return path

    return write


def test_the_command_imports_a_good_file(app, session, org_tree, coordinator, volunteer_file):
    result = invoke(app, "import", str(volunteer_file(GOOD)), "--organisation", str(org_tree["east"].id), "--actor", str(coordinator.id))

    assert result.exit_code == 0, result.output
    assert result.stdout.endswith("3 rows read, 0 refused\nimported 3 volunteers\n")
    session.rollback()
    assert_registered_as_active_volunteers(session, org_tree)


def test_the_command_exits_1_with_the_report_and_writes_nothing_if_a_row_is_refused(app, session, org_tree, coordinator, volunteer_file):
    args = ["import", str(volunteer_file(GOOD + BAD[:2])), "--organisation", str(org_tree["east"].id), "--actor", str(coordinator.id)]
    before = people_count(session)
    session.rollback()

    result = invoke(app, *args)

    assert result.exit_code == 1
    assert "row 5  证件号码 (id_number): The resident ID number's check digit is wrong; please check it again.  [4112**********" in result.stdout
    assert "5 rows read, 1 refused\n" in result.stdout
    assert "nothing imported: 1 of 5 rows refused" in result.stderr
    assert people_count(session) == before


def test_a_dry_run_checks_every_row_and_writes_nothing(app, session, org_tree, coordinator, volunteer_file):
    args = ["import", str(volunteer_file(GOOD)), "--organisation", str(org_tree["east"].id), "--actor", str(coordinator.id), "--dry-run"]
    before = people_count(session)
    session.rollback()

    result = invoke(app, *args)

    assert result.exit_code == 0, result.output
    assert "dry run: all 3 rows would be imported; nothing was written" in result.stdout
    assert people_count(session) == before


def test_the_command_refuses_an_actor_who_may_not_register_there(app, org_tree, make_person, volunteer_file):
    volunteer = make_person(name="普通志愿者")

    result = invoke(app, "import", str(volunteer_file(GOOD)), "--organisation", str(org_tree["east"].id), "--actor", str(volunteer.id))

    assert result.exit_code == 1
    assert f"person {volunteer.id} may not register volunteers in organisation {org_tree['east'].id}" in result.stderr


# -- the page -----------------------------------------------------------------


@pytest.fixture
def pages(app: Flask) -> Iterator[Flask]:
    """The app with the import pages (until app.py registers them itself)."""
    if "imports" not in app.blueprints:
        app.register_blueprint(import_pages)
    yield app


def upload(client, organisation_id: int, content: bytes, filename: str = "名单.csv"):
    """Post a file to the import page."""
    data = {"csrf_token": csrf_token(client), "organisation_id": str(organisation_id), "file": (io.BytesIO(content), filename)}
    return client.post("/people/import", data=data, content_type="multipart/form-data")


def test_the_page_imports_a_good_file_and_says_how_many(pages, client, sign_in, coordinator, org_tree, session):
    sign_in(coordinator)
    form = client.get("/people/import")
    assert form.status_code == 200
    assert "东城助老服务队" in form.get_data(as_text=True) and "西关社区" not in form.get_data(as_text=True)

    answer = upload(client, org_tree["east"].id, csv_file(GOOD).getvalue())

    assert answer.status_code == 200
    assert "3 名志愿者已登记并通过审核" in answer.get_data(as_text=True)
    session.rollback()
    assert_registered_as_active_volunteers(session, org_tree)


def test_the_page_lists_every_problem_escaped_and_imports_nothing(pages, client, sign_in, coordinator, org_tree, session):
    sign_in(coordinator)
    east = org_tree["east"].id
    before = people_count(session)
    session.rollback()

    answer = upload(client, east, csv_file(GOOD + BAD).getvalue())

    page = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "没有导入任何人" in page
    assert "与第 6 行的手机号相同" in page
    assert page.count("<tr><td>") == len(BAD_PROBLEMS)
    assert people_count(session) == before


def test_the_page_asks_for_a_file_and_an_organisation(pages, client, sign_in, coordinator, org_tree):
    sign_in(coordinator)

    answer = client.post("/people/import", data={"csrf_token": csrf_token(client), "organisation_id": str(org_tree["west"].id)})

    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert "请选择 CSV 或 Excel（.xlsx）文件" in page and "请选择志愿者加入的组织" in page


def test_the_page_explains_a_file_it_cannot_read(pages, client, sign_in, coordinator, org_tree):
    sign_in(coordinator)

    answer = upload(client, org_tree["east"].id, b"\xd0\xcf\x11\xe0", filename="名单.xls")

    assert answer.status_code == 422
    assert "另存为" in answer.get_data(as_text=True)


def test_the_template_downloads_as_csv_with_chinese_headings(pages, client, sign_in, coordinator):
    sign_in(coordinator)

    answer = client.get("/people/import/template.csv")

    assert answer.status_code == 200
    assert answer.mimetype == "text/csv"
    assert "attachment" in answer.headers["Content-Disposition"]
    assert answer.get_data(as_text=True) == template_csv()


def test_volunteers_may_not_open_the_import_page(pages, client, sign_in, make_person):
    sign_in(make_person(name="普通志愿者"))

    assert client.get("/people/import").status_code == 403
    assert client.get("/people/import/template.csv").status_code == 403


def test_a_writer_during_an_import_goes_through_at_once_and_never_gets_a_500(pages, app, client, sign_in, coordinator, org_tree, make_person, monkeypatch, session):
    """While the page reads and checks the file no write lock is held: another person's save, made half-way, finishes before the import goes on."""
    volunteer = make_person(name="王秀英")
    other = signed_in(app, volunteer)
    token = csrf_token(other)
    answers, in_time = [], []

    def save_profile() -> None:
        answers.append(other.post("/me/edit", data={"csrf_token": token, "real_name": "王秀英", "skills": "做饭"}))

    real_rows = read_rows

    def rows_with_a_write_half_way(stream, filename):
        for number, cells in real_rows(stream, filename):
            if number == 3:
                writer = threading.Thread(target=save_profile)
                writer.start()
                writer.join(timeout=5)
                in_time.append(not writer.is_alive())
            yield number, cells

    monkeypatch.setattr("timebank.people.import_views.read_rows", rows_with_a_write_half_way)
    sign_in(coordinator)

    answer = upload(client, org_tree["east"].id, csv_file(GOOD).getvalue())

    assert answer.status_code == 200 and "3 名志愿者已登记并通过审核" in answer.get_data(as_text=True)
    assert in_time == [True]
    assert [a.status_code for a in answers] == [302]
    session.rollback()
    session.expire_all()
    assert session.get(Person, volunteer.id).skills == "做饭"
    assert_registered_as_active_volunteers(session, org_tree)


def test_a_phone_registered_between_checking_and_writing_refuses_the_whole_import(session, org_tree, coordinator, vault, make_person):
    """The write is all or nothing even when someone else got in while the file was being checked."""
    actor = actor_for(session, coordinator)
    with prepare_import(session, read_rows(csv_file(GOOD), "名单.csv"), organisation_id=org_tree["east"].id, actor=actor, vault=vault, now=NOW) as prepared:
        assert prepared.report.ok
        make_person(phone=GOOD[0][1])
        before = people_count(session)

        with pytest.raises(Conflict) as refused:
            write_import(session, prepared, now=NOW)
        session.rollback()

    assert refused.value.errors == {"file": ["Nothing was imported."]}
    assert people_count(session) == before
