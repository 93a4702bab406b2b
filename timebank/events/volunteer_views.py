"""Volunteers' pages: activities near them, sign-up, the check-in page a scanned code opens, their attendances."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any
from urllib.parse import urlencode

from babel.dates import format_skeleton
from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale, gettext
from flask_login import current_user
from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from timebank.auth.login import current_person, now, requires
from timebank.domain import Conflict, DomainError, InvalidInput, NotFound
from timebank.errors import status_for
from timebank.events import checkin, corrections, review, services, tokens
from timebank.events.deposits import deposits_at_cap
from timebank.events.listings import Listing, listings, waiting_place
from timebank.events.models import Activity, Attendance, CorrectionStatus, SignUpStatus
from timebank.events.schemas import PositionSchema
from timebank.localtime import hhmm, local
from timebank.people.models import Person
from timebank.web import db_session, form_data, reads_first, translated_errors

bp = Blueprint("volunteering", __name__)
#: The cookie holding the nonce that binds a seen ticket to the browser that scanned.
SCAN_COOKIE = "timebank_scan"

@bp.after_request
def no_store(response: Response) -> Response:
    """Personal pages and check-in forms (with their CSRF token) are never kept by caches or the back button."""
    response.headers["Cache-Control"] = "no-store"
    return response


def day_text(moment: dt.datetime, *, year: bool = False) -> str:
    """The local date in the reader's language: "11月20日周五", or with the year "2026年11月20日"."""
    return format_skeleton("yMMMd" if year else "MMMEd", local(moment), locale=get_locale())


def when_text(starts: dt.datetime, ends: dt.datetime) -> str:
    """An activity's local date and times: "11月20日周五 09:00–11:00"."""
    if local(starts).date() == local(ends).date():
        return f"{day_text(starts)} {hhmm(starts)}–{hhmm(ends)}"
    return f"{day_text(starts)} {hhmm(starts)} – {day_text(ends)} {hhmm(ends)}"


@bp.app_context_processor
def time_helpers() -> dict[str, Any]:
    """Local dates and times for the volunteers' templates (the activity page is served under events.detail too)."""
    return {"when_text": when_text, "day_text": day_text, "hhmm": hhmm}


# -- browsing and signing up ---------------------------------------------------


def nearby(session: Session, person: Person, moment: dt.datetime) -> list[Listing]:
    """The activities near the person, soonest first, with credit, places and the person's own sign-up."""
    return listings(session, services.browse(session, person, now=moment), person=person, now=moment)


def browse_page(*, message: str | None = None, status: int = 200) -> ResponseReturnValue:
    """The list of activities, with a refusal's message when there is one."""
    page = render_template("volunteering/browse.html", listings=nearby(db_session(), current_person(), now()), message=message)
    return page, status


def refused(exc: DomainError) -> str:
    """Roll back what a refused call did and say why, in the user's language."""
    db_session().rollback()
    return gettext(exc.template, **exc.params)


@bp.get("/activities")
@requires()
def browse() -> ResponseReturnValue:
    """Published activities near the volunteer that have not ended, soonest first."""
    return browse_page()


def map_link(activity: Activity) -> str:
    """A map of the venue that needs no key and loads nothing into our page: OpenStreetMap at its coordinates, or Amap's search for its address."""
    if activity.latitude is not None and activity.longitude is not None:
        lat, lon = f"{activity.latitude:.5f}", f"{activity.longitude:.5f}"
        return f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=17/{lat}/{lon}"
    return "https://uri.amap.com/search?" + urlencode({"keyword": activity.address, "src": "timebank"})


def volunteer_activity_page(activity_id: int) -> ResponseReturnValue:
    """One activity as a volunteer sees it: content, place and map, time, who is in charge and how to reach them, credit, their sign-up."""
    session, person, at = db_session(), current_person(), now()
    activity = services.volunteer_activity(session, activity_id, person=person)
    attendance = session.scalar(select(Attendance).where(Attendance.activity_id == activity.id, Attendance.volunteer_id == person.id))
    return render_template(
        "volunteering/activity.html",
        item=listings(session, [activity], person=person, now=at)[0],
        attendance=attendance,
        map_url=map_link(activity),
    )


