"""Service records in the national record's fields (CSV and XLSX), for entry into the national volunteer information system.

One row per certified service or training line of each volunteer of an
organisation in a period (2021 measures, art. 5, 7 and 8). ID numbers are
exported masked, as everywhere they are shown, unless the coordinator asks for
the full numbers that entry into the national system needs: that export is
written to the audit log before its first row. Rows are produced a volunteer
at a time, so an export streams whatever its size.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, BinaryIO

from openpyxl import Workbook
from sqlalchemy.orm import Session

from timebank import spreadsheets
from timebank.categories import SERVICE_CATEGORIES
from timebank.certify.batch import members
from timebank.certify.pdf import hours
from timebank.certify.records import service_record
from timebank.orgs.models import Organisation
from timebank.audit.services import record
from timebank.people.access import MANAGERS, Actor
from timebank.people.idnumbers import IdVault
from timebank.people.models import Person

ID_TYPE_NAMES = {
    "resident_id": "居民身份证",
    "passport": "护照",
    "hk_macao_permit": "港澳居民来往内地通行证",
    "taiwan_permit": "台湾居民来往大陆通行证",
    "foreign_permanent": "外国人永久居留身份证",
}
SEX_NAMES = {"M": "男", "F": "女"}
HEADINGS = (
    "志愿者编号", "姓名", "性别", "出生日期", "证件类型", "证件号码（脱敏）", "居住区域", "联系电话", "技能特长",
    "记录类型", "服务类别", "活动名称", "服务日期", "服务地点", "服务内容", "服务时长（小时）", "组织单位", "负责人", "记录单位",
)
FULL_ID_HEADING = "证件号码"
FORMATS = ("csv", "xlsx")


def audit_full_export(session: Session, organisation: Organisation, start: dt.date, end: dt.date, *, actor: Actor, now: dt.datetime) -> None:
    """Record that the actor exports the whole ID numbers of an organisation and period (commit before the first row)."""
    actor.require(MANAGERS, organisation)
    record(session, actor=actor.id, action="export_id_numbers", target=("organisation", organisation.id),
           changes={"period": [None, f"{start.isoformat()}/{end.isoformat()}"]}, now=now)


def rows(
    session: Session, organisation: Organisation, start: dt.date, end: dt.date, *, actor: Actor, vault: IdVault | None = None,
) -> Iterator[list[str]]:
    """The headings, then one row per service or training line of every member, in volunteer order.

    With `vault`, the ID numbers are whole: the caller has recorded the export with `audit_full_export`.
    """
    actor.require(MANAGERS, organisation)
    path = organisation.path
    yield [FULL_ID_HEADING if heading == HEADINGS[5] and vault is not None else heading for heading in HEADINGS]
    names: dict[int, str] = {}
    for people in members(session, path):
        for person in people:
            if person.home_organisation_id not in names:
                names[person.home_organisation_id] = session.get(Organisation, person.home_organisation_id).name
            found = service_record(session, person, start, end)
            identity = [
                person.volunteer_number, person.real_name, SEX_NAMES.get(person.sex or "", ""),
                person.birth_date.isoformat() if person.birth_date else "", ID_TYPE_NAMES.get(person.id_type or "", ""),
                _id_number(person, vault), person.residence_area or "", person.phone, person.skills or "",
            ]
            for kind, lines in (("志愿服务", found.service), ("培训", found.training)):
                for line in lines:
                    yield identity + [
                        kind, SERVICE_CATEGORIES.get(line.category, line.category), line.activity, line.date.isoformat(),
                        line.place, line.content, hours(line.minutes), line.organising_unit, line.person_in_charge,
                        names[person.home_organisation_id],
                    ]
        session.expunge_all()


def _id_number(person: Person, vault: IdVault | None) -> str:
    """The person's ID number: masked, or whole when a vault is given."""
    if vault is None or not person.id_number_sealed:
        return person.id_number_masked or ""
    return vault.open(person.id_number_sealed)


def csv_chunks(lines: Iterable[Sequence[Any]]) -> Iterator[str]:
    """CSV text in pieces of about 64 KB, starting with a byte order mark so that Excel reads the Chinese right.

    Every CSV export's rows go through here, as every workbook's go through `write_xlsx`.
    """
    return spreadsheets.csv_chunks(lines, flush_bytes=64 * 1024)


def write_xlsx(lines: Iterable[Sequence[Any]], out: BinaryIO, *, sheet: str = "志愿服务记录") -> None:
    """The rows as an XLSX workbook written in openpyxl's streaming mode (every export's workbook goes through here)."""
    book = Workbook(write_only=True)
    spreadsheets.append_rows(book.create_sheet(sheet), lines)
    book.save(out)
