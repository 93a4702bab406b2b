"""Reviewing attendances (审核) and posting what they earn; corrections; the overdue list.

Approval is the only way hours, certified hours and points come into being:
one ledger transaction per attendance, keyed on the attendance and its credit
version, so a double click or two reviewers at once post once. A correction
after approval reverses that transaction and posts the new figure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from timebank import ledger
from timebank.audit.services import record
from timebank.certify.stars import sync_star_levels
from timebank.domain import Conflict, DomainError, NotAllowed, NotFound
from timebank.events import notices as event_notices, rollup
from timebank.events.credit import Credit, add_working_days, points_for, work_out
from timebank.events.deposits import HourDeposit, deposits_at_cap, plan_deposit
from timebank.events.models import (
    Activity,
    ActivityStatus,
    Attendance,
    AttendanceReview,
    AttendanceStatus,
    Phase,
)
from timebank.events.refusals import in_words, said_in_words
from timebank.events.schemas import AdjustmentSchema, ReasonSchema
from timebank.events.services import get_activity
from timebank.ledger import rules
from timebank.localtime import local_day
from timebank.needs import visits
from timebank.orgs.models import Organisation
from timebank.orgs.services import effective_policy
from timebank.people.access import CARERS, MANAGERS, Actor
from timebank.people.services import load

UNDECIDED = (AttendanceStatus.CHECKED_IN.value, AttendanceStatus.CHECKED_OUT.value)


@dataclass(frozen=True)
class Reviewed:
    """An attendance as the reviewer sees it: the record, its worked-out credit, who has approved so far."""

    attendance: Attendance
    credit: Credit
    reviewers: tuple[int, ...]


def _policy(session: Session, activity: Activity) -> dict[str, Any]:
    return effective_policy(session, activity.organisation)


def reviewed_activity(session: Session, activity_id: int, *, actor: Actor) -> Activity:
    """The activity, if the actor is a social worker or coordinator where it is organised.

    Being in charge of an activity lets one run its screen and kiosk, not approve its hours (审核).
    """
    activity = get_activity(session, activity_id)
    actor.require(CARERS, activity.organisation)
    return activity


def reviewed_attendance(session: Session, attendance_id: int, *, actor: Actor, lock: bool = True) -> Attendance:
    """The attendance, row-locked, if the actor reviews its activity."""
    # A locked read refreshes what the session holds: a list read before the lock (a bulk approval's) may be stale,
    # and an attendance another reviewer approved meanwhile must be seen as approved.
    attendance = session.get(
        Attendance, attendance_id, with_for_update={"of": Attendance} if lock else None, populate_existing=lock,
    ) if attendance_id else None
    if attendance is None:
        raise NotFound("Unknown attendance.")
    reviewed_activity(session, attendance.activity_id, actor=actor)
    return attendance


def review_list(session: Session, activity_id: int, *, actor: Actor) -> list[Reviewed]:
    """Every attendance of the activity with its computed minutes, points and flags."""
    activity = reviewed_activity(session, activity_id, actor=actor)
    policy = _policy(session, activity)
    stmt = select(Attendance).where(Attendance.activity_id == activity.id).order_by(Attendance.checked_in_at, Attendance.id)
    return [
        Reviewed(a, work_out(activity, a, policy), tuple(r.reviewer_id for r in a.reviews))
        for a in session.scalars(stmt)
    ]


def _require_reviewable(attendance: Attendance, activity: Activity, *, actor: Actor, now: dt.datetime) -> None:
    if attendance.volunteer_id == actor.id:
        raise NotAllowed("You cannot review your own attendance.")
    if activity.phase(now) is not Phase.FINISHED:
        raise Conflict("Attendances are reviewed once the activity has finished.")
    if attendance.status == AttendanceStatus.REJECTED.value:
        raise Conflict("This attendance was rejected.")


def approve_attendance(session: Session, attendance_id: int, *, actor: Actor, now: dt.datetime) -> Attendance:
    """Approve an attendance; once the policy's number of reviewers have, its credit posts (exactly once)."""
    attendance, credited = _approve(session, attendance_id, actor=actor, now=now)
    if credited:
        rollup.count_approvals(session, attendance.activity, [attendance])
    return attendance


