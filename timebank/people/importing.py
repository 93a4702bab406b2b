"""Bulk import of volunteers from a CSV or Excel file, all or nothing.

Two steps, so the write lock is never held while a file is read. First
`prepare_import` streams the rows and checks each with the same rules as a
coordinator registering someone in person (`people.services.new_person`),
reading only: every refused row is reported. Then, if no row was refused,
`write_import` writes them all in one short transaction of bulk statements.
A coordinator fixes a refused file and imports it again.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import io
import pickle
import re
import sqlite3
import warnings
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from timebank import spreadsheets
from timebank.audit.models import AuditEntry
from timebank.audit.services import entry_values
from timebank.categories import SERVICE_CATEGORIES
from timebank.domain import Conflict, DomainError, InvalidInput
from timebank.ledger import open_accounts, rules
from timebank.orgs.models import Organisation
from timebank.orgs.services import effective_policy, get_organisation
from timebank.people.access import MANAGERS, Actor
from timebank.people.category_index import index_people
from timebank.people.idnumbers import IdVault, mask
from timebank.people.models import Person, Role, RoleGrant, Status
from timebank.people.services import new_person, snapshot

Source = str | Path | IO[bytes]
Row = tuple[int, dict[str, Any]]

#: Problems kept in a report; beyond this only their number is counted.
MAX_PROBLEMS_KEPT = 500
#: The most rows the page or the API imports in one request; larger files go through `timebank people import`,
#: which shows its progress and is not cut short by a web request's time limit.
WEB_MAX_ROWS = 2000
SAMPLE_BYTES = 64 * 1024
#: Bounds on what reading a file may cost, whoever sends it: rows (empty ones too), columns, and an
#: XLSX's unpacked size and packing ratio (a zip bomb of a few KB unpacks to gigabytes of empty rows).
MAX_SHEET_ROWS = 50_000
MAX_SHEET_COLUMNS = 50
MAX_UNPACKED_BYTES = 64 * 1024 * 1024
MAX_PACKING_RATIO = 100


@dataclass(frozen=True)
class Column:
    """One column of the import file: the field it fills, its Chinese heading, other accepted headings."""

    field: str
    heading: str
    aliases: tuple[str, ...]
    example: str


COLUMNS = (
    Column("real_name", "姓名", ("real_name", "name", "真实姓名"), "张秀英"),
    Column("phone", "手机号", ("phone", "mobile", "手机", "手机号码", "联系电话"), "13800138000"),
    Column("sex", "性别", ("sex", "gender"), "女"),
    Column("birth_date", "出生日期", ("birth_date", "birthday"), "1956-03-07"),
    Column("id_type", "证件类型", ("id_type",), "居民身份证"),
    Column("id_number", "证件号码", ("id_number", "身份证号", "身份证号码"), "411222195603071246"),
    Column("residence_area", "居住区域", ("residence_area", "居住地", "住址"), "大营镇东城社区幸福路12号院"),
    Column("skills", "技能", ("skills", "特长"), "理发、量血压"),
    Column("service_categories", "服务类别", ("service_categories", "categories"), "助老服务、文明实践"),
    Column("emergency_contact_name", "紧急联系人", ("emergency_contact_name",), "李建国"),
    Column("emergency_contact_phone", "紧急联系电话", ("emergency_contact_phone", "紧急联系人电话"), "13900139000"),
    Column("organisation", "所属组织", ("organisation", "organization", "organisation_id", "组织"), ""),
)
REQUIRED = ("real_name", "phone")
#: Headings of columns that are read past: row numbers and notes.
IGNORED = {"序号", "编号", "no", "no.", "#", "备注", "remarks", "notes"}
HEADINGS = {name: c.field for c in COLUMNS for name in (c.heading, c.field, *c.aliases)}
FIELD_HEADINGS = {c.field: c.heading for c in COLUMNS} | {"home_organisation_id": "所属组织"}

SEXES = {"男": "M", "女": "F", "m": "M", "f": "F", "male": "M", "female": "F"}
ID_TYPES = {
    "居民身份证": "resident_id",
    "身份证": "resident_id",
    "护照": "passport",
    "港澳居民来往内地通行证": "hk_macao_permit",
    "台湾居民来往大陆通行证": "taiwan_permit",
    "外国人永久居留身份证": "foreign_permanent",
}
CATEGORY_NAMES = {slug: slug for slug in SERVICE_CATEGORIES} | {
    name: slug for slug, full in SERVICE_CATEGORIES.items() for name in (full, full.removesuffix("服务"))
}
LIST_SEPARATORS = re.compile(r"[、,，;；/\s]+")
DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


@dataclass(frozen=True)
class RowProblem:
    """Why one row was refused: its row number in the file, the field, a message msgid and its parameters."""

    row: int
    field: str
    message: str
    params: dict[str, Any] = field(default_factory=dict)
    value: str | None = None

    @property
    def column(self) -> str:
        """The column's heading as the template names it."""
        return FIELD_HEADINGS.get(self.field, "")


