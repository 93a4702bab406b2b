"""Check-in and check-out (签到/签退): by the venue's code on the volunteer's phone, or by the volunteer's
member code at a kiosk. The same rules hold either way; every refusal says why and records nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from timebank.auth import codes
from timebank.domain import Conflict
from timebank.events import tokens
from timebank.events.credit import distance_m
from timebank.events.models import Activity, ActivityStatus, Attendance, AttendanceStatus, SignUp, SignUpStatus
from timebank.events.services import get_activity, managed_activity
from timebank.localtime import hhmm
from timebank.orgs.services import effective_policy
from timebank.people.access import Actor
from timebank.people.models import Person, Status

#: Check-out stays open this long after the planned end; later, the forgotten check-out rule applies.
CHECKOUT_GRACE = dt.timedelta(hours=2)


class CheckInRefused(Conflict):
    """A scan that records nothing, with the reason in words a volunteer understands."""

    template = "This scan could not be recorded."


class CodeExpired(CheckInRefused):
    template = "This code has expired. Scan the code on the screen again; it changes every 30 seconds."


class CheckOutCodeAtCheckIn(CheckInRefused):
    template = "This is the check-out code. To check in, scan the check-in code on the screen."


class CheckInCodeAtCheckOut(CheckInRefused):
    template = "This is the check-in code. To check out, scan the check-out code on the screen."


class WrongActivity(CheckInRefused):
    template = "This code belongs to another activity: %(title)s."


class PosterNotAllowed(CheckInRefused):
    template = "This activity does not accept the printed code. Scan the code on the venue screen."


class NotOpen(CheckInRefused):
    template = "This activity is not open for check-in."


class NotStarted(CheckInRefused):
    template = "Check-in has not opened yet. It opens at %(opens)s."


class Ended(CheckInRefused):
    template = "This activity ended at %(ends)s. Check-in is closed."


class CheckOutClosed(CheckInRefused):
    template = "Check-out closed at %(closed)s. The organiser will review your attendance."


class AlreadyCheckedIn(CheckInRefused):
    template = "You already checked in at %(at)s."


class AlreadyCheckedOut(CheckInRefused):
    template = "You already checked out at %(at)s."


class NotCheckedIn(CheckInRefused):
    template = "You have not checked in to this activity, so you cannot check out."


class NotSignedUp(CheckInRefused):
    template = "This activity is for volunteers who signed up. Please sign up first or ask the organiser."


class OnWaitingList(CheckInRefused):
    template = "You are on the waiting list for this activity. Please ask the organiser before checking in."


class AccountPending(CheckInRefused):
    template = "Your registration is still waiting for a coordinator's approval; you can check in once it is approved."


@dataclass(frozen=True)
class Scan:
    """What a scan recorded."""

    attendance: Attendance
    action: str  # in, out
    at: dt.datetime

    @property
    def local_time(self) -> str:
        """"09:02"."""
        return hhmm(self.at)


def activity_for_code(session: Session, code: tokens.ActivityCode) -> Activity:
    """The activity a code names (unknown keys read as forgeries)."""
    activity = session.scalar(select(Activity).where(Activity.code_key == code.key))
    if activity is None:
        raise tokens.ActivityCodeError()
    return activity


def scan_activity_code(
    session: Session,
    token: str,
    *,
    action: str,
    volunteer: Person,
    secret_key: str,
    now: dt.datetime,
    activity_id: int | None = None,
    position: tuple[float, float] | None = None,
    seen_at: dt.datetime | None = None,
) -> Scan:
    """A volunteer's phone read the venue's code: check in or out, as the code and the page both say.

    `seen_at` is when the code was scanned, from a genuine seen ticket (see tokens): a code
    fresh then is accepted though the volunteer signed in since.
    """
    code = tokens.read(token, secret_key)
    activity = activity_for_code(session, code)
    if activity_id is not None and activity.id != activity_id:
        raise WrongActivity(title=activity.title)
    if code.action != action:
        raise CheckOutCodeAtCheckIn() if action == "in" else CheckInCodeAtCheckOut()
    if code.is_poster and not activity.poster_allowed:
        raise PosterNotAllowed()
    if not tokens.is_fresh(code, now) and not (seen_at is not None and tokens.is_fresh(code, seen_at)):
        raise CodeExpired()
    method = "poster" if code.is_poster else "screen"
    return record_scan(session, activity, volunteer, action, method=method, now=now, position=position)


def scan_member_code(
    session: Session,
    activity_id: int,
    member_code: str,
    *,
    action: str,
    actor: Actor | None,
    device_activity_id: int | None = None,
    secret_key: str,
    now: dt.datetime,
) -> Scan:
    """An organiser's kiosk read a volunteer's member code (phone or card): check that volunteer in or out.

    The kiosk is either a device token bound to this activity or an organiser of it signed in.
    """
    if device_activity_id is not None:
        if device_activity_id != activity_id:
            raise CheckInRefused("This device is set up for another activity.")
        activity = get_activity(session, activity_id)
    else:
        activity = managed_activity(session, activity_id, actor=actor)
    volunteer = codes.resolve(session, member_code, secret_key, now=now)
    scan = record_scan(session, activity, volunteer, action, method="kiosk", now=now)
    scan.attendance.recorded_by = actor.id if actor is not None else None
    return scan


def record_scan(
    session: Session,
    activity: Activity,
    volunteer: Person,
    action: str,
    *,
    method: str,
    now: dt.datetime,
    position: tuple[float, float] | None = None,
) -> Scan:
    """Check the volunteer in or out of the activity at `now`, under the activity's rules and policy."""
    if volunteer.status != Status.ACTIVE.value:
        raise AccountPending()
    if activity.status != ActivityStatus.PUBLISHED.value:
        raise NotOpen()
    attendance = session.scalar(
        select(Attendance).where(Attendance.activity_id == activity.id, Attendance.volunteer_id == volunteer.id)
    )
    if action == "in":
        return _check_in(session, activity, volunteer, attendance, method=method, now=now, position=position)
    return _check_out(activity, attendance, method=method, now=now)