def _approve(session: Session, attendance_id: int, *, actor: Actor, now: dt.datetime) -> tuple[Attendance, bool]:
    """`approve_attendance` but for the roll-up's day: the attendance, and whether this approval credited it."""
    attendance = reviewed_attendance(session, attendance_id, actor=actor)
    if attendance.status == AttendanceStatus.APPROVED.value:
        return attendance, False  # a second click, or a second reviewer a moment late
    activity = attendance.activity
    _require_reviewable(attendance, activity, actor=actor, now=now)
    policy = _policy(session, activity)
    credit = work_out(activity, attendance, policy)
    if credit.minutes <= 0:
        raise Conflict("Nothing to credit: adjust the minutes with a reason, or reject the attendance.")
    reviewers = {r.reviewer_id for r in attendance.reviews}
    if actor.id in reviewers:
        raise Conflict("You have approved this attendance already; it needs another reviewer.")
    session.add(AttendanceReview(attendance_id=attendance.id, reviewer_id=actor.id, reviewed_at=now))
    session.flush()
    session.expire(attendance, ["reviews"])
    record(session, actor=actor.id, action="approve_attendance", target=("attendance", attendance.id), now=now)
    if len(reviewers) + 1 < int(policy["reviewers_required"]):
        return attendance, False
    rollup.mark_served(session, attendance)  # the volunteer's row before their accounts
    _post_credit(session, attendance, activity, credit.minutes, policy, actor=actor, now=now)
    sync_star_levels(session, attendance.volunteer_id, now=now)
    attendance.status, attendance.decided_by, attendance.decided_at = AttendanceStatus.APPROVED.value, actor.id, now
    visits.attendance_decided(session, attendance, actor_id=actor.id, now=now)
    settle_if_done(session, activity, now=now)
    event_notices.hours_approved(session, attendance, now=now)
    return attendance, True


@dataclass(frozen=True)
class LeftOut:
    """An undecided attendance a bulk approval did not approve, and why."""

    attendance: Attendance
    reason: str  # own_attendance, flagged, nothing_to_credit, approved_by_you (see left_out_reason), or refused
    refusal: DomainError | ledger.LedgerError | None = None
    flags: tuple[str, ...] = ()  # a flagged attendance's flags


@dataclass(frozen=True)
class BulkApproval:
    """What one "approve all unflagged" did: the approved, those left with their reasons, those credited at the cap."""

    approved: list[Attendance]
    left_out: list[LeftOut]
    at_cap: dict[int, HourDeposit]


def approve_unflagged(session: Session, activity_id: int, *, actor: Actor, now: dt.datetime) -> BulkApproval:
    """Approve every undecided attendance with no flag that the actor has not approved yet; list the rest with why.

    One refused attendance does not hold the others back: each is approved in
    a savepoint, and a refusal is listed with its reason.
    """
    activity = reviewed_activity(session, activity_id, actor=actor)
    if activity.phase(now) is not Phase.FINISHED:
        raise Conflict("Attendances are reviewed once the activity has finished.")
    approved: list[Attendance] = []
    credited: list[Attendance] = []
    left_out: list[LeftOut] = []
    for item in review_list(session, activity_id, actor=actor):
        if item.attendance.status not in UNDECIDED:
            continue
        reason = left_out_reason(item, actor=actor)
        if reason is not None:
            left_out.append(LeftOut(item.attendance, reason, flags=tuple(str(f) for f in item.credit.flags)))
            continue
        try:
            with session.begin_nested():
                attendance, newly = _approve(session, item.attendance.id, actor=actor, now=now)
            approved.append(attendance)
            if newly:
                credited.append(attendance)
        except (DomainError, ledger.LedgerError) as exc:
            left_out.append(LeftOut(item.attendance, "refused", exc))
    rollup.count_approvals(session, activity, credited)
    return BulkApproval(approved, left_out, deposits_at_cap(session, approved))


