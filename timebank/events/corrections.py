"""A volunteer reports an error in an attendance; the organisation checks it and answers (2021 measures, art. 13)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from timebank.audit.services import record
from timebank.domain import Conflict, NotFound
from timebank.events import notices as event_notices
from timebank.events.models import Activity, Attendance, AttendanceStatus, CorrectionRequest, CorrectionStatus
from timebank.events.review import reviewed_attendance, correct_attendance
from timebank.events.schemas import CorrectionAnswerSchema, CorrectionRequestSchema
from timebank.orgs.models import Organisation
from timebank.people.access import CARERS, Actor
from timebank.people.models import Person
from timebank.people.services import load


def report_error(
    session: Session, attendance_id: int, data: dict[str, Any], *, volunteer: Person, now: dt.datetime
) -> CorrectionRequest:
    """Ask the organisation to correct one's own attendance; one open request at a time."""
    attendance = session.get(Attendance, attendance_id) if attendance_id else None
    if attendance is None or attendance.volunteer_id != volunteer.id:
        raise NotFound("Unknown attendance.")
    values = load(CorrectionRequestSchema(), data)
    pending = session.scalar(
        select(CorrectionRequest.id).where(
            CorrectionRequest.attendance_id == attendance.id, CorrectionRequest.status == CorrectionStatus.OPEN.value
        )
    )
    if pending is not None:
        raise Conflict("You have already reported this attendance; the organisation will answer soon.")
    request = CorrectionRequest(
        attendance_id=attendance.id,
        volunteer_id=volunteer.id,
        message=values["message"].strip(),
        claimed_minutes=values.get("claimed_minutes"),
        status=CorrectionStatus.OPEN.value,
        created_at=now,
    )
    session.add(request)
    session.flush()
    return request


def answer_correction(
    session: Session, request_id: int, data: dict[str, Any], *, actor: Actor, now: dt.datetime
) -> CorrectionRequest:
    """Accept (the attendance is corrected to the minutes given) or decline (with a reason) a reported error."""
    request = session.get(CorrectionRequest, request_id, with_for_update={"of": CorrectionRequest}) if request_id else None
    if request is None:
        raise NotFound("Unknown correction request.")
    attendance = reviewed_attendance(session, request.attendance_id, actor=actor)
    if request.status != CorrectionStatus.OPEN.value:
        raise Conflict("This request has been answered already.")
    values = load(CorrectionAnswerSchema(), data)
    if values["accept"]:
        minutes = values["minutes"]
        if attendance.status == AttendanceStatus.APPROVED.value:
            correct_attendance(session, attendance, minutes, values["answer"], actor=actor, now=now)
        else:
            # Not posted yet: the agreed figure is what the reviewers will approve.
            if attendance.status == AttendanceStatus.REJECTED.value:
                attendance.status = AttendanceStatus.CHECKED_OUT.value if attendance.checked_out_at else AttendanceStatus.CHECKED_IN.value
                attendance.reject_reason = None
                attendance.decided_by = attendance.decided_at = None
                if attendance.activity.settled_at is not None:
                    attendance.activity.status, attendance.activity.settled_at = "published", None
            attendance.adjusted_minutes, attendance.adjust_reason = minutes, values["answer"]
    request.status = CorrectionStatus.ACCEPTED.value if values["accept"] else CorrectionStatus.DECLINED.value
    request.answer, request.answered_by, request.answered_at = values["answer"], actor.id, now
    record(session, actor=actor.id, action="answer_correction", target=("correction_request", request.id), changes={"status": ["open", request.status]}, now=now)
    event_notices.correction_answered(session, request, now=now)
    return request


def open_requests(session: Session, *, actor: Actor, limit: int = 200) -> list[CorrectionRequest]:
    """Unanswered reports about activities the actor reviews, oldest first."""
    conditions = [Organisation.path.startswith(path) for path in actor.paths(CARERS)]
    if not conditions:
        return []
    stmt = (
        select(CorrectionRequest)
        .join(Attendance, Attendance.id == CorrectionRequest.attendance_id)
        .join(Activity, Activity.id == Attendance.activity_id)
        .join(Organisation, Organisation.id == Activity.organisation_id)
        .where(CorrectionRequest.status == CorrectionStatus.OPEN.value, or_(*conditions))
        .order_by(CorrectionRequest.created_at, CorrectionRequest.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def requests_of(session: Session, volunteer_id: int) -> dict[int, CorrectionRequest]:
    """The volunteer's latest request per attendance."""
    stmt = select(CorrectionRequest).where(CorrectionRequest.volunteer_id == volunteer_id).order_by(CorrectionRequest.id)
    return {r.attendance_id: r for r in session.scalars(stmt)}