@dataclass
class ImportReport:
    """What an import did: rows read, volunteers registered, and every refused row's problems."""

    rows_read: int = 0
    imported: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    problem_count: int = 0
    refused_rows: int = 0

    @property
    def ok(self) -> bool:
        """True if every row passed, so the import stands."""
        return self.problem_count == 0

    def refuse(self, problems: list[RowProblem]) -> None:
        """Note one row's problems (only the first MAX_PROBLEMS_KEPT are kept, all are counted)."""
        self.refused_rows += 1
        self.problem_count += len(problems)
        self.problems.extend(problems[: max(0, MAX_PROBLEMS_KEPT - len(self.problems))])


class FileRefused(InvalidInput):
    """The file as a whole cannot be read as a list of volunteers."""

    template = "This file cannot be imported."


def _refuse_file(template: str, **params: Any) -> FileRefused:
    return FileRefused(template, errors={"file": ["This file cannot be imported."]}, **params)


# -- reading files ------------------------------------------------------------


def read_rows(source: Source, filename: str) -> Iterator[Row]:
    """The data rows of a CSV or XLSX file as (row number, {field: cell}), streamed one at a time."""
    suffix = Path(filename or "").suffix.lower()
    if suffix in (".csv", ".txt"):
        return _csv_rows(source)
    if suffix in (".xlsx", ".xlsm"):
        return _xlsx_rows(source)
    if suffix in (".xls", ".et", ".wps"):
        raise _refuse_file("Old Excel files (.xls) cannot be read. In Excel choose 另存为 and save as .xlsx or CSV (UTF-8).")
    raise _refuse_file("Upload a CSV file or an Excel (.xlsx) file.")


@contextlib.contextmanager
def _opened(source: Source) -> Iterator[IO[bytes]]:
    """A binary stream: a path is opened (and closed); a stream given is left open for its owner."""
    if isinstance(source, (str, Path)):
        with open(source, "rb") as handle:
            yield handle
    else:
        yield source


def _encoding(raw: IO[bytes]) -> str:
    """UTF-8 (with or without BOM), UTF-16 (Excel's "Unicode text"), or GB18030 (Chinese Excel's CSV)."""
    sample = raw.read(SAMPLE_BYTES)
    raw.seek(0)
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


def _delimiter(first_line: str) -> str:
    """Comma unless the heading row is clearly separated by tabs or semicolons."""
    return max((",", "\t", ";"), key=first_line.count)


def _csv_rows(source: Source) -> Iterator[Row]:
    with _opened(source) as raw:
        text = io.TextIOWrapper(raw, encoding=_encoding(raw), newline="")
        reader = None
        try:
            delimiter = _delimiter(text.readline())
            text.seek(0)
            reader = csv.reader(text, delimiter=delimiter)
            yield from _records(reader)
        except UnicodeDecodeError:
            raise _refuse_file("Some characters in the file cannot be read. Save it again as CSV (UTF-8) or as .xlsx.") from None
        except csv.Error:
            raise _refuse_file(
                "Row %(row)d of the file cannot be read. Save it again as CSV (UTF-8) or as .xlsx.",
                row=reader.line_num if reader else 1,
            ) from None
        finally:
            text.detach()  # the binary stream is closed by its owner