def left_out_reason(item: Reviewed, *, actor: Actor) -> str | None:
    """Why `approve_unflagged` leaves an attendance for a closer look, or None if it approves it."""
    if item.attendance.volunteer_id == actor.id:
        return "own_attendance"
    if item.credit.flagged:
        return "flagged"
    if item.credit.minutes <= 0:  # a figure adjusted to nothing is rejected, not approved
        return "nothing_to_credit"
    if actor.id in item.reviewers:
        return "approved_by_you"
    return None


def approvable_in_bulk(item: Reviewed, *, actor: Actor) -> bool:
    """True if `approve_unflagged` would approve it: undecided, unflagged, something to credit, not yet approved by the actor."""
    return item.attendance.status in UNDECIDED and left_out_reason(item, actor=actor) is None


def reject_attendance(session: Session, attendance_id: int, reason: str, *, actor: Actor, now: dt.datetime) -> Attendance:
    """Refuse an attendance any credit, saying why; an approved one is corrected instead."""
    attendance = reviewed_attendance(session, attendance_id, actor=actor)
    reason = load(ReasonSchema(), {"reason": reason})["reason"]
    if attendance.status == AttendanceStatus.APPROVED.value:
        raise Conflict("This attendance is approved already; correct its minutes instead.")
    if attendance.status == AttendanceStatus.REJECTED.value:
        return attendance
    _require_reviewable(attendance, attendance.activity, actor=actor, now=now)
    attendance.status, attendance.reject_reason = AttendanceStatus.REJECTED.value, reason
    attendance.decided_by, attendance.decided_at = actor.id, now
    record(session, actor=actor.id, action="reject_attendance", target=("attendance", attendance.id), changes={"reason": [None, reason]}, now=now)
    visits.attendance_decided(session, attendance, actor_id=actor.id, now=now)
    settle_if_done(session, attendance.activity, now=now)
    return attendance


def adjust_minutes(
    session: Session, attendance_id: int, data: dict[str, Any], *, actor: Actor, now: dt.datetime
) -> Attendance:
    """Set the minutes to credit, with a reason: before approval the figure to approve, after it a correction."""
    attendance = reviewed_attendance(session, attendance_id, actor=actor)
    values = load(AdjustmentSchema(), data)
    minutes, reason = values["minutes"], values["reason"]
    if attendance.status == AttendanceStatus.APPROVED.value:
        return correct_attendance(session, attendance, minutes, reason, actor=actor, now=now)
    _require_reviewable(attendance, attendance.activity, actor=actor, now=now)
    before = attendance.adjusted_minutes
    attendance.adjusted_minutes, attendance.adjust_reason = minutes, reason
    # Approvals given to the old figure no longer stand.
    for review in list(attendance.reviews):
        session.delete(review)
    record(session, actor=actor.id, action="adjust_attendance", target=("attendance", attendance.id), changes={"minutes": [before, minutes], "reason": [None, reason]}, now=now)
    return attendance


class CreditSpent(Conflict):
    """A correction would take back more than the volunteer has left: a coordinator may write the rest off."""

    template = (
        "%(name)s has already spent part of the credit from “%(activity)s”: correcting it to %(minutes)d minutes "
        "would leave them %(short_minutes)d minutes and %(short_points)d points short. A coordinator can write off "
        "the shortfall, with a reason, and the correction then goes through."
    )


@dataclass(frozen=True)
class Shortfall:
    """What a correction would take back beyond the volunteer's available balance, per spendable commodity."""

    minutes: int
    points: int

    def __bool__(self) -> bool:
        return bool(self.minutes or self.points)