@bp.post("/activities/<int:activity_id>/sign-up")
@requires()
def sign_up(activity_id: int) -> ResponseReturnValue:
    """Take a place, or a place on the waiting list when the activity is full."""
    session = db_session()
    try:
        signup = services.sign_up(session, activity_id, volunteer=current_person(), now=now())
    except Conflict as exc:
        return browse_page(message=refused(exc), status=409)
    if signup.status == SignUpStatus.WAITING.value:
        message = gettext("The activity is full. You are on the waiting list, number %(place)d.", place=waiting_place(session, signup))
    else:
        message = gettext("Signed up: %(title)s.", title=services.get_activity(session, activity_id).title)
    session.commit()
    flash(message)
    return redirect(url_for("volunteering.browse"))


@bp.post("/activities/<int:activity_id>/cancel-sign-up")
@requires()
def cancel_sign_up(activity_id: int) -> ResponseReturnValue:
    """Give up one's place (or waiting-list place); the first waiting takes it."""
    session = db_session()
    try:
        services.cancel_sign_up(session, activity_id, volunteer=current_person(), now=now())
    except Conflict as exc:
        return browse_page(message=refused(exc), status=409)
    session.commit()
    flash(gettext("Your sign-up is cancelled."))
    return redirect(url_for("volunteering.browse"))


# -- the page a scanned activity code opens ---------------------------------------


def scanned_activity(session: Session, token: str) -> Activity:
    """The activity a scanned code names; ActivityCodeError for a forged, damaged or unknown code."""
    return checkin.activity_for_code(session, tokens.read(token, current_app.config["SECRET_KEY"]))


def scanned_position() -> tuple[float, float] | None:
    """Where the phone said it was, if it shared a usable position (a bad one is ignored, never a refusal)."""
    try:
        values = PositionSchema().load(form_data())
    except ValidationError:
        return None
    latitude, longitude = values.get("latitude"), values.get("longitude")
    return None if latitude is None or longitude is None else (latitude, longitude)


def scan_refused(exc: DomainError, action: str, token: str) -> ResponseReturnValue:
    """The refusal page: nothing recorded, the reason, and what to do next."""
    db_session().rollback()
    try:
        activity = scanned_activity(db_session(), token)
    except tokens.ActivityCodeError:
        activity = None
    page = render_template(
        "volunteering/scan_result.html",
        action=action,
        activity=activity,
        message=gettext(exc.template, **exc.params),
        # Scanning again after success is no failure: the volunteer is checked in (or out) already.
        done=isinstance(exc, (checkin.AlreadyCheckedIn, checkin.AlreadyCheckedOut)),
    )
    return page, status_for(exc)[0]


@bp.before_request
def remember_when_scanned() -> ResponseReturnValue | None:
    """Someone scans before signing in: send them to sign in with a ticket saying the code was fresh when scanned.

    Typing a phone number and password takes longer than a screen code lives;
    without the ticket the volunteer would come back to an expired code.
    """
    if request.endpoint not in ("volunteering.check_in", "volunteering.check_out") or request.method != "GET":
        return None
    if current_user.is_authenticated or "seen" in request.args:
        return None
    token = request.view_args["token"]
    secret, moment = current_app.config["SECRET_KEY"], now()
    try:
        fresh = tokens.is_fresh(tokens.read(token, secret), moment)
    except tokens.ActivityCodeError:
        fresh = False
    if not fresh:
        return None  # the usual sign-in redirect; the page will say why the code no longer works
    # The ticket is bound to this browser: a forwarded link carries the ticket but not the cookie.
    browser = request.cookies.get(SCAN_COOKIE) or secrets.token_urlsafe(24)
    here = url_for(request.endpoint, token=token, seen=tokens.seen_ticket(token, secret, browser=browser, now=moment))
    answer = redirect(url_for("auth.sign_in", next=here))
    answer.set_cookie(
        SCAN_COOKIE, browser, max_age=tokens.SEEN_SECONDS, httponly=True, samesite="Lax",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )
    return answer


