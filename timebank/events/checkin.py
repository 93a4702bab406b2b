"""Check-in and check-out (签到/签退): by the venue's code on the volunteer's phone, or by the volunteer's
member code at a kiosk. The same rules hold either way; every refusal says why and records nothing.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Insert, bindparam, delete, exists, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from timebank.auth import codes
from timebank.db import instance_of, start_writing
from timebank.domain import Conflict
from timebank.events import tokens
from timebank.events.credit import distance_m
from timebank.events.models import Activity, ActivityStatus, Attendance, AttendanceStatus, SignUp, SignUpStatus, UsedSeenTicket
from timebank.events.services import get_activity, managed_activity
from timebank.ledger.posting import dialect_insert
from timebank.localtime import hhmm, moment_text
from timebank.orgs.models import Organisation
from timebank.orgs.policy import merge
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


class SeenTicketUsed(CodeExpired):
    template = "This scan has already been used. Scan the code on the screen again."


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


def activity_and_policy_for_code(session: Session, code: tokens.ActivityCode) -> tuple[Activity, dict[str, Any]]:
    """The activity a code names and the policy in force at its organisation, in one query.

    One row per organisation from the root down to the activity's (an ancestor's path begins the
    descendant's), each with its overrides: what `effective_policy` would read in a second query.
    The activity and its organisation come from the first row, made into the session's objects.
    """
    rows = session.connection().execute(ACTIVITY_AND_POLICY_READ, {"code_key": code.key}).all()
    if not rows:
        raise tokens.ActivityCodeError()
    first, activities = rows[0], len(_activities.c)
    activity = instance_of(session, Activity, dict(zip(_activities.c.keys(), first[:activities])))
    organisation = instance_of(session, Organisation, dict(zip(_home.c.keys(), first[activities:-1])))
    set_committed_value(activity, "organisation", organisation)
    return activity, merge([row[-1] for row in rows])


# The busiest read of all, built once (building a statement costs more than running it) and read without
# the ORM's loading: the activity's columns, its organisation's, then each level's policy overrides.
_activities = Activity.__table__
_home, _above = Organisation.__table__.alias("home"), Organisation.__table__.alias("above")
ACTIVITY_AND_POLICY_READ = (
    select(*_activities.c, *_home.c, _above.c.policies)
    .join_from(_activities, _home, _home.c.id == _activities.c.organisation_id)
    .join(_above, func.substr(_home.c.path, 1, func.length(_above.c.path)) == _above.c.path)
    .where(_activities.c.code_key == bindparam("code_key"))
    .order_by(func.length(_above.c.path))
)


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
    seen: tokens.Seen | None = None,
) -> Scan:
    """A volunteer's phone read the venue's code: check in or out, as the code and the page both say.

    `seen` is a genuine seen ticket (see tokens): a code fresh when it was
    scanned is accepted though the volunteer signed in since, once per ticket.
    """
    code = tokens.read(token, secret_key)
    activity, policy = activity_and_policy_for_code(session, code)
    if activity_id is not None and activity.id != activity_id:
        raise WrongActivity(title=activity.title)
    if code.action != action:
        raise CheckOutCodeAtCheckIn() if action == "in" else CheckInCodeAtCheckOut()
    if code.is_poster and not activity.poster_allowed:
        raise PosterNotAllowed()
    if not tokens.is_fresh(code, now):
        if seen is None or not tokens.is_fresh(code, seen.at):
            raise CodeExpired()
        use_seen_ticket(session, seen, now=now)
    method = "poster" if code.is_poster else "screen"
    return record_scan(session, activity, volunteer, action, method=method, now=now, position=position, policy=policy)


def prune_used_seen_tickets(session: Session, *, now: dt.datetime) -> int:
    """Forget seen tickets used longer ago than a ticket lives (they cannot come back); how many."""
    result = session.execute(delete(UsedSeenTicket).where(UsedSeenTicket.used_at < now - dt.timedelta(seconds=tokens.SEEN_SECONDS)))
    return result.rowcount or 0


def use_seen_ticket(session: Session, seen: tokens.Seen, *, now: dt.datetime) -> None:
    """Spend a seen ticket with this check-in (undone with it if the check-in is refused); a second use is refused."""
    prune_used_seen_tickets(session, now=now)
    spent = session.scalar(
        dialect_insert(session, UsedSeenTicket)
        .values(ticket_hash=seen.ticket_hash, used_at=now)
        .on_conflict_do_nothing()
        .returning(UsedSeenTicket.ticket_hash)
    )
    if spent is None:
        raise SeenTicketUsed()


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
    recorded_by = actor.id if actor is not None else None
    return record_scan(session, activity, volunteer, action, method="kiosk", now=now, recorded_by=recorded_by)


def record_scan(
    session: Session,
    activity: Activity,
    volunteer: Person,
    action: str,
    *,
    method: str,
    now: dt.datetime,
    position: tuple[float, float] | None = None,
    recorded_by: int | None = None,
    policy: dict[str, Any] | None = None,
) -> Scan:
    """Check the volunteer in or out of the activity at `now`, under the activity's rules and policy.

    `policy` is the policy in force at the activity's organisation, where the caller read it already.
    """
    if volunteer.status != Status.ACTIVE.value:
        raise AccountPending()
    if activity.status != ActivityStatus.PUBLISHED.value:
        raise NotOpen()
    if action == "in":
        if policy is None:
            policy = effective_policy(session, activity.organisation)
        # Its insert is the first write, which takes the write lock where reads came first.
        return _check_in(session, activity, volunteer, policy, method=method, now=now, position=position, recorded_by=recorded_by)
    start_writing(session)  # the attendance is read to be changed: no other scan in between
    return _check_out(activity, _attendance(session, activity, volunteer), method=method, now=now)


def _attendance(session: Session, activity: Activity, volunteer: Person) -> Attendance | None:
    return session.scalar(
        select(Attendance).where(Attendance.activity_id == activity.id, Attendance.volunteer_id == volunteer.id)
    )


def _already(attendance: Attendance) -> CheckInRefused:
    if attendance.checked_out_at is not None:
        return AlreadyCheckedOut(at=hhmm(attendance.checked_out_at))
    return AlreadyCheckedIn(at=hhmm(attendance.checked_in_at))


def _check_in(
    session: Session,
    activity: Activity,
    volunteer: Person,
    policy: dict[str, Any],
    *,
    method: str,
    now: dt.datetime,
    position: tuple[float, float] | None,
    recorded_by: int | None,
) -> Scan:
    # The crowd at the door is the busy path: one statement inserts the attendance unless the volunteer
    # has one already or (where a sign-up is required) holds no place. Only a refused scan asks why, in
    # the order the reasons have always come: "you already checked in", then the time, then the sign-up.
    try:
        _check_window(activity, policy, now=now)
    except CheckInRefused:
        earlier = _attendance(session, activity, volunteer)
        if earlier is not None:
            raise _already(earlier) from None
        raise
    distance = None
    if position is not None and activity.latitude is not None and activity.longitude is not None:
        distance = distance_m(activity.latitude, activity.longitude, *position)
    row = {
        "activity_id": activity.id,
        "volunteer_id": volunteer.id,
        "status": AttendanceStatus.CHECKED_IN.value,
        "checked_in_at": now,
        "check_in_method": method,
        "recorded_by": recorded_by,
        "distance_m": distance,
        "credit_version": 0,
    }
    attendance = _insert_unless_present(session, activity, row)
    if attendance is None:
        raise _refusal(session, activity, volunteer, now=now)
    # What the answer shows comes from the records in hand, not from another query.
    set_committed_value(attendance, "activity", activity)
    set_committed_value(attendance, "volunteer", volunteer)
    return Scan(attendance, "in", now)


def _check_window(activity: Activity, policy: dict[str, Any], *, now: dt.datetime) -> None:
    """Refuse a check-in before check-in opens (the policy says how early) or once the activity has ended."""
    opens = activity.starts_at - dt.timedelta(minutes=int(policy["checkin_opens_minutes"]))
    if now < opens:
        raise NotStarted(opens=moment_text(opens, now))
    if now >= activity.ends_at:
        raise Ended(ends=moment_text(activity.ends_at, now))


def _insert_unless_present(session: Session, activity: Activity, row: dict[str, object]) -> Attendance | None:
    """INSERT the attendance row, unless one is there (or, where a sign-up is required, no place is held).

    The unique (activity, volunteer) pair settles two scans at once: exactly one inserts. The inserted
    row becomes the session's Attendance without the ORM's loading (a new one has no reviews).
    """
    dialect = session.get_bind().dialect.name
    inserted = session.connection().execute(_insert_attendance(dialect, activity.signup_required, tuple(row)), row).first()
    if inserted is None:
        return None
    attendance = instance_of(session, Attendance, inserted._asdict())
    set_committed_value(attendance, "reviews", [])
    return attendance


@functools.cache
def _insert_attendance(dialect: str, signup_required: bool, names: tuple[str, ...]) -> Insert:
    # Built once per database and kind of activity, the row's values bound at each check-in.
    table = Attendance.__table__
    values = {name: bindparam(name, type_=table.c[name].type) for name in names}
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    if signup_required:
        placed = exists().where(
            SignUp.activity_id == values["activity_id"],
            SignUp.volunteer_id == values["volunteer_id"],
            SignUp.status == SignUpStatus.SIGNED_UP.value,
        )
        insert = insert.from_select(list(names), select(*values.values()).where(placed))
    else:
        insert = insert.values(values)
    return insert.on_conflict_do_nothing().returning(*table.c)


def _refusal(session: Session, activity: Activity, volunteer: Person, *, now: dt.datetime) -> CheckInRefused:
    """Why nothing was inserted: an attendance is there already, or the volunteer holds no place."""
    earlier = _attendance(session, activity, volunteer)
    if earlier is not None:
        return _already(earlier)
    status = session.scalar(
        select(SignUp.status).where(SignUp.activity_id == activity.id, SignUp.volunteer_id == volunteer.id)
    )
    if status == SignUpStatus.WAITING.value:
        return OnWaitingList()
    if status != SignUpStatus.SIGNED_UP.value:
        return NotSignedUp()
    # Only if the row that stopped the insert cannot be seen from here (a scan at the same moment).
    return AlreadyCheckedIn(at=hhmm(now))


def _check_out(activity: Activity, attendance: Attendance | None, *, method: str, now: dt.datetime) -> Scan:
    if attendance is None:
        raise NotCheckedIn()
    if attendance.checked_out_at is not None:
        raise _already(attendance)
    if attendance.status != AttendanceStatus.CHECKED_IN.value:
        raise NotOpen()
    if now > activity.ends_at + CHECKOUT_GRACE:
        raise CheckOutClosed(closed=moment_text(activity.ends_at + CHECKOUT_GRACE, now))
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