@said_in_words
def correct_attendance(
    session: Session, attendance: Attendance, minutes: int, reason: str, *, actor: Actor, now: dt.datetime
) -> Attendance:
    """Post the corrected figure and reverse the earlier posting, keeping the reason; refused only if the net overdraws."""
    if attendance.volunteer_id == actor.id:
        raise NotAllowed("You cannot review your own attendance.")
    if minutes == attendance.credited_minutes:
        return attendance
    activity = attendance.activity
    policy = _policy(session, activity)
    before, earlier = attendance.credited_minutes, attendance.transaction_id
    attendance.credit_version += 1
    attendance.adjusted_minutes, attendance.adjust_reason = minutes, reason
    attendance.transaction_id, attendance.credited_minutes, attendance.credited_points = None, 0, 0

    def post_new() -> None:
        if minutes > 0:
            _post_credit(session, attendance, activity, minutes, policy, actor=actor, now=now)

    def reverse_earlier() -> None:
        if earlier is not None:
            ledger.reverse(session, earlier, actor=actor.id, now=now, memo=f"correction of attendance {attendance.id}: {reason}")

    def repay() -> None:  # a paid home visit: the payer pays the corrected minutes
        visits.correct_payment(session, attendance, minutes, actor_id=actor.id, now=now)

    # The new figure first, then the reversal: the balance dips only by the net
    # change, so a correction upward never overdraws however much was spent. Near
    # the storage cap the new figure first would find no room under the cap for
    # what the reversal is about to free: then the reversal goes first.
    near_cap = minutes > 0 and not activity.is_training and plan_deposit(session, attendance.volunteer, minutes, now=now).deposited < minutes
    steps = (reverse_earlier, post_new) if near_cap else (post_new, reverse_earlier)
    try:
        with session.begin_nested():
            for step in (*steps, repay):
                step()
    except ledger.InsufficientBalance:
        short = shortfall(session, attendance, activity, earlier, minutes, policy)
        raise CreditSpent(name=attendance.volunteer.real_name, activity=activity.title,
                          minutes=minutes, short_minutes=short.minutes, short_points=short.points,
                          errors={"write_off": ["A coordinator can write off the shortfall, with a reason."]}) from None
    rollup.count_correction(session, activity, before or 0, attendance.credited_minutes or 0)
    sync_star_levels(session, attendance.volunteer_id, now=now)
    record(session, actor=actor.id, action="correct_attendance", target=("attendance", attendance.id), changes={"minutes": [before, minutes], "reason": [None, reason]}, now=now)
    return attendance


def shortfall(
    session: Session, attendance: Attendance, activity: Activity, earlier: int | None, minutes: int, policy: dict[str, Any]
) -> Shortfall:
    """How far correcting to `minutes` would take the volunteer's time credit and points below zero."""
    given: dict[str, int] = {}
    if earlier is not None:
        for posting in session.get(ledger.Transaction, earlier).postings:
            if posting.account.owner_type == ledger.OwnerType.VOLUNTEER.value:
                given[posting.commodity] = given.get(posting.commodity, 0) + posting.amount
    paid_short = visits.payment_short(session, attendance, minutes)  # a paid visit's time credit came from its payer
    wanted = {
        ledger.Commodity.HOUR.value: 0 if activity.is_training or paid_short is not None else minutes,
        ledger.Commodity.PTS.value: points_for(activity, minutes, policy),
    }
    short = {}
    for commodity, amount in wanted.items():
        take = given.get(commodity, 0) - amount
        available = ledger.balance(session, rules.volunteer_code(attendance.volunteer_id, ledger.Commodity(commodity))).available if take > 0 else 0
        short[commodity] = max(0, take - available)
    return Shortfall(minutes=short[ledger.Commodity.HOUR.value] + (paid_short or 0), points=short[ledger.Commodity.PTS.value])