def scan(token: str, action: str) -> ResponseReturnValue:
    """GET shows the activity and a form that sends itself; POST checks the volunteer in or out."""
    session = db_session()
    if request.method == "GET":
        # Nothing is recorded on GET: a browser may open the link ahead of time.
        try:
            activity = scanned_activity(session, token)
        except tokens.ActivityCodeError as exc:
            return scan_refused(exc, action, token)
        return render_template("volunteering/scan.html", action=action, activity=activity)
    try:
        done = checkin.scan_activity_code(
            session,
            token,
            action=action,
            volunteer=current_person(),
            secret_key=current_app.config["SECRET_KEY"],
            now=now(),
            position=scanned_position(),
            seen=tokens.seen(request.args.get("seen"), token, current_app.config["SECRET_KEY"], browser=request.cookies.get(SCAN_COOKIE), now=now()),
        )
    except (checkin.CheckInRefused, tokens.ActivityCodeError) as exc:
        return scan_refused(exc, action, token)
    activity = done.attendance.activity
    session.commit()
    return render_template("volunteering/scan_result.html", action=action, activity=activity, scan=done)


@bp.route("/checkin/<token>", methods=["GET", "POST"])
@reads_first
@requires()
def check_in(token: str) -> ResponseReturnValue:
    """签到: the page the venue's check-in code opens."""
    return scan(token, "in")


@bp.route("/checkout/<token>", methods=["GET", "POST"])
@reads_first
@requires()
def check_out(token: str) -> ResponseReturnValue:
    """签退: the page the venue's check-out code opens."""
    return scan(token, "out")


# -- the volunteer's attendances and reports of errors -----------------------------


@bp.get("/me/attendances")
@requires()
def my_attendances() -> ResponseReturnValue:
    """The volunteer's attendances, newest first: status, what was credited, and any report of an error."""
    person = current_person()
    session = db_session()
    attendances = review.attendances_of(session, person.id)
    return render_template(
        "volunteering/attendances.html",
        attendances=attendances,
        requests=corrections.requests_of(session, person.id),
        at_cap=deposits_at_cap(session, attendances),
        now=now(),
    )


@bp.route("/me/attendances/<int:attendance_id>/report", methods=["GET", "POST"])
@requires()
def report(attendance_id: int) -> ResponseReturnValue:
    """Tell the organisation an attendance is recorded wrongly (2021 measures, art. 13)."""
    person = current_person()
    session = db_session()
    attendance = session.get(Attendance, attendance_id)
    if attendance is None or attendance.volunteer_id != person.id:
        raise NotFound("Unknown attendance.")
    latest = corrections.requests_of(session, person.id).get(attendance.id)
    context = {"attendance": attendance, "pending": latest if latest and latest.status == CorrectionStatus.OPEN.value else None}
    if request.method == "GET":
        return render_template("volunteering/report.html", **context)
    try:
        # The raw text: the schema strips it, so a message of blanks reads as no message.
        corrections.report_error(session, attendance.id, request.form.to_dict(), volunteer=person, now=now())
    except (InvalidInput, Conflict) as exc:
        message = refused(exc)
        page = render_template(
            "volunteering/report.html", message=message, errors=translated_errors(exc.errors), form=request.form, **context
        )
        return page, 409 if isinstance(exc, Conflict) else 422
    session.commit()
    flash(gettext("Thank you. The organisation will check your report and answer you here."))
    return redirect(url_for("volunteering.my_attendances"))