def _xlsx_rows(source: Source) -> Iterator[Row]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    unreadable = (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError)
    try:
        _check_unpacked(source)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about styles and extensions it skips
            workbook = load_workbook(source, read_only=True, data_only=True)
    except unreadable:
        raise _refuse_file("This file cannot be read as an Excel workbook (.xlsx).") from None
    try:
        yield from _records(workbook.worksheets[0].iter_rows(values_only=True, max_col=MAX_SHEET_COLUMNS))
    except (zipfile.BadZipFile, KeyError) as exc:
        raise _refuse_file("This file cannot be read as an Excel workbook (.xlsx).") from exc
    finally:
        workbook.close()


def _check_unpacked(source: Source) -> None:
    """FileRefused for a workbook that would unpack to more than MAX_UNPACKED_BYTES, or packs suspiciously tight.

    The sizes in the zip directory bound what is read: the zip reader stops at
    the stated size and fails the checksum of a part that claims less than it holds.
    """
    with _opened(source) as raw:
        start = raw.tell()
        with zipfile.ZipFile(raw) as archive:
            parts = archive.infolist()
        raw.seek(start)
    if sum(part.file_size for part in parts) > MAX_UNPACKED_BYTES or any(
        part.file_size > 1024 * 1024 and part.file_size > MAX_PACKING_RATIO * max(part.compress_size, 1) for part in parts
    ):
        raise _refuse_file("This workbook unpacks to far more than its rows need. Save it again from Excel, or as CSV (UTF-8).")


def _heading(cell: Any) -> str:
    """A heading as written, without notes in brackets, stars or spaces."""
    text = re.sub(r"[（(].*?[）)]", "", str(cell or ""))
    return re.sub(r"[\s*＊:：]", "", text).lower()


def _header(cells: Iterable[Any]) -> list[tuple[int, str]]:
    """(position, field) of each column; FileRefused for an unknown, repeated or missing column."""
    columns: list[tuple[int, str]] = []
    seen: set[str] = set()
    for position, cell in enumerate(cells):
        heading = _heading(cell)
        if not heading or heading in IGNORED:
            continue
        name = HEADINGS.get(heading)
        if name is None:
            raise _refuse_file("Unknown column %(column)s. Use the column names of the template.", column=str(cell).strip()[:40])
        if name in seen:
            raise _refuse_file("The column %(column)s appears twice.", column=FIELD_HEADINGS[name])
        seen.add(name)
        columns.append((position, name))
    for name in REQUIRED:
        if name not in seen:
            raise _refuse_file("The file has no %(column)s column. Download the template to see the columns.", column=FIELD_HEADINGS[name])
    return columns


def _filled(cells: Iterable[Any]) -> int:
    return sum(1 for cell in cells if cell is not None and str(cell).strip())


def _records(rows: Iterable[Iterable[Any]]) -> Iterator[Row]:
    """Rows as {field: cell}, numbered as the spreadsheet numbers them; titles above the heading row are skipped."""
    header: list[tuple[int, str]] | None = None
    for number, cells in enumerate(rows, start=1):
        if number > MAX_SHEET_ROWS:
            raise _refuse_file("The file has more than %(limit)d rows; split it into smaller files.", limit=MAX_SHEET_ROWS)
        cells = list(cells)
        filled = _filled(cells)
        if header is None:
            if filled > 1:  # a single filled cell above the headings is a sheet title
                header = _header(cells)
            continue
        if filled:
            yield number, {name: cells[position] for position, name in header if position < len(cells)}
    if header is None:
        raise _refuse_file("The file is empty: the first row must name the columns, as in the template.")


# -- importing ----------------------------------------------------------------


