"""Device tokens for station tablets and check-in kiosks."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from timebank.auth import services
from timebank.auth.login import current_actor, now, requires
from timebank.people.access import MANAGERS
from timebank.redeem.services import stations_within
from timebank.web import db_session, form_data, submit

bp = Blueprint("devices", __name__, url_prefix="/devices")


def _page_context() -> dict[str, object]:
    """The actor's tokens and the stations a new one may be for."""
    session, actor = db_session(), current_actor()
    stations = stations_within(session, actor.paths(MANAGERS))
    return {
        "tokens": services.device_tokens(session, actor=actor),
        "stations": {s.id: s for s in stations},
        "station_options": [(s.id, s.name) for s in stations],
    }


@bp.route("", methods=["GET", "POST"])
@requires(*MANAGERS)
def index() -> ResponseReturnValue:
    """The tokens of the actor's organisations; a new one is shown once, then only its prefix."""
    context = _page_context()
    if request.method == "GET":
        return render_template("devices/index.html", **context)

    def create_and_commit() -> ResponseReturnValue:
        data = {**form_data(), "scope_type": "station"}  # activity tokens come with check-in
        token, plain = services.create_device_token(db_session(), data, actor=current_actor(), now=now())
        db_session().commit()
        page = render_template("devices/created.html", token=token, plain=plain, station=context["stations"].get(token.scope_id))
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
