"""Reviewers' pages: attendances to approve, the overdue list, volunteers' correction requests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext, ngettext

from timebank.auth.login import current_actor, now, requires
from timebank.events import corrections, review, writeoff
from timebank.events.review import OVERDUE_LIMIT
from timebank.events.credit import work_out
from timebank.events.deposits import HourDeposit, deposits_at_cap
from timebank.events.models import Activity, Attendance, AttendanceStatus, CorrectionRequest, CorrectionStatus, Flag, Phase
from timebank.localtime import hhmm, local_day
from timebank.orgs.models import Organisation
from timebank.orgs.services import effective_policy
from timebank.people.access import CARERS, MANAGERS
from timebank.people.registers import names_of
from timebank.web import db_session, done, form_data, refusable

bp = Blueprint("review", __name__, url_prefix="/review")


FLAG_NAMES = {
    Flag.LATE.value: lazy_gettext("Late"),
    Flag.EARLY_LEAVE.value: lazy_gettext("Left early"),
    Flag.FORGOTTEN_CHECKOUT.value: lazy_gettext("No check-out"),
    Flag.OUTSIDE_DISTANCE.value: lazy_gettext("Outside the distance"),
    Flag.SHORT.value: lazy_gettext("Too short"),
}
ATTENDANCE_STATUS_NAMES = {
    AttendanceStatus.CHECKED_IN.value: lazy_gettext("Awaiting review"),
    AttendanceStatus.CHECKED_OUT.value: lazy_gettext("Awaiting review"),
    AttendanceStatus.APPROVED.value: lazy_gettext("Approved"),
    AttendanceStatus.REJECTED.value: lazy_gettext("Rejected by the reviewer"),
}


#: Why "approve all unflagged" left an attendance, as the reviewer reads it.
LEFT_OUT_MESSAGES = {
    "own_attendance": lazy_gettext("Your own attendance: another reviewer decides."),
    "flagged": lazy_gettext("Flagged: look at each one and decide it on its own."),
    "nothing_to_credit": lazy_gettext("Nothing to credit: adjust the minutes or reject."),
    "approved_by_you": lazy_gettext("You have approved; waiting for another reviewer."),
}
#: How many names one line of the bulk approval's answer lists before "and N more".
NAMES_SHOWN = 10


@bp.context_processor
def names() -> dict[str, Any]:
    """Labels and links the review pages share."""
    return {
        "flag_name": lambda flag: FLAG_NAMES.get(str(flag), str(flag)),
        "attendance_status_name": lambda status: ATTENDANCE_STATUS_NAMES.get(status, status),
        "activity_link": activity_link,
        "hhmm": hhmm,  # cheaper than Babel's formatter, which a long sheet calls hundreds of times
    }


def flag_names(flags: tuple[str, ...]) -> str:
    """"迟到、早退"."""
    return "、".join(str(FLAG_NAMES.get(str(flag), flag)) for flag in flags)


def left_out_message(left: review.LeftOut) -> str:
    """Why an attendance was not approved in bulk, in the reviewer's language."""
    if left.refusal is not None:
        return gettext(left.refusal.template, **left.refusal.params)
    if left.reason == "flagged":
        return gettext("Flagged (%(flags)s): look at it and decide it on its own.", flags=flag_names(left.flags))
    return str(LEFT_OUT_MESSAGES[left.reason])


def at_cap_message(name: str, deposit: HourDeposit) -> str:
    """What the storage cap did to one volunteer's credit, for the reviewer."""
    if deposit.pool_id is not None:
        pool = db_session().get(Organisation, deposit.pool_id)
        return gettext(
            "%(name)s is at the storage cap: %(minutes)d minutes of time credit went to the community pool of %(pool)s; certified hours and points were credited in full.",
            name=name, minutes=deposit.over_cap, pool=pool.name if pool else "—",
        )
    return gettext(
        "%(name)s is at the storage cap: %(minutes)d minutes of time credit were not deposited; certified hours and points were credited in full.",
        name=name, minutes=deposit.over_cap,
    )


def activity_link(activity_id: int) -> str | None:
    """The organisers' page of the activity, where that blueprint is installed."""
    if "events.detail" in current_app.view_functions:
        return url_for("events.detail", activity_id=activity_id)
    return None


# -- what the pages show ----------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One attendance on the review page, with what this reviewer may do to it."""

    item: review.Reviewed
    volunteer: str
    reviewers: tuple[str, ...]
    can_decide: bool  # approve, reject or adjust before approval
    can_approve: bool
    can_correct: bool  # adjust after approval: reversal plus a new posting
    can_write_off: bool  # a coordinator here: write off spent credit a correction would take back

    @property
    def attendance(self) -> Attendance:
        """The attendance record."""
        return self.item.attendance

    @property
    def undecided(self) -> bool:
        """Neither approved nor rejected yet."""
        return self.attendance.status in review.UNDECIDED