def _text(cell: Any) -> str | None:
    """A cell as trimmed text (numbers without '.0', dates as YYYY-MM-DD), or None if empty."""
    if cell is None:
        return None
    if isinstance(cell, dt.datetime):
        cell = cell.date()
    if isinstance(cell, dt.date):
        return cell.isoformat()
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)
    text = str(cell).strip()
    return text or None


def _date(text: str) -> str:
    """YYYY-MM-DD from the ways dates are written in spreadsheets (2026/3/7, 2026年3月7日, 20260307)."""
    found = DATE.match(text)
    if found:
        return "%s-%02d-%02d" % (found[1], int(found[2]), int(found[3]))
    if re.fullmatch(r"\d{8}", text):
        return f"{text[:4]}-{text[4:6]}-{text[6:]}"
    return text


def _categories(text: str) -> list[str]:
    return [CATEGORY_NAMES.get(name, CATEGORY_NAMES.get(name.lower(), name)) for name in LIST_SEPARATORS.split(text) if name]


def _registration(cells: dict[str, Any]) -> dict[str, Any]:
    """A row's cells as the registration service takes them (empty cells left out)."""
    values = {name: _text(cell) for name, cell in cells.items() if name != "organisation"}
    data: dict[str, Any] = {name: value for name, value in values.items() if value is not None}
    if "sex" in data:
        data["sex"] = SEXES.get(data["sex"].lower(), data["sex"])
    if "birth_date" in data:
        data["birth_date"] = _date(data["birth_date"])
    if "id_type" in data:
        data["id_type"] = ID_TYPES.get(data["id_type"], data["id_type"])
    elif "id_number" in data:
        data["id_type"] = "resident_id"  # a bare 身份证号 column
    if "service_categories" in data:
        data["service_categories"] = _categories(data["service_categories"])
    return data


def _shown(name: str, value: Any) -> str | None:
    """The cell as the report shows it: short, ID numbers masked."""
    text = _text(value)
    if text is None:
        return None
    if name == "id_number":
        return mask(text)
    return text[:40]


class OrganisationFinder:
    """Finds a row's organisation by number or name, within the subtree the import was started for."""

    def __init__(self, session: Session, root: Organisation) -> None:
        self.root = root
        self.by_id: dict[int, Organisation] = {}
        self.by_name: dict[str, list[Organisation]] = {}
        for organisation in session.scalars(select(Organisation).where(Organisation.path.startswith(root.path))):
            self.by_id[organisation.id] = organisation
            self.by_name.setdefault(organisation.name, []).append(organisation)

    def find(self, cell: Any) -> tuple[int, str | None]:
        """The organisation's id (the root's if the cell is empty) and a problem msgid, if any."""
        text = _text(cell)
        if text is None:
            return self.root.id, None
        if text.isdecimal() and int(text) in self.by_id:
            return int(text), None
        found = self.by_name.get(text, [])
        if len(found) == 1:
            return found[0].id, None
        if found:
            return self.root.id, "Several organisations have this name; write its number instead."
        return self.root.id, "No organisation of this name or number within %(organisation)s."


class Prepared(NamedTuple):
    """One checked row, ready to write: the person's column values, the audit log's snapshot, the service categories."""

    values: dict[str, Any]
    snapshot: dict[str, Any]
    categories: tuple[str, ...]


