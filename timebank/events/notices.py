"""What activities tell people: changes and cancellations, tomorrow's reminder, hours approved, answers, recording deadlines."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from timebank.events.credit import add_working_days
from timebank.events.models import Activity, ActivityStatus, Attendance, AttendanceStatus, CorrectionRequest, SignUp, SignUpStatus
from timebank.localtime import local, local_day
from timebank.notices.services import notify, notify_many
from timebank.orgs.services import effective_policy

#: Reviewers are warned this many working days before an activity's recording deadline.
WARN_BEFORE_WORKING_DAYS = 2
UNDECIDED = (AttendanceStatus.CHECKED_IN.value, AttendanceStatus.CHECKED_OUT.value)


def activity_params(activity: Activity) -> dict[str, Any]:
    """An activity as a notice names it: title, local start, place."""
    return {"activity": activity.title, "starts": local(activity.starts_at).strftime("%m-%d %H:%M"), "address": activity.address}


def participants(session: Session, activity_id: int) -> list[int]:
    """Volunteers signed up for an activity or waiting for a place."""
    stmt = select(SignUp.volunteer_id).where(SignUp.activity_id == activity_id, SignUp.status.in_([SignUpStatus.SIGNED_UP.value, SignUpStatus.WAITING.value]))
    return list(session.scalars(stmt))


def activity_changed(session: Session, activity: Activity, changes: dict[str, Any], *, now: dt.datetime) -> int:
    """Tell those signed up when a published activity's time or place changes."""
    if activity.status != ActivityStatus.PUBLISHED.value or not {"starts_at", "ends_at", "address"} & set(changes):
        return 0
    return notify_many(session, participants(session, activity.id), "activity_changed", activity_params(activity), key=f"{activity.id}:{now.isoformat()}", link="/activities", now=now)


def activity_cancelled(session: Session, activity: Activity, *, now: dt.datetime) -> int:
    """Tell those signed up that an activity was called off, and why."""
    params = {**activity_params(activity), "reason": activity.cancel_reason or ""}
    return notify_many(session, participants(session, activity.id), "activity_cancelled", params, key=str(activity.id), link="/activities", now=now)


def hours_approved(session: Session, attendance: Attendance, *, now: dt.datetime) -> None:
    """Tell a volunteer their attendance was credited: how many hours, how many points."""
    minutes, points = attendance.credited_minutes or 0, attendance.credited_points or 0
    params = {"activity": attendance.activity.title, "hours": f"{minutes / 60:g}" if minutes % 6 == 0 else f"{minutes / 60:.2f}", "points": points}
    notify(session, attendance.volunteer_id, "hours_approved", params, key=f"{attendance.id}:v{attendance.credit_version}", link="/me/attendances", now=now)


def correction_answered(session: Session, request: CorrectionRequest, *, now: dt.datetime) -> None:
    """Tell a volunteer how their reported error was answered."""
    activity = session.get(Attendance, request.attendance_id).activity
    notify(session, request.volunteer_id, "correction_answered", {"activity": activity.title, "answer": request.answer or ""}, key=str(request.id), link="/me/attendances", now=now)


def remind_tomorrow(session: Session, *, now: dt.datetime) -> int:
    """Remind everyone signed up for a published activity that starts tomorrow (local day); how many were told."""
    tomorrow = local_day(now) + dt.timedelta(days=1)
    # Local days are UTC+8: tomorrow lies within this UTC window, and local_day picks it out exactly.
    window = select(Activity).where(Activity.status == ActivityStatus.PUBLISHED.value, Activity.starts_at >= now, Activity.starts_at < now + dt.timedelta(days=2))
    told = 0
    for activity in session.scalars(window):
        if local_day(activity.starts_at) == tomorrow:
            signed = select(SignUp.volunteer_id).where(SignUp.activity_id == activity.id, SignUp.status == SignUpStatus.SIGNED_UP.value)
            told += notify_many(session, session.scalars(signed), "activity_tomorrow", activity_params(activity), key=f"{activity.id}:{tomorrow}", link="/activities", now=now)
    return told


def warn_recording_deadlines(session: Session, *, now: dt.datetime) -> int:
    """Warn each finished activity's person in charge when undecided attendances near the recording deadline (art. 11)."""
    today = local_day(now)
    undecided = (
        select(Attendance.activity_id, func.count())
        .join(Activity, Activity.id == Attendance.activity_id)
        .where(Attendance.status.in_(UNDECIDED), Activity.ends_at < now)
        .group_by(Attendance.activity_id)
    )
    told = 0
    for activity_id, count in session.execute(undecided).all():
        activity = session.get(Activity, activity_id)
        due = add_working_days(local_day(activity.ends_at), int(effective_policy(session, activity.organisation)["record_deadline_working_days"]))
        if today <= due <= add_working_days(today, WARN_BEFORE_WORKING_DAYS):
            params = {**activity_params(activity), "count": count, "deadline": due.isoformat()}
            if notify(session, activity.person_in_charge_id, "recording_deadline", params, key=f"{activity.id}:{due}", link=f"/review/activities/{activity.id}", now=now):
                told += 1
    return told
