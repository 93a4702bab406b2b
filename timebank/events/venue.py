"""What the venue shows, for its pages and for devices through the API: the rotating codes and who is in.

Shared by the organiser's pages (events/views.py) and the JSON API (events/api.py);
either an organiser's session or a device bound to the activity may ask.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app, url_for
from flask_babel import gettext

from timebank.auth.login import current_actor, current_device
from timebank.domain import NotAllowed
from timebank.events import checkin, poster, services, tokens
from timebank.events.models import Activity, Phase
from timebank.localtime import hhmm
from timebank.web import db_session

#: Where the phone goes for each action: the volunteers' check-in pages.
CODE_ENDPOINTS = {"in": "volunteering.check_in", "out": "volunteering.check_out"}


def code_url(action: str, token: str) -> str:
    """The absolute address a phone opens when it scans an activity code."""
    return url_for(CODE_ENDPOINTS[action], token=token, _external=True)


def venue_activity(activity_id: int) -> Activity:
    """The activity, for its own kiosk or screen device, or for one of its organisers."""
    device = current_device()
    if device is None:
        return services.managed_activity(db_session(), activity_id, actor=current_actor())
    if device.scope_type != "activity" or device.scope_id != activity_id:
        raise NotAllowed("This device is not set up for this activity.")
    return services.get_activity(db_session(), activity_id)


def screen_state(activity: Activity, at: dt.datetime) -> dict[str, Any]:
    """What the venue screen shows at `at`: both codes, when they turn, who is in, and the phase."""
    secret = current_app.config["SECRET_KEY"]
    phase = activity.phase(at)
    over = phase in (Phase.SETTLED, Phase.CANCELLED)
    # Once a scan would be refused, the screen shows why instead of a code: no live code outlives its use.
    closed = {
        "in": over or at >= activity.ends_at,
        "out": over or at > activity.ends_at + checkin.CHECKOUT_GRACE,
    }
    reasons = {
        "in": gettext(checkin.Ended.template, ends=hhmm(activity.ends_at)),
        "out": gettext(checkin.CheckOutClosed.template, closed=hhmm(activity.ends_at + checkin.CHECKOUT_GRACE)),
    }
    state: dict[str, Any] = {}
    for action, key, label in (("in", "check_in", gettext("Check in")), ("out", "check_out", gettext("Check out"))):
        if closed[action]:
            state[key] = {"url": None, "svg": None, "closed": reasons[action]}
            continue
        url = code_url(action, tokens.screen_code(activity.code_key, action, secret, now=at))
        state[key] = {"url": url, "svg": poster.qr_svg(url, label), "closed": None}
    state.update(
        refresh_in=tokens.seconds_left(at),
        presence=checkin.presence(db_session(), activity.id),
        phase=str(phase),
        now=int(at.timestamp() * 1000),  # the screen's clock may be wrong; its countdowns follow ours
    )
    return state
