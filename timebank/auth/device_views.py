"""Device tokens for station tablets and for check-in kiosks at activities."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from timebank.auth import services
from timebank.auth.login import current_actor, now, requires
from timebank.events.models import ActivityStatus
from timebank.events.services import get_activity, managed_activities
from timebank.people.access import MANAGERS
from timebank.redeem.services import stations_within
from timebank.web import db_session, form_data, submit

bp = Blueprint("devices", __name__, url_prefix="/devices")

#: Activities a kiosk can no longer serve.
CLOSED = (ActivityStatus.SETTLED.value, ActivityStatus.CANCELLED.value)


def _page_context() -> dict[str, object]:
    """The actor's tokens, what each is for, and the stations and activities a new one may be for."""
    session, actor = db_session(), current_actor()
    stations = stations_within(session, actor.paths(MANAGERS))
    tokens = services.device_tokens(session, actor=actor)
    # Tokens are made by managers of the organisation, so only activities they manage there are offered.
    open_activities = [
        a for a in managed_activities(session, actor=actor) if a.status not in CLOSED and actor.may(MANAGERS, a.organisation)
    ]
    return {
        "tokens": tokens,
        "stations": {s.id: s for s in stations},
        "activities": {t.scope_id: get_activity(session, t.scope_id) for t in tokens if t.scope_type == "activity"},
        "open_activities": open_activities,
    }


def _scope(value: str | None) -> dict[str, str | None]:
    """"station:12" or "activity:34" (the form's one select) as the service's scope type and id."""
    scope_type, _, scope_id = (value or "").partition(":")
    return {"scope_type": scope_type or None, "scope_id": scope_id or None}


@bp.route("", methods=["GET", "POST"])
@requires(*MANAGERS)
def index() -> ResponseReturnValue:
    """The tokens of the actor's organisations; a new one is shown once, then only its prefix."""
    context = _page_context()
    if request.method == "GET":
        return render_template("devices/index.html", **context)

    def create_and_commit() -> ResponseReturnValue:
        data = form_data()
        token, plain = services.create_device_token(db_session(), {**data, **_scope(data.get("scope"))}, actor=current_actor(), now=now())
        db_session().commit()
        station = context["stations"].get(token.scope_id) if token.scope_type == "station" else None
        activity = get_activity(db_session(), token.scope_id) if token.scope_type == "activity" else None
        page = render_template("devices/created.html", token=token, plain=plain, station=station, activity=activity)
        return page, 201, {"Cache-Control": "no-store"}

    return submit(create_and_commit, template="devices/index.html", **context)


@bp.post("/<int:token_id>/revoke")
@requires(*MANAGERS)
def revoke(token_id: int) -> ResponseReturnValue:
    """Stop a device token from working."""
    token = services.revoke_device_token(db_session(), token_id, actor=current_actor(), now=now())
    db_session().commit()
    flash(gettext("Revoked: %(name)s. The device can no longer sign in with it.", name=token.name))
    return redirect(url_for("devices.index"))