class PreparedImport:
    """Rows read and checked, ready to be written: kept in a private scratch database, so memory stays flat in file size.

    The scratch table's unique columns also find a phone or ID number that an
    earlier row of the same file already holds.
    """

    def __init__(self, *, actor_id: int) -> None:
        self.report = ImportReport()
        self.actor_id = actor_id  # the coordinator the rows were checked for, who registers them
        # An empty name is SQLite's private temporary database: on disk, deleted on close.
        self._store = sqlite3.connect("", check_same_thread=False)
        self._store.execute("CREATE TABLE rows (row INTEGER PRIMARY KEY, phone TEXT UNIQUE, id_hash TEXT UNIQUE, person BLOB)")

    def add(self, row: int, person: Person) -> tuple[str, int] | None:
        """Keep a checked row's person; if an earlier row holds its phone or ID number, (field, that row) instead."""
        values = {column: getattr(person, column) for column in PERSON_COLUMNS}
        # What the write needs besides the columns is worked out now, outside the write lock.
        kept = Prepared(values, snapshot(person), tuple(person.categories))
        try:
            self._store.execute(
                "INSERT INTO rows VALUES (?, ?, ?, ?)", (row, values["phone"], values["id_number_hash"], pickle.dumps(kept))
            )
        except sqlite3.IntegrityError:
            for name, column in (("phone", "phone"), ("id_number", "id_hash")):
                key = values["phone"] if name == "phone" else values["id_number_hash"]
                earlier = self._store.execute(f"SELECT row FROM rows WHERE {column} = ?", (key,)).fetchone()
                if earlier is not None:
                    return name, earlier[0]
            raise
        return None

    def chunks(self, size: int) -> Iterator[list[Prepared]]:
        """The kept rows in file order, `size` at a time."""
        cursor = self._store.execute("SELECT person FROM rows ORDER BY row")
        while batch := cursor.fetchmany(size):
            yield [pickle.loads(person) for (person,) in batch]

    def close(self) -> None:
        """Drop the scratch database."""
        self._store.close()

    def __enter__(self) -> PreparedImport:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


#: Rows written per bulk statement.
WRITE_CHUNK = 200
PERSON_COLUMNS = [column.key for column in Person.__table__.columns if column.key != "id"]


def prepare_import(
    session: Session,
    rows: Iterable[Row],
    *,
    organisation_id: int,
    actor: Actor,
    vault: IdVault,
    now: dt.datetime,
    progress: Callable[[], None] | None = None,
    max_rows: int | None = None,
) -> PreparedImport:
    """Read and check every row, the costly part (ID numbers sealed, duplicates looked up); it only reads.

    Run it on a reading session: no write lock is held however long the file.
    Then `write_import` writes what it kept in one short transaction, if
    `report.ok`; close the result (or use it as a context manager) either way.
    """
    root = get_organisation(session, organisation_id)
    actor.require(MANAGERS, root)
    finder = OrganisationFinder(session, root)
    prepared = PreparedImport(actor_id=actor.id)
    report = prepared.report
    try:
        for number, cells in rows:
            report.rows_read += 1
            if max_rows is not None and report.rows_read > max_rows:
                raise _refuse_file(
                    "The file has more than %(limit)d volunteers; split it into smaller files, "
                    "or ask an administrator to import it on the command line.", limit=max_rows,
                )
            problems = _check_row(session, number, cells, finder, prepared, actor=actor, vault=vault, now=now)
            if problems:
                report.refuse(problems)
            else:
                report.imported += 1
            if progress is not None:
                progress()
        if report.rows_read == 0:
            raise _refuse_file("The file has no volunteers below its heading row.")
    except BaseException:
        prepared.close()
        raise
    finally:
        close = getattr(rows, "close", None)
        if close is not None:
            close()
    if not report.ok:
        report.imported = 0
    return prepared