@dataclass(frozen=True)
class Sheet:
    """Everything the review page of one activity shows."""

    activity: Activity
    phase: Phase
    rows: list[Row]
    reviewers_required: int
    deadline: dt.date
    overdue: bool
    in_bulk: int  # how many "approve all unflagged" would approve

    def count(self, status: str) -> int:
        """How many rows are "approved", "rejected", "undecided", or "flagged" (undecided with a flag)."""
        if status == "undecided":
            return sum(1 for row in self.rows if row.undecided)
        if status == "flagged":
            return sum(1 for row in self.rows if row.undecided and row.item.credit.flagged)
        return sum(1 for row in self.rows if row.attendance.status == status)


def _sheet(activity_id: int) -> Sheet:
    """The review page's content for the actor, at the request's time."""
    session, actor, moment = db_session(), current_actor(), now()
    activity = review.reviewed_activity(session, activity_id, actor=actor)
    items = review.review_list(session, activity.id, actor=actor)
    policy = effective_policy(session, activity.organisation)
    who = names_of(session, [i.attendance.volunteer_id for i in items] + [r for i in items for r in i.reviewers])
    phase = activity.phase(moment)
    manages = actor.may(MANAGERS, activity.organisation)
    rows = []
    for item in items:
        attendance = item.attendance
        own = attendance.volunteer_id == actor.id
        undecided = attendance.status in review.UNDECIDED
        deciding = phase is Phase.FINISHED and undecided and not own
        rows.append(
            Row(
                item,
                who.get(attendance.volunteer_id, "—"),
                tuple(who.get(r, "—") for r in item.reviewers),
                can_decide=deciding,
                can_approve=deciding and actor.id not in item.reviewers and item.credit.minutes > 0,
                can_correct=attendance.status == AttendanceStatus.APPROVED.value and not own,
                can_write_off=attendance.status == AttendanceStatus.APPROVED.value and not own and manages,
            )
        )
    due = review.deadline(activity, policy)
    return Sheet(
        activity=activity,
        phase=phase,
        rows=rows,
        reviewers_required=int(policy["reviewers_required"]),
        deadline=due,
        overdue=local_day(moment) > due and any(row.undecided for row in rows),
        in_bulk=sum(1 for item in items if review.approvable_in_bulk(item, actor=actor)) if phase is Phase.FINISHED else 0,
    )


@dataclass(frozen=True)
class OpenRequest:
    """A volunteer's report, with the attendance's figure as it stands."""

    request: CorrectionRequest
    volunteer: str
    minutes: int  # credited if approved, else what approval would credit
    points: int


def _open_requests() -> list[OpenRequest]:
    """The open correction requests the actor answers, each with its attendance's current figure."""
    session = db_session()
    found = corrections.open_requests(session, actor=current_actor())
    who = names_of(session, [r.volunteer_id for r in found])
    policies: dict[int, dict[str, Any]] = {}
    rows = []
    for request_ in found:
        attendance = request_.attendance
        if attendance.status == AttendanceStatus.APPROVED.value:
            minutes, points = attendance.credited_minutes or 0, attendance.credited_points or 0
        else:
            activity = attendance.activity
            if activity.organisation_id not in policies:
                policies[activity.organisation_id] = effective_policy(session, activity.organisation)
            credit = work_out(activity, attendance, policies[activity.organisation_id])
            minutes, points = credit.minutes, credit.points
        rows.append(OpenRequest(request_, who.get(request_.volunteer_id, "—"), minutes, points))
    return rows


def _back_to_row(message: str, attendance: Attendance) -> ResponseReturnValue:
    """Commit and return to the attendance's row on its review page, where the reviewer was."""
    return done(message, "review.activity", activity_id=attendance.activity_id, _anchor=f"attendance-{attendance.id}")


def _sheet_again(attendance_id: int, action: str) -> Callable[[], tuple[str, dict[str, Any]]]:
    """The review page of the attendance's activity, with the refused row marked."""

    def page() -> tuple[str, dict[str, Any]]:
        attendance = review.reviewed_attendance(db_session(), attendance_id, actor=current_actor(), lock=False)
        return "review/activity.html", {"sheet": _sheet(attendance.activity_id), "failed": attendance_id, "failed_action": action}

    return page


# -- the review page and its actions ---------------------------------------------------


@bp.get("/activities/<int:activity_id>")
@requires(*CARERS)
def activity(activity_id: int) -> ResponseReturnValue:
    """An activity's attendances with their minutes, points and flags, to approve, reject or adjust."""
    return render_template("review/activity.html", sheet=_sheet(activity_id))


