"""A coordinator's write-off of spent credit, so that a correction the volunteer can no longer cover goes through.

A correction that takes back credit already spent is refused (the ledger
never goes silently negative). A coordinator decides: the shortfall is made
good from `sys:write-off:HOUR` / `sys:write-off:PTS` in a `write_off`
transaction that carries the coordinator and the reason, and the correction
posts in the same database transaction. What a programme has written off is
the balance of those two accounts.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from timebank import ledger
from timebank.audit.services import record
from timebank.domain import Conflict
from timebank.events.models import Attendance, AttendanceStatus
from timebank.events.review import correct_attendance, reviewed_attendance, shortfall
from timebank.events.schemas import AdjustmentSchema
from timebank.ledger import Commodity, rules
from timebank.orgs.services import effective_policy
from timebank.people.access import MANAGERS, Actor
from timebank.people.services import load


def write_off_and_correct(
    session: Session, attendance_id: int, data: dict[str, Any], *, actor: Actor, now: dt.datetime
) -> tuple[Attendance, ledger.Transaction]:
    """Write off what the volunteer can no longer give back, then correct the attendance to the minutes given (coordinators)."""
    attendance = reviewed_attendance(session, attendance_id, actor=actor)
    activity = attendance.activity
    actor.require(MANAGERS, activity.organisation)
    values = load(AdjustmentSchema(), data)
    minutes, reason = values["minutes"], values["reason"]
    if attendance.status != AttendanceStatus.APPROVED.value:
        raise Conflict("Only an approved attendance's credit can be written off.")
    short = shortfall(session, attendance, activity, attendance.transaction_id, minutes, effective_policy(session, activity.organisation))
    if not short:
        raise Conflict("Nothing to write off: the volunteer can cover this correction. Correct the minutes instead.")
    rules.open_write_off_accounts(session, now=now)
    legs = [
        leg
        for commodity, amount in ((Commodity.HOUR, short.minutes), (Commodity.PTS, short.points))
        if amount
        for leg in rules.write_off_legs(attendance.volunteer_id, commodity, amount)
    ]
    write_off = ledger.post(
        session,
        legs,
        kind=ledger.Kind.WRITE_OFF,
        idempotency_key=f"write-off:attendance:{attendance.id}:v{attendance.credit_version}",
        actor=actor.id,
        memo=f"write-off for attendance {attendance.id}: {reason}"[:500],
        ref=("attendance", attendance.id),
        now=now,
    )
    before = attendance.credited_minutes
    correct_attendance(session, attendance, minutes, reason, actor=actor, now=now)
    record(
        session, actor=actor.id, action="write_off", target=("attendance", attendance.id),
        changes={
            "minutes": [before, minutes], "written_off_minutes": [None, short.minutes],
            "written_off_points": [None, short.points], "transaction": [None, write_off.id], "reason": [None, reason],
        },
        now=now,
    )
    return attendance, write_off
