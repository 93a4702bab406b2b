"""A volunteer's service record read from the ledger: each certified credit, netted through its corrections.

Certified hours exist only as postings on `vol:<id>:CERT:<category>`. A
credit and its corrections (a reversal, then a new figure) are one service
line: they share the attendance they refer to, or the reversed transaction.
The line is dated by the service, not by the correction, so a record of a
period shows what was served in it as it stands now. Reads only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from timebank.categories import SERVICE_CATEGORIES
from timebank.events.models import Activity, Attendance
from timebank.grading.models import SupervisionSession
from timebank.ledger.models import Account, Commodity, Posting, Transaction
from timebank.ledger.rules import TRAINING, volunteer_code
from timebank.localtime import local_day
from timebank.orgs.models import Organisation
from timebank.people.models import Person


@dataclass
class Credit:
    """Certified minutes in one category for one service, after every correction."""

    category: str
    served_at: dt.datetime
    memo: str | None
    attendance_id: int | None
    minutes: int = 0
    corrected: bool = False  # reversed at least once, and posted again at the figure that stands
    supervision_id: int | None = None  # a supervision session's training (grading/supervision.py)


@dataclass(frozen=True)
class ServiceLine:
    """One line of the printed record (2021 measures, art. 7 and 8)."""

    date: dt.date
    activity: str
    category: str
    place: str
    content: str
    minutes: int
    organising_unit: str
    person_in_charge: str
    corrected: bool = False


@dataclass
class ServiceRecord:
    """What a service record certificate states for one volunteer and one period."""

    person: Person
    start: dt.date
    end: dt.date
    service: list[ServiceLine] = field(default_factory=list)
    training: list[ServiceLine] = field(default_factory=list)
    star_level: int = 0

    @property
    def by_category(self) -> dict[str, int]:
        """Certified service minutes per category in the period."""
        totals: dict[str, int] = {}
        for line in self.service:
            totals[line.category] = totals.get(line.category, 0) + line.minutes
        return totals

    @property
    def service_minutes(self) -> int:
        """All certified service minutes in the period."""
        return sum(line.minutes for line in self.service)

    @property
    def training_minutes(self) -> int:
        """All training minutes in the period."""
        return sum(line.minutes for line in self.training)

    @property
    def empty(self) -> bool:
        """True when the period holds neither service nor training."""
        return not self.service and not self.training


def cert_codes(person_id: int) -> list[str]:
    """The person's CERT account codes, one per known category (training included)."""
    return [volunteer_code(person_id, Commodity.CERT, category) for category in SERVICE_CATEGORIES]


def credits(session: Session, person_id: int) -> list[Credit]:
    """Every certified credit of the person, netted through its corrections, in the order served."""
    prefix = f"vol:{person_id}:CERT:"
    rows = session.execute(
        select(
            Transaction.id, Transaction.reverses_id, Transaction.event_at, Transaction.ref_type,
            Transaction.ref_id, Transaction.memo, Account.code, Posting.amount,
        )
        .join(Posting, Posting.transaction_id == Transaction.id)
        .join(Account, Account.id == Posting.account_id)
        .where(Account.code.in_(cert_codes(person_id)))
        .order_by(Transaction.id)
    ).all()
    groups: dict[tuple[object, ...], Credit] = {}
    key_of: dict[int, tuple[object, ...]] = {}
    for txn_id, reverses_id, event_at, ref_type, ref_id, memo, code, amount in rows:
        category = code[len(prefix):]
        if reverses_id is not None and reverses_id in key_of:
            key = key_of[reverses_id]
        elif ref_type == "attendance":
            key = ("attendance", ref_id, category)
        else:
            key = ("transaction", txn_id, category)
        key_of[txn_id] = key
        credit = groups.get(key)
        if credit is None:
            attendance = ref_id if ref_type == "attendance" else None
            supervision = ref_id if ref_type == SUPERVISION_REF else None
            credit = groups[key] = Credit(category, event_at, memo, attendance, supervision_id=supervision)
        credit.minutes += amount
        credit.corrected = credit.corrected or reverses_id is not None
    return sorted((c for c in groups.values() if c.minutes), key=lambda c: c.served_at)


#: The ledger reference of a supervision session's training credit.
SUPERVISION_REF = "supervision_session"
#: The activity's person in charge, joined beside the volunteer: made once, as building an alias costs more than the query.
_LEADER = aliased(Person)


def _lines(session: Session, found: Iterable[Credit]) -> list[ServiceLine]:
    """Credits as printed lines, with the activity's place, content and organising unit where there is one."""
    found = list(found)
    ids = {c.attendance_id for c in found if c.attendance_id is not None}
    details: dict[int, tuple[str, str, str | None, str, str, str | None]] = {}
    if ids:
        # Plain columns in one query: a batch reads thousands of these, and whole objects cost several times more.
        leader = _LEADER
        stmt = (
            select(Attendance.id, Activity.title, Activity.address, Activity.description, Activity.category, Organisation.name, leader.real_name)
            .join(Activity, Activity.id == Attendance.activity_id)
            .join(Organisation, Organisation.id == Activity.organisation_id)
            .outerjoin(leader, leader.id == Activity.person_in_charge_id)
            .where(Attendance.id.in_(ids))
        )
        details = {row[0]: tuple(row[1:]) for row in session.execute(stmt)}
    supervised = _supervision_details(session, {c.supervision_id for c in found if c.supervision_id is not None})
    lines = []
    for credit in found:
        day, kind = local_day(credit.served_at), SERVICE_CATEGORIES.get(credit.category, credit.category)
        detail = details.get(credit.attendance_id) if credit.attendance_id is not None else supervised.get(credit.supervision_id)
        if detail is not None:
            title, address, description, category, unit, leader_name = detail
            content = description or SERVICE_CATEGORIES.get(category, "")
            lines.append(ServiceLine(day, title, credit.category, address, content, credit.minutes, unit, leader_name or "", credit.corrected))
        else:
            lines.append(ServiceLine(day, credit.memo or kind, credit.category, "", kind, credit.minutes, "", "", credit.corrected))
    return lines


def _supervision_details(session: Session, ids: set[int]) -> dict[int, tuple[str, str, str | None, str, str, str | None]]:
    """Supervision sessions as training lines: topic, place (the organisation), notes, organiser and the social worker."""
    if not ids:
        return {}
    stmt = (
        select(SupervisionSession.id, SupervisionSession.topic, Organisation.name, SupervisionSession.notes, Organisation.name, _LEADER.real_name)
        .join(Organisation, Organisation.id == SupervisionSession.organisation_id)
        .outerjoin(_LEADER, _LEADER.id == SupervisionSession.social_worker_id)
        .where(SupervisionSession.id.in_(ids))
    )
    return {row[0]: (row[1], row[2], row[3] or row[1], TRAINING, row[4], row[5]) for row in session.execute(stmt)}


def service_record(session: Session, person: Person, start: dt.date, end: dt.date, *, thresholds: Sequence[int] = ()) -> ServiceRecord:
    """The volunteer's certified service and training served from `start` to `end` (local dates, inclusive).

    The star level is today's, from every certified service minute against `thresholds` (minutes).
    """
    every = credits(session, person.id)
    service_total = sum(c.minutes for c in every if c.category != TRAINING)
    within = [c for c in every if start <= local_day(c.served_at) <= end]
    record = ServiceRecord(person=person, start=start, end=end, star_level=sum(1 for t in thresholds if service_total >= t))
    lines = _lines(session, within)
    record.service = [line for line in lines if line.category != TRAINING]
    record.training = [line for line in lines if line.category == TRAINING]
    return record