@bp.post("/attendances/<int:attendance_id>/approve")
@requires(*CARERS)
def approve(attendance_id: int) -> ResponseReturnValue:
    """Approve one attendance; it is credited once the policy's number of reviewers have approved."""

    def approve_and_commit() -> ResponseReturnValue:
        attendance = review.approve_attendance(db_session(), attendance_id, actor=current_actor(), now=now())
        name = attendance.volunteer.real_name
        if attendance.status == AttendanceStatus.APPROVED.value:
            message = gettext(
                "Approved: %(name)s, %(minutes)d minutes, %(points)d points.",
                name=name, minutes=attendance.credited_minutes or 0, points=attendance.credited_points or 0,
            )
            capped = deposits_at_cap(db_session(), [attendance]).get(attendance.id)
            if capped is not None:
                message = f"{message} {at_cap_message(name, capped)}"
        else:
            message = gettext("Your approval of %(name)s is recorded; another reviewer must approve before it is credited.", name=name)
        return _back_to_row(message, attendance)

    return refusable(approve_and_commit, _sheet_again(attendance_id, "approve"))


@bp.post("/attendances/<int:attendance_id>/reject")
@requires(*CARERS)
def reject(attendance_id: int) -> ResponseReturnValue:
    """Refuse an attendance any credit, with the reason the volunteer will see."""
    reason = form_data().get("reason") or ""

    def reject_and_commit() -> ResponseReturnValue:
        attendance = review.reject_attendance(db_session(), attendance_id, reason, actor=current_actor(), now=now())
        message = gettext("Rejected: %(name)s (%(reason)s).", name=attendance.volunteer.real_name, reason=attendance.reject_reason)
        return _back_to_row(message, attendance)

    return refusable(reject_and_commit, _sheet_again(attendance_id, "reject"))


@bp.post("/attendances/<int:attendance_id>/adjust")
@requires(*CARERS)
def adjust(attendance_id: int) -> ResponseReturnValue:
    """Set the minutes to credit with a reason; after approval this reverses the credit and posts the new figure."""
    data = form_data()

    def adjust_and_commit() -> ResponseReturnValue:
        attendance = review.adjust_minutes(db_session(), attendance_id, data, actor=current_actor(), now=now())
        name = attendance.volunteer.real_name
        if attendance.status == AttendanceStatus.APPROVED.value:
            message = gettext(
                "Corrected: %(name)s now has %(minutes)d minutes, %(points)d points; the earlier credit was reversed.",
                name=name, minutes=attendance.credited_minutes or 0, points=attendance.credited_points or 0,
            )
        else:
            message = gettext("%(name)s: %(minutes)d minutes to credit. Approve to credit them.", name=name, minutes=attendance.adjusted_minutes)
        return _back_to_row(message, attendance)

    return refusable(adjust_and_commit, _sheet_again(attendance_id, "adjust"))


@bp.post("/attendances/<int:attendance_id>/write-off")
@requires(*MANAGERS)
def write_off(attendance_id: int) -> ResponseReturnValue:
    """A coordinator writes off the spent credit a correction would take back, and the correction posts."""
    data = form_data()

    def write_off_and_commit() -> ResponseReturnValue:
        attendance, _ = writeoff.write_off_and_correct(db_session(), attendance_id, data, actor=current_actor(), now=now())
        message = gettext(
            "Written off and corrected: %(name)s now has %(minutes)d minutes, %(points)d points; the write-off is recorded with your reason.",
            name=attendance.volunteer.real_name, minutes=attendance.credited_minutes or 0, points=attendance.credited_points or 0,
        )
        return _back_to_row(message, attendance)

    return refusable(write_off_and_commit, _sheet_again(attendance_id, "adjust"))


@bp.post("/activities/<int:activity_id>/approve-unflagged")
@requires(*CARERS)
def approve_unflagged(activity_id: int) -> ResponseReturnValue:
    """Approve every undecided attendance without a flag; the flagged ones stay for a closer look."""

    def approve_and_commit() -> ResponseReturnValue:
        result = review.approve_unflagged(db_session(), activity_id, actor=current_actor(), now=now())
        credited = sum(1 for a in result.approved if a.status == AttendanceStatus.APPROVED.value)
        waiting = len(result.approved) - credited
        parts = []
        if credited:
            parts.append(ngettext("Approved and credited %(num)d attendance.", "Approved and credited %(num)d attendances.", credited))
        if waiting:
            parts.append(ngettext("%(num)d attendance now needs another reviewer.", "%(num)d attendances now need another reviewer.", waiting))
        summary = " ".join(parts) or gettext("No unflagged attendance was waiting for your approval.")
        session = db_session()
        volunteers = {a.id: a.volunteer_id for a in result.approved} | {left.attendance.id: left.attendance.volunteer_id for left in result.left_out}
        who = names_of(session, list(volunteers.values()))
        at_cap = _at_cap_lines([(who.get(volunteers[i], "—"), deposit) for i, deposit in result.at_cap.items()])
        session.commit()
        for line in [summary, *_left_out_lines(result, who), *at_cap]:
            flash(line)
        return redirect(url_for("review.activity", activity_id=activity_id, _anchor="summary"))

    def page() -> tuple[str, dict[str, Any]]:
        return "review/activity.html", {"sheet": _sheet(activity_id)}

    return refusable(approve_and_commit, page)