def _post_credit(
    session: Session,
    attendance: Attendance,
    activity: Activity,
    minutes: int,
    policy: dict[str, Any],
    *,
    actor: Actor,
    now: dt.datetime,
) -> None:
    """One transaction: CERT in the category and PTS in full, HOUR up to the volunteer's cap (training: CERT only).

    What the activity credits follows the activity's policy; the cap and what
    happens above it follow the volunteer's own (see events/deposits.py).
    """
    volunteer_id = attendance.volunteer_id
    points = points_for(activity, minutes, policy)
    # A home visit of an order paid in hours: the payer's hold, not issuance, gives the time credit.
    paid, settle = visits.credit_source(session, attendance)
    if activity.is_training:
        legs = rules.training_credit_legs(volunteer_id, minutes=minutes)
        kind = ledger.Kind.TRAINING_CREDIT
    else:
        deposit = plan_deposit(session, attendance.volunteer, minutes, now=now) if not paid else None
        legs = rules.service_credit_legs(
            volunteer_id, minutes=minutes, category=activity.category, points=points,
            deposit=deposit.deposited if deposit else 0, pool=deposit.pool_id if deposit else None,
        )
        kind = ledger.Kind.SERVICE_CREDIT
    def post() -> ledger.Transaction:
        return ledger.post(
            session,
            legs,
            kind=kind,
            idempotency_key=f"attendance:{attendance.id}:v{attendance.credit_version}",
            actor=actor.id,
            memo=activity.title[:200],
            ref=("attendance", attendance.id),
            event_at=attendance.checked_out_at or activity.ends_at,
            now=now,
        )

    with in_words(attendance):
        try:
            transaction = post()
        except ledger.UnknownAccount:
            # A first credit in this category (or the programme's first credit of all):
            # open what is missing and post again. The ledger resolves accounts before it
            # writes anything, so the refused attempt left nothing behind.
            rules.open_system_accounts(session, now=now)
            rules.open_volunteer_accounts(session, volunteer_id, categories=(activity.category,), now=now)
            transaction = post()
    attendance.transaction_id = transaction.id
    attendance.credited_minutes, attendance.credited_points = minutes, points
    if settle is not None:
        settle(minutes, actor.id, now)


def settle_if_done(session: Session, activity: Activity, *, now: dt.datetime) -> None:
    """A finished activity with every attendance decided is settled."""
    if activity.status != ActivityStatus.PUBLISHED.value or activity.phase(now) is not Phase.FINISHED:
        return
    session.flush()
    open_one = session.scalar(
        select(Attendance.id).where(Attendance.activity_id == activity.id, Attendance.status.in_(UNDECIDED)).limit(1)
    )
    if open_one is None:
        activity.status, activity.settled_at = ActivityStatus.SETTLED.value, now


def deadline(activity: Activity, policy: dict[str, Any]) -> dt.date:
    """The last day to record the activity's attendances (10 working days by default; art. 11)."""
    return add_working_days(local_day(activity.ends_at), int(policy["record_deadline_working_days"]))


#: The overdue list shows at most this many attendances, oldest first.
OVERDUE_LIMIT = 500


def overdue(session: Session, *, actor: Actor, now: dt.datetime, limit: int = OVERDUE_LIMIT) -> list[tuple[Attendance, dt.date]]:
    """Undecided attendances past their recording deadline, in the actor's subtrees, oldest first."""
    paths = actor.paths(MANAGERS)
    if not paths:
        return []
    # Working days are at least calendar days, so this bound never hides one that is overdue.
    stmt = (
        select(Attendance)
        .join(Activity, Activity.id == Attendance.activity_id)
        .join(Organisation, Organisation.id == Activity.organisation_id)
        .where(
            Attendance.status.in_(UNDECIDED),
            Activity.ends_at < now - dt.timedelta(days=1),
            or_(*[Organisation.path.startswith(path) for path in paths]),
        )
        .order_by(Activity.ends_at, Attendance.id)
        .limit(limit * 4)
    )
    today = local_day(now)
    policies: dict[int, dict[str, Any]] = {}
    found = []
    for attendance in session.scalars(stmt):
        activity = attendance.activity
        if activity.organisation_id not in policies:
            policies[activity.organisation_id] = _policy(session, activity)
        due = deadline(activity, policies[activity.organisation_id])
        if today > due:
            found.append((attendance, due))
    return found[:limit]


def attendances_of(session: Session, volunteer_id: int, *, limit: int = 100) -> list[Attendance]:
    """A volunteer's own attendances, newest first."""
    stmt = (
        select(Attendance)
        .where(Attendance.volunteer_id == volunteer_id)
        .order_by(Attendance.checked_in_at.desc(), Attendance.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def decided(items: Iterable[Reviewed]) -> int:
    """How many of the reviewed attendances are approved or rejected."""
    return sum(1 for item in items if item.attendance.status not in UNDECIDED)
