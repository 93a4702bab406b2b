"""A browser that becomes a device: a station tablet or an activity's kiosk, entered once with its token.

The token is exchanged for a signed, HttpOnly cookie (no person's session is
kept), after which the browser reaches only its own station's counter (with the
clerk on duty signed in on it) or its own activity's kiosk and screen. Every
other page answers with the device's home, or 403.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, current_app, flash, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import logout_user
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.exceptions import Forbidden

from timebank.auth import services
from timebank.auth.login import current_device, limiter
from timebank.auth.models import DeviceToken
from timebank.db import utcnow
from timebank.domain import NotAllowed
from timebank.people.access import Actor
from timebank.people.models import Person
from timebank.openapi import API_PREFIX
from timebank.web import SAFE_METHODS, db_session

bp = Blueprint("device", __name__, url_prefix="/device")

DEVICE_COOKIE = "timebank_device"
COOKIE_SALT = "timebank.device-cookie"
#: A header the station's API client sends with the clerk's duty ticket (see redeem/duty.py).
DUTY_HEADER = "X-Counter-Duty"
#: What a device's browser may reach besides the pages of this blueprint, by the device's kind.
REACHABLE = {
    "station": {"redeem.counter_page", "redeem.scan", "redeem.redeem", "redeem.receipt", "redeem.void", "redeem.picture"},
    "activity": {"events.kiosk", "events.screen", "events.screen_data"},
}
EVERYWHERE = {"static", "site.healthz", "site.set_language"}


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=COOKIE_SALT)


def _state() -> dict[str, Any] | None:
    """What the device cookie says, if its signature holds."""
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw:
        return None
    try:
        state = _serializer().loads(raw)
    except BadSignature:
        return None
    return state if isinstance(state, dict) else None


def cookie_device() -> DeviceToken | None:
    """The live device this browser was set up as, if any (once per request)."""
    if "cookie_device" not in g:
        state = _state()
        g.cookie_device = None
        if state and isinstance(state.get("token"), int) and isinstance(state.get("fingerprint"), str):
            g.cookie_device = services.resume_device(db_session(), state["token"], state["fingerprint"], now=utcnow(),
                                                     record_use=request.method not in SAFE_METHODS)
    return g.cookie_device


def duty_ticket() -> str | None:
    """The clerk's duty ticket this request carries: the API client's header, or the tablet's cookie."""
    if request.path.startswith(API_PREFIX + "/") and request.headers.get(DUTY_HEADER):
        return request.headers[DUTY_HEADER]
    state = _state() if cookie_device() is not None else None
    return state.get("duty") if state else None


def current_clerk() -> Actor | None:
    """The clerk on duty at this station device (None if no one signed in); a stale ticket is NoClerkOnDuty."""
    from timebank.redeem.duty import clerk_on_duty

    if "clerk" not in g:
        device, ticket = current_device(), duty_ticket()
        g.clerk = clerk_on_duty(db_session(), device, ticket, current_app.config["SECRET_KEY"], now=utcnow()) if device and ticket else None
    return g.clerk


def _with_cookie(response: Any, device: DeviceToken, duty: str | None = None) -> Any:
    """The response, setting the device cookie (with the clerk's duty ticket, if one is on duty)."""
    response = current_app.make_response(response)
    value = _serializer().dumps({"token": device.id, "fingerprint": device.token_hash[:16], "duty": duty})
    response.set_cookie(DEVICE_COOKIE, value, max_age=400 * 24 * 3600, httponly=True, samesite="Lax",
                        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")))
    return response


def home_of(device: DeviceToken) -> str:
    """The one page a device shows: its station's counter, or its activity's kiosk."""
    if device.scope_type == "station":
        return url_for("redeem.counter_page", station_id=device.scope_id)
    return url_for("events.kiosk", activity_id=device.scope_id)


@bp.route("", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
def enter() -> ResponseReturnValue:
    """Enter the device token once; this browser then is that device, and no one's signed-in session stays."""
    if request.method == "GET":
        device = cookie_device()
        return redirect(home_of(device)) if device else render_template("device/enter.html")
    device = services.authenticate_device(db_session(), (request.form.get("token") or "").strip(), now=utcnow())
    if device is None:
        message = gettext("This device token is not valid or has been revoked. Ask a coordinator for the token on the Devices page.")
        return render_template("device/enter.html", message=message, errors={"token": [message]}), 422
    db_session().commit()
    logout_user()
    session.clear()
    return _with_cookie(redirect(home_of(device)), device)


@bp.route("/clerk", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
def clerk() -> ResponseReturnValue:
    """At a station's tablet: the clerk at the counter signs in for the shift, so each redemption names them."""
    from timebank.redeem.duty import start_duty

    device = cookie_device()
    if device is None or device.scope_type != "station":
        return redirect(url_for("device.enter"))
    if request.method == "GET":
        return render_template("device/clerk.html")
    try:
        clerk, ticket = start_duty(db_session(), device, request.form.get("phone", ""), request.form.get("password", ""),
                                   current_app.config["SECRET_KEY"], now=utcnow())
    except (services.SignInRefused, NotAllowed) as refused:
        db_session().rollback()
        return render_template("device/clerk.html", message=gettext(refused.template, **refused.params), form=request.form), 401
    db_session().commit()
    return _with_cookie(redirect(home_of(device)), device, ticket)


@bp.post("/clerk/end")
def end_duty() -> ResponseReturnValue:
    """The clerk's shift ends: the next one signs in before anything is redeemed."""
    device = cookie_device()
    if device is None:
        return redirect(url_for("device.enter"))
    flash(gettext("Signed out of the counter. The next clerk signs in."))
    return _with_cookie(redirect(url_for("device.clerk")), device)


def confine() -> ResponseReturnValue | None:
    """Keep a device's browser to its own pages; a station's pages need the clerk on duty."""
    if request.path.startswith(API_PREFIX + "/") or request.endpoint is None:
        return None
    device = cookie_device()
    if device is None or request.endpoint in EVERYWHERE or request.endpoint.startswith("device."):
        return None
    if request.endpoint not in REACHABLE[device.scope_type]:
        if request.method in SAFE_METHODS:
            return redirect(home_of(device))
        raise Forbidden()
    if device.scope_type == "station":
        from timebank.redeem.duty import NoClerkOnDuty

        try:
            if current_clerk() is None:
                raise NoClerkOnDuty()
        except NoClerkOnDuty as exc:
            flash(gettext(exc.template, **exc.params))
            return redirect(url_for("device.clerk"))
    return None


def device_header() -> dict[str, Any] | None:
    """What the minimal header of a device's page shows: the device, and at a station the clerk on duty."""
    device = cookie_device() if request.endpoint and not request.path.startswith(API_PREFIX + "/") else None
    if device is None:
        return None
    from timebank.auth.schemas import masked_name
    from timebank.redeem.duty import NoClerkOnDuty

    header: dict[str, Any] = {"name": device.name, "station": device.scope_type == "station", "clerk": None}
    try:
        clerk = current_clerk() if header["station"] else None
    except NoClerkOnDuty:
        clerk = None
    if clerk is not None:
        header["clerk"] = masked_name(db_session().get(Person, clerk.id).real_name)
    return header


def init_app(app: Flask) -> None:
    """The device pages, the confinement of a device's browser, and its header."""
    app.register_blueprint(bp)
    app.before_request(confine)
    app.jinja_env.globals["device_header"] = device_header
