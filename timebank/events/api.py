"""JSON API for activities, sign-up, check-in by code and by member code, attendances, review and corrections."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from flask import current_app, jsonify
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from timebank.auth.login import current_actor, current_device, current_person, now, requires
from timebank.auth.schemas import masked_name
from timebank.domain import NotAllowed, NotFound
from timebank.events import checkin, corrections, review, services, writeoff
from timebank.events.api_schemas import (
    ActivityCodeScanSchema,
    ActivityDetailSchema,
    ApprovedSchema,
    AttendanceOutSchema,
    CorrectionRequestOutSchema,
    KioskScanOutSchema,
    KioskScanSchema,
    MyAttendanceSchema,
    OverdueAttendanceSchema,
    ReviewedAttendanceSchema,
    ScanOutSchema,
    ScreenSchema,
    SignUpOutSchema,
)
from timebank.events.deposits import HourDeposit, deposits_at_cap
from timebank.events.listings import listings
from timebank.events.models import Activity
from timebank.events.review_views import at_cap_message, left_out_message
from timebank.events.venue import screen_state, venue_activity
from timebank.events.schemas import ActivitySchema, AdjustmentSchema, CorrectionAnswerSchema, CorrectionRequestSchema, ReasonSchema
from timebank.openapi import api_blueprint, documented, json_body
from timebank.people.access import CARERS, MANAGERS
from timebank.people.models import Person
from timebank.people.services import load
from timebank.web import db_session, reads_first

bp = api_blueprint("events_api", __name__)
#: Built once: the check-in path is the busiest, and a schema costs more to build than to use.
ACTIVITY_CODE_SCAN, SCAN_OUT = ActivityCodeScanSchema(), ScanOutSchema()


# -- helpers: shaping answers (reads only) ------------------------------------


def _details(session: Session, activities: list[Activity], *, person: Person | None, at: dt.datetime) -> list[dict[str, Any]]:
    """Each activity with its phase, expected credit (under its organisation's policy), sign-ups and the person's own."""
    return [
        {
            "activity": item.activity,
            "phase": item.phase,
            "expected_credit": {"minutes": item.minutes, "points": item.points},
            "signups": {"signed_up": item.signed_up, "waiting": item.waiting},
            "my_signup": item.mine.status if item.mine is not None else None,
        }
        for item in listings(session, activities, person=person, now=at)
    ]


def _detail(activity: Activity) -> dict[str, Any]:
    """One activity as the caller sees it."""
    [item] = _details(db_session(), [activity], person=current_person(), at=now())
    return ActivityDetailSchema().dump(item)


def _scan_answer(scan: checkin.Scan, message: str, **extra: Any) -> dict[str, Any]:
    """A recorded scan as the answer schemas read it."""
    return {"action": scan.action, "at": scan.at, "local_time": scan.local_time, "attendance": scan.attendance, "message": message, **extra}


def _load_people(session: Session, ids: Iterable[int]) -> None:
    """Load these people in one query, so each attendance's volunteer comes from the identity map, not its own query."""
    wanted = set(ids)
    if wanted:
        list(session.scalars(select(Person).where(Person.id.in_(wanted))))


# -- activities ---------------------------------------------------------------


@bp.get("/activities")
@documented(response=ActivityDetailSchema, many=True)
@requires()
def browse() -> ResponseReturnValue:
    """Published activities near the signed-in volunteer that have not ended, with what each credits."""
    session, person, at = db_session(), current_person(), now()
    return jsonify(ActivityDetailSchema(many=True).dump(_details(session, services.browse(session, person, now=at), person=person, at=at)))


@bp.get("/activities/managed")
@documented(response=ActivityDetailSchema, many=True)
@requires(*CARERS)
def managed() -> ResponseReturnValue:
    """Activities the actor leads or may manage, latest first."""
    session = db_session()
    found = services.managed_activities(session, actor=current_actor())
    return jsonify(ActivityDetailSchema(many=True).dump(_details(session, found, person=current_person(), at=now())))


@bp.post("/activities")
@documented(body=ActivitySchema, response=ActivityDetailSchema, status=201)
@requires(*CARERS)
def create() -> ResponseReturnValue:
    """Create an activity, as a draft; the creator is in charge unless someone else is named."""
    activity = services.create_activity(db_session(), json_body(), actor=current_actor(), now=now())
    db_session().commit()
    return jsonify(_detail(activity)), 201


@bp.get("/activities/<int:activity_id>")
@documented(response=ActivityDetailSchema)
@requires()
def activity(activity_id: int) -> ResponseReturnValue:
    """One activity: anyone signed in may read a published one, its organisers a draft too."""
    session = db_session()
    found = services.get_activity(session, activity_id)
    if found.published_at is None:
        try:
            services.managed_activity(session, activity_id, actor=current_actor())
        except NotAllowed:
            raise NotFound("Unknown activity.") from None  # a draft is nobody else's business, not even its existence
    return jsonify(_detail(found))


@bp.patch("/activities/<int:activity_id>")
@documented(body=ActivitySchema, response=ActivityDetailSchema)
@requires(*CARERS)
def update(activity_id: int) -> ResponseReturnValue:
    """Change an activity before it starts; only the fields sent change."""
    found = services.update_activity(db_session(), activity_id, json_body(), actor=current_actor(), now=now())
    db_session().commit()
    return jsonify(_detail(found))


@bp.post("/activities/<int:activity_id>/publish")
@documented(response=ActivityDetailSchema)
@requires(*CARERS)
def publish(activity_id: int) -> ResponseReturnValue:
    """Make a draft visible to volunteers and open for sign-up and check-in."""
    found = services.publish_activity(db_session(), activity_id, actor=current_actor(), now=now())
    db_session().commit()
    return jsonify(_detail(found))


@bp.post("/activities/<int:activity_id>/cancel")
@documented(body=ReasonSchema, response=ActivityDetailSchema)
@requires(*CARERS)
def cancel(activity_id: int) -> ResponseReturnValue:
    """Call an activity off, saying why, before anyone has checked in."""
    reason = json_body().get("reason")  # checked by the service, after who may cancel
    found = services.cancel_activity(db_session(), activity_id, reason if isinstance(reason, str) else "", actor=current_actor(), now=now())
    db_session().commit()
    return jsonify(_detail(found))


# -- sign-up ------------------------------------------------------------------


@bp.post("/activities/<int:activity_id>/signup")
@documented(response=SignUpOutSchema, status=201)
@requires()
def sign_up(activity_id: int) -> ResponseReturnValue:
    """Take a place (201), or a place on the waiting list when it is full; 200 if one was held already."""
    session, person = db_session(), current_person()
    held = services.signups_of(session, person.id, [activity_id])
    signup = services.sign_up(session, activity_id, volunteer=person, now=now())
    session.commit()
    return jsonify(SignUpOutSchema().dump(signup)), 200 if held else 201


@bp.delete("/activities/<int:activity_id>/signup")
@documented(response=SignUpOutSchema)
@requires()
def cancel_sign_up(activity_id: int) -> ResponseReturnValue:
    """Give up one's place before the activity starts; the first on the waiting list takes it."""
    services.cancel_sign_up(db_session(), activity_id, volunteer=current_person(), now=now())
    db_session().commit()
    return jsonify(SignUpOutSchema().dump({"activity_id": activity_id, "status": "cancelled", "created_at": None}))


# -- check-in -----------------------------------------------------------------


def _scan_code(action: str) -> ResponseReturnValue:
    """Check the signed-in volunteer in or out with the venue code their phone read."""
    values = load(ACTIVITY_CODE_SCAN, json_body())
    position = None
    if values.get("latitude") is not None and values.get("longitude") is not None:
        position = (values["latitude"], values["longitude"])
    scan = checkin.scan_activity_code(
        db_session(),
        values["code"],
        action=action,
        volunteer=current_person(),
        secret_key=current_app.config["SECRET_KEY"],
        now=now(),
        activity_id=values["activity_id"],
        position=position,
    )
    db_session().commit()
    # What the volunteer's phone says: "签到成功 09:02".
    if scan.action == "in":
        message = gettext("Checked in at %(time)s.", time=scan.local_time)
    else:
        message = gettext("Checked out at %(time)s.", time=scan.local_time)
    return jsonify(SCAN_OUT.dump(_scan_answer(scan, message))), 201 if action == "in" else 200


@bp.post("/check-ins")
@reads_first
@documented(body=ActivityCodeScanSchema, response=ScanOutSchema, status=201)
@requires()
def check_in() -> ResponseReturnValue:
    """Check in with the check-in code on the venue screen (or the poster, where allowed)."""
    return _scan_code("in")


@bp.post("/check-outs")
@reads_first
@documented(body=ActivityCodeScanSchema, response=ScanOutSchema)
@requires()
def check_out() -> ResponseReturnValue:
    """Check out with the check-out code on the venue screen (or the poster, where allowed)."""
    return _scan_code("out")


@bp.get("/activities/<int:activity_id>/screen")
@documented(response=ScreenSchema, device=True)
@requires(allow_device=True)  # the activity's organisers, or its own kiosk or screen device
def screen(activity_id: int) -> ResponseReturnValue:
    """The venue screen's rotating check-in and check-out codes and live count, for a screen device or an organiser."""
    state = screen_state(venue_activity(activity_id), now())
    return jsonify(ScreenSchema().dump(state)), 200, {"Cache-Control": "no-store"}


@bp.post("/activities/<int:activity_id>/scans")
@documented(body=KioskScanSchema, response=KioskScanOutSchema, device=True)
@requires(allow_device=True)  # the service decides: the activity's organisers, or its own kiosk
def kiosk_scan(activity_id: int) -> ResponseReturnValue:
    """Check a volunteer in or out by their member code, at a kiosk of this activity or by its organiser."""
    device = current_device()
    if device is not None and (device.scope_type != "activity" or device.scope_id != activity_id):
        raise NotAllowed("This device is not set up for this activity.")
    values = load(KioskScanSchema(), json_body())
    session = db_session()
    scan = checkin.scan_member_code(
        session,
        activity_id,
        values["member_code"],
        action=values["action"],
        actor=None if device is not None else current_actor(),
        device_activity_id=device.scope_id if device is not None else None,
        secret_key=current_app.config["SECRET_KEY"],
        now=now(),
    )
    session.commit()
    name = masked_name(scan.attendance.volunteer.real_name)
    if scan.action == "in":
        message = gettext("%(name)s checked in at %(time)s.", name=name, time=scan.local_time)
    else:
        message = gettext("%(name)s checked out at %(time)s.", name=name, time=scan.local_time)
    answer = _scan_answer(scan, message, presence=checkin.presence(session, activity_id))
    return jsonify(KioskScanOutSchema().dump(answer))


# -- review -------------------------------------------------------------------


@bp.get("/attendances/overdue")
@documented(response=OverdueAttendanceSchema, many=True)
@requires(*MANAGERS)
def overdue() -> ResponseReturnValue:
    """Attendances still undecided after the recording deadline, in the actor's organisations, oldest first (at most 500)."""
    found = review.overdue(db_session(), actor=current_actor(), now=now())
    return jsonify(OverdueAttendanceSchema(many=True).dump([{"attendance": a, "due": due} for a, due in found]))


@bp.get("/activities/<int:activity_id>/attendances")
@documented(response=ReviewedAttendanceSchema, many=True)
@requires(*CARERS)
def attendances(activity_id: int) -> ResponseReturnValue:
    """Every attendance of the activity with its computed minutes, points, flags and approvals so far."""
    session = db_session()
    items = review.review_list(session, activity_id, actor=current_actor())
    _load_people(session, (item.attendance.volunteer_id for item in items))
    return jsonify(ReviewedAttendanceSchema(many=True).dump(items))


@bp.post("/attendances/<int:attendance_id>/approve")
@documented(response=AttendanceOutSchema)
@requires(*CARERS)
def approve(attendance_id: int) -> ResponseReturnValue:
    """Approve an attendance; once the policy's number of reviewers have, its credit posts, exactly once."""
    attendance = review.approve_attendance(db_session(), attendance_id, actor=current_actor(), now=now())
    db_session().commit()
    return jsonify(AttendanceOutSchema().dump(attendance))


@bp.post("/attendances/<int:attendance_id>/reject")
@documented(body=ReasonSchema, response=AttendanceOutSchema)
@requires(*CARERS)
def reject(attendance_id: int) -> ResponseReturnValue:
    """Refuse an attendance any credit, saying why."""
    reason = json_body().get("reason")  # checked by the service, after who may reject
    attendance = review.reject_attendance(db_session(), attendance_id, reason or "", actor=current_actor(), now=now())
    db_session().commit()
    return jsonify(AttendanceOutSchema().dump(attendance))


@bp.post("/attendances/<int:attendance_id>/adjust")
@documented(body=AdjustmentSchema, response=AttendanceOutSchema)
@requires(*CARERS)
def adjust(attendance_id: int) -> ResponseReturnValue:
    """Set the minutes to credit, with a reason; after approval this reverses the posting and posts the new figure."""
    attendance = review.adjust_minutes(db_session(), attendance_id, json_body(), actor=current_actor(), now=now())
    db_session().commit()
    return jsonify(AttendanceOutSchema().dump(attendance))


@bp.post("/attendances/<int:attendance_id>/write-off")
@documented(body=AdjustmentSchema, response=AttendanceOutSchema)
@requires(*MANAGERS)
def write_off(attendance_id: int) -> ResponseReturnValue:
    """A coordinator writes off the spent credit a correction would take back (the `credit_spent` refusal), then corrects."""
    attendance, _ = writeoff.write_off_and_correct(db_session(), attendance_id, json_body(), actor=current_actor(), now=now())
    db_session().commit()
    return jsonify(AttendanceOutSchema().dump(attendance))


@bp.post("/activities/<int:activity_id>/approve-unflagged")
@documented(response=ApprovedSchema)
@requires(*CARERS)
def approve_unflagged(activity_id: int) -> ResponseReturnValue:
    """Approve every undecided attendance of the activity that has no flag; list each one left, with why."""
    result = review.approve_unflagged(db_session(), activity_id, actor=current_actor(), now=now())
    names = {a.id: a.volunteer.real_name for a in result.approved}
    body = {
        "approved": [a.id for a in result.approved],
        "exceptions": [{"attendance": left.attendance, "reason": left.reason, "flags": list(left.flags), "message": left_out_message(left)}
                       for left in result.left_out],
        "at_cap": [_at_cap(i, deposit, names[i]) for i, deposit in result.at_cap.items()],
    }
    answer = ApprovedSchema().dump(body)
    db_session().commit()
    return jsonify(answer)


def _at_cap(attendance_id: int, deposit: HourDeposit, name: str) -> dict[str, Any]:
    return {"attendance_id": attendance_id, "deposit": deposit, "message": at_cap_message(name, deposit)}


# -- the volunteer's own record, and corrections ------------------------------


@bp.get("/me/attendances")
@documented(response=MyAttendanceSchema, many=True)
@requires()
def my_attendances() -> ResponseReturnValue:
    """The signed-in volunteer's attendances, newest first: status, minutes and points credited, any report of an error."""
    session, person = db_session(), current_person()
    reports = corrections.requests_of(session, person.id)
    mine = review.attendances_of(session, person.id)
    at_cap = deposits_at_cap(session, mine)
    items = [
        {"attendance": a, "correction": reports.get(a.id),
         "at_cap": _at_cap(a.id, at_cap[a.id], person.real_name) if a.id in at_cap else None}
        for a in mine
    ]
    return jsonify(MyAttendanceSchema(many=True).dump(items))


@bp.post("/attendances/<int:attendance_id>/corrections")
@documented(body=CorrectionRequestSchema, response=CorrectionRequestOutSchema, status=201)
@requires()
def report_error(attendance_id: int) -> ResponseReturnValue:
    """Report an error in one's own attendance; the organisation checks it and answers."""
    request = corrections.report_error(db_session(), attendance_id, json_body(), volunteer=current_person(), now=now())
    db_session().commit()
    return jsonify(CorrectionRequestOutSchema().dump(request)), 201


@bp.get("/correction-requests")
@documented(response=CorrectionRequestOutSchema, many=True)
@requires(*CARERS)
def correction_requests() -> ResponseReturnValue:
    """Unanswered reports of errors about activities the actor reviews, oldest first."""
    session = db_session()
    found = corrections.open_requests(session, actor=current_actor())
    _load_people(session, (r.volunteer_id for r in found))
    return jsonify(CorrectionRequestOutSchema(many=True).dump(found))


@bp.post("/correction-requests/<int:request_id>/answer")
@documented(body=CorrectionAnswerSchema, response=CorrectionRequestOutSchema)
@requires(*CARERS)
def answer_correction(request_id: int) -> ResponseReturnValue:
    """Accept a reported error (the attendance is corrected to the minutes given) or decline it with a reason."""
    request = corrections.answer_correction(db_session(), request_id, json_body(), actor=current_actor(), now=now())
    db_session().commit()
    return jsonify(CorrectionRequestOutSchema().dump(request))