def _left_out_lines(result: review.BulkApproval, who: dict[int, str]) -> list[str]:
    """"Not approved: 张三、李四 — why", one line per reason (refusals one by one, each with its own words).

    Grouped, not a line per person: a sheet of two hundred must not overflow the session cookie.
    """
    groups: dict[str, list[str]] = {}
    lines = []
    for left in result.left_out:
        name = who.get(left.attendance.volunteer_id, "—")
        if left.refusal is not None:
            lines.append(gettext("Not approved: %(names)s — %(why)s", names=name, why=left_out_message(left)))
        else:
            groups.setdefault(left.reason, []).append(f"{name}（{flag_names(left.flags)}）" if left.flags else name)
    for reason, names in groups.items():
        lines.append(gettext("Not approved: %(names)s — %(why)s", names=_some(names), why=str(LEFT_OUT_MESSAGES[reason])))
    return lines


def _at_cap_lines(deposits: list[tuple[str, HourDeposit]]) -> list[str]:
    """Who met the storage cap in a bulk approval and how many minutes, one line for each thing done with them."""
    kept = [gettext("%(name)s %(minutes)d min", name=n, minutes=d.over_cap) for n, d in deposits if d.pool_id is None]
    pooled = [gettext("%(name)s %(minutes)d min", name=n, minutes=d.over_cap) for n, d in deposits if d.pool_id is not None]
    lines = []
    if kept:
        lines.append(gettext("At the storage cap, time credit not deposited (certified hours and points credited in full): %(names)s", names=_some(kept)))
    if pooled:
        lines.append(gettext("At the storage cap, time credit given to the community pool (certified hours and points credited in full): %(names)s", names=_some(pooled)))
    return lines


def _some(names: list[str]) -> str:
    """The first names joined, and how many more."""
    shown = "、".join(names[:NAMES_SHOWN])
    if len(names) > NAMES_SHOWN:
        shown = gettext("%(names)s and %(num)d more", names=shown, num=len(names) - NAMES_SHOWN)
    return shown


# -- overdue reviews and correction requests ----------------------------------------------


@bp.get("/overdue")
@requires(*MANAGERS)
def overdue() -> ResponseReturnValue:
    """Activities whose attendances are still undecided after the recording deadline, oldest first."""
    session = db_session()
    found = review.overdue(session, actor=current_actor(), now=now(), limit=OVERDUE_LIMIT)
    groups: dict[int, dict[str, Any]] = {}
    for attendance, due in found:
        group = groups.setdefault(attendance.activity_id, {"activity": attendance.activity, "due": due, "undecided": 0})
        group["undecided"] += 1
    leaders = names_of(session, [g["activity"].person_in_charge_id for g in groups.values()])
    return render_template("review/overdue.html", groups=list(groups.values()), leaders=leaders, capped=len(found) >= OVERDUE_LIMIT)


@bp.get("/corrections", endpoint="corrections")
@requires(*CARERS)
def open_corrections() -> ResponseReturnValue:
    """Volunteers' open reports of errors in their attendances, each with a form to answer it."""
    return render_template("review/corrections.html", requests=_open_requests())


@bp.post("/corrections/<int:request_id>/answer")
@requires(*CARERS)
def answer(request_id: int) -> ResponseReturnValue:
    """Accept a report (the attendance is corrected to the minutes given) or decline it, with the answer."""
    data = form_data()

    def answer_and_commit() -> ResponseReturnValue:
        answered = corrections.answer_correction(db_session(), request_id, data, actor=current_actor(), now=now())
        attendance = answered.attendance
        name = attendance.volunteer.real_name
        if answered.status == CorrectionStatus.ACCEPTED.value:
            minutes = attendance.credited_minutes if attendance.status == AttendanceStatus.APPROVED.value else attendance.adjusted_minutes
            message = gettext("Accepted the report of %(name)s: the attendance now credits %(minutes)d minutes.", name=name, minutes=minutes or 0)
        else:
            message = gettext("Declined the report of %(name)s; they will see your answer.", name=name)
        return done(message, "review.corrections")

    def page() -> tuple[str, dict[str, Any]]:
        return "review/corrections.html", {"requests": _open_requests(), "failed": request_id}

    return refusable(answer_and_commit, page)
