"""The workbench's roll-up of approved service, kept exact in the same transaction as each approval and correction.

Two records follow the attendances: `service_days` (per organisation of the
activity, local day of its start and category: credited minutes and approved
attendances) and `people.last_served_at` (the check-in of a volunteer's latest
approved attendance). An attendance is approved once and stays approved; a
correction, or a reversal to nothing, only changes its credited minutes. So an
approval adds its minutes and one attendance, a correction adds the difference,
and nothing else moves them. `rebuild` recomputes both from the attendances
(the migration's backfill, rows written in bulk by the demo or a benchmark).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import case, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from timebank.events.models import Activity, Attendance, AttendanceStatus, ServiceDay
from timebank.localtime import local_day
from timebank.people.models import Person


def _add(session: Session, activity: Activity, minutes: int, attendances: int) -> None:
    """Add to the activity's day and category, creating the row if it is the first (an upsert: no lost update)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(ServiceDay).values(
        organisation_id=activity.organisation_id, day=local_day(activity.starts_at), category=activity.category,
        minutes=minutes, attendances=attendances,
    )
    session.execute(stmt.on_conflict_do_update(
        index_elements=["organisation_id", "day", "category"],
        set_={"minutes": ServiceDay.minutes + stmt.excluded.minutes, "attendances": ServiceDay.attendances + stmt.excluded.attendances},
    ))


def mark_served(session: Session, attendance: Attendance) -> None:
    """The volunteer has served on the attendance's check-in (their latest service, if it is the latest).

    Called before the credit posts: the volunteer's row is taken first and their
    accounts after it, the order a redemption takes them in, so the two never wait
    for each other in a circle.
    """
    if attendance.checked_in_at is None:
        return
    at = attendance.checked_in_at
    session.execute(
        update(Person).where(Person.id == attendance.volunteer_id)
        .values(last_served_at=case((Person.last_served_at.is_(None) | (Person.last_served_at < at), at), else_=Person.last_served_at))
        .execution_options(synchronize_session=False)
    )


def count_approvals(session: Session, activity: Activity, attendances: Sequence[Attendance]) -> None:
    """Attendances of the activity were approved with their credited minutes: add them to its day, in one upsert.

    A bulk approval counts its attendances once, after all their credits: the
    day's row is shared by every activity of the organisation, day and category,
    and taken last it never stands between two approvals' ledger accounts.
    """
    if attendances:
        _add(session, activity, sum(int(a.credited_minutes or 0) for a in attendances), len(attendances))


def count_correction(session: Session, activity: Activity, before: int, after: int) -> None:
    """An approved attendance's credited minutes went from `before` to `after` (0: reversed)."""
    if after != before:
        _add(session, activity, after - before, 0)


def rebuild(session: Session) -> None:
    """Recompute the roll-up and every last-served moment from the attendances."""
    approved = Attendance.status == AttendanceStatus.APPROVED.value
    if session.get_bind().dialect.name == "sqlite":
        day = func.date(Activity.starts_at, "+8 hours")
    else:
        day = func.date(func.timezone("Asia/Shanghai", Activity.starts_at))
    session.execute(delete(ServiceDay))
    rows = (
        select(Activity.organisation_id, day, Activity.category,
               func.coalesce(func.sum(Attendance.credited_minutes), 0), func.count())
        .join(Attendance, Attendance.activity_id == Activity.id).where(approved)
        .group_by(Activity.organisation_id, day, Activity.category)
    )
    session.execute(insert(ServiceDay).from_select(["organisation_id", "day", "category", "minutes", "attendances"], rows))
    latest = select(func.max(Attendance.checked_in_at)).where(Attendance.volunteer_id == Person.id, approved).scalar_subquery()
    session.execute(update(Person).values(last_served_at=latest).execution_options(synchronize_session=False))