def write_import(session: Session, prepared: PreparedImport, *, now: dt.datetime) -> int:
    """Write a prepared, clean import as active volunteers with their role, ledger accounts and audit entries; how many.

    A few bulk statements per 200 rows: on SQLite the write lock is held for a
    fraction of a second even for thousands. The caller commits.
    """
    if not prepared.report.ok:
        raise ValueError("an import with refused rows is not written")
    people, actor_id = Person.__table__, prepared.actor_id
    caps: dict[int, int | None] = {}
    written = 0
    try:
        for chunk in prepared.chunks(WRITE_CHUNK):
            ids = session.execute(
                people.insert().returning(people.c.id, sort_by_parameter_order=True),
                [dict(row.values, status=Status.ACTIVE.value, approved_at=now, approved_by=actor_id) for row in chunk],
            ).scalars().all()
            grants, entries, accounts = [], [], []
            for person_id, row in zip(ids, chunk):
                organisation_id = row.values["home_organisation_id"]
                if organisation_id not in caps:
                    caps[organisation_id] = effective_policy(session, session.get(Organisation, organisation_id))["hour_cap_minutes"]
                grants.append(dict(person_id=person_id, role=Role.VOLUNTEER.value, organisation_id=organisation_id, granted_at=now, granted_by=actor_id))
                target = ("person", person_id)
                entries.append(entry_values(actor=actor_id, action="register", target=target, changes=row.snapshot, now=now))
                entries.append(entry_values(actor=actor_id, action="approve", target=target, changes={"status": [Status.PENDING.value, Status.ACTIVE.value]}, now=now))
                accounts += rules.volunteer_accounts(person_id, categories=row.categories, max_hour_balance=caps[organisation_id])
            session.execute(RoleGrant.__table__.insert(), grants)
            session.execute(AuditEntry.__table__.insert(), entries)
            open_accounts(session, accounts, now=now)
            index_people(session, ids)
            written += len(ids)
    except IntegrityError:
        raise Conflict(
            "While the file was being checked, someone registered one of its phone numbers or ID numbers. Import it again to see which.",
            errors={"file": ["Nothing was imported."]},
        ) from None
    return written


def import_volunteers(session: Session, rows: Iterable[Row], *, now: dt.datetime, **checking: Any) -> ImportReport:
    """Register every row as an active volunteer, or, if any row is refused, none of them (and say why): both steps on one session.

    `checking` is `prepare_import`'s keywords (organisation_id, actor, vault, progress, max_rows).
    """
    with prepare_import(session, rows, now=now, **checking) as prepared:
        if prepared.report.ok:
            write_import(session, prepared, now=now)
        return prepared.report


def _check_row(
    session: Session,
    number: int,
    cells: dict[str, Any],
    finder: OrganisationFinder,
    prepared: PreparedImport,
    *,
    actor: Actor,
    vault: IdVault,
    now: dt.datetime,
) -> list[RowProblem]:
    """Check one row as the registration service would and keep it if it passes; its problems, if refused."""
    # The importing coordinator vouches that each person in the file agreed to the notice on paper (README: bulk import).
    data = {**_registration(cells), "privacy_consent": True}
    data["home_organisation_id"], organisation_problem = finder.find(cells.get("organisation"))
    problems: dict[str, RowProblem] = {}
    if organisation_problem:
        problems["organisation"] = RowProblem(
            number, "organisation", organisation_problem, {"organisation": finder.root.name}, _shown("organisation", cells.get("organisation"))
        )
    if isinstance(cells.get("id_number"), float) and cells["id_number"] >= 1e14:
        problems["id_number"] = RowProblem(
            number, "id_number", "Excel stored this ID number as a number and lost its last digits. Set the column to Text and type it again.",
            {}, _shown("id_number", cells["id_number"]),
        )
    try:
        person = new_person(session, data, actor=actor, vault=vault, now=now)
    except DomainError as exc:
        found = exc.errors or {"_row": [exc.template]}
        for name, messages in found.items():
            name = "organisation" if name == "home_organisation_id" else name
            if name not in problems:
                problems[name] = RowProblem(number, name, messages[0], {} if exc.errors else exc.params, _shown(name, cells.get(name)))
    else:
        if not problems:
            earlier = prepared.add(number, person)
            if earlier is not None:
                name, row = earlier
                problems[name] = RowProblem(number, name, SAME_IN_FILE[name], {"row": row}, _shown(name, cells.get(name)))
    if not problems:
        return []
    order = [c.field for c in COLUMNS]
    return sorted(problems.values(), key=lambda p: order.index(p.field) if p.field in order else len(order))


SAME_IN_FILE = {
    "phone": "The same phone number is in row %(row)d.",
    "id_number": "The same ID number is in row %(row)d.",
}


def template_csv() -> str:
    """The import template: the Chinese headings and one example row, with a BOM so Excel reads it as UTF-8."""
    return "".join(spreadsheets.csv_chunks([[c.heading for c in COLUMNS], [c.example for c in COLUMNS]]))