def _check_in(
    session: Session,
    activity: Activity,
    volunteer: Person,
    attendance: Attendance | None,
    *,
    method: str,
    now: dt.datetime,
    position: tuple[float, float] | None,
) -> Scan:
    if attendance is not None:
        if attendance.checked_out_at is not None:
            raise AlreadyCheckedOut(at=hhmm(attendance.checked_out_at))
        raise AlreadyCheckedIn(at=hhmm(attendance.checked_in_at))
    policy = effective_policy(session, activity.organisation)
    opens = activity.starts_at - dt.timedelta(minutes=int(policy["checkin_opens_minutes"]))
    if now < opens:
        raise NotStarted(opens=hhmm(opens))
    if now >= activity.ends_at:
        raise Ended(ends=hhmm(activity.ends_at))
    if activity.signup_required:
        status = session.scalar(
            select(SignUp.status).where(SignUp.activity_id == activity.id, SignUp.volunteer_id == volunteer.id)
        )
        if status == SignUpStatus.WAITING.value:
            raise OnWaitingList()
        if status != SignUpStatus.SIGNED_UP.value:
            raise NotSignedUp()
    distance = None
    if position is not None and activity.latitude is not None and activity.longitude is not None:
        distance = distance_m(activity.latitude, activity.longitude, *position)
    attendance = Attendance(
        activity_id=activity.id,
        volunteer_id=volunteer.id,
        status=AttendanceStatus.CHECKED_IN.value,
        checked_in_at=now,
        check_in_method=method,
        distance_m=distance,
        credit_version=0,
    )
    try:
        with session.begin_nested():  # two scans at once: the unique pair lets one through
            session.add(attendance)
    except IntegrityError:
        earlier = session.scalar(
            select(Attendance).where(Attendance.activity_id == activity.id, Attendance.volunteer_id == volunteer.id)
        )
        raise AlreadyCheckedIn(at=hhmm(earlier.checked_in_at if earlier else now)) from None
    return Scan(attendance, "in", now)


def _check_out(activity: Activity, attendance: Attendance | None, *, method: str, now: dt.datetime) -> Scan:
    if attendance is None:
        raise NotCheckedIn()
    if attendance.checked_out_at is not None:
        raise AlreadyCheckedOut(at=hhmm(attendance.checked_out_at))
    if attendance.status != AttendanceStatus.CHECKED_IN.value:
        raise NotOpen()
    if now > activity.ends_at + CHECKOUT_GRACE:
        raise CheckOutClosed(closed=hhmm(activity.ends_at + CHECKOUT_GRACE))
    attendance.checked_out_at = max(now, attendance.checked_in_at)
    attendance.check_out_method = method
    attendance.status = AttendanceStatus.CHECKED_OUT.value
    return Scan(attendance, "out", now)


def presence(session: Session, activity_id: int) -> dict[str, int]:
    """How many are in now and how many have checked in at all (the venue screen's live count)."""
    rows = dict(
        session.execute(
            select(Attendance.status, func.count()).where(Attendance.activity_id == activity_id).group_by(Attendance.status)
        ).all()
    )
    inside = rows.get(AttendanceStatus.CHECKED_IN.value, 0)
    return {"in": inside, "total": sum(rows.values())}
