"""Organisers' pages: activities, the venue screen, the poster and the kiosk."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import format_date, gettext, lazy_gettext

from timebank.auth.login import current_actor, now, requires
from timebank.categories import SERVICE_CATEGORIES
from timebank.domain import NotFound
from timebank.events import checkin, credit, poster, services, tokens
from timebank.events.models import Activity, Phase, SignUpStatus
from timebank.events.venue import code_url, screen_state, venue_activity
from timebank.events.volunteer_views import volunteer_activity_page
from timebank.localtime import local
from timebank.openapi import API_PREFIX
from timebank.orgs.services import effective_policy, tree
from timebank.people.access import CARERS
from timebank.web import db_session, done, form_data, submit

bp = Blueprint("events", __name__, url_prefix="/activities")

#: Live codes and counts: never kept by a cache, never shown stale from the back button.
NO_STORE = {"Cache-Control": "no-store"}
#: The manage list's groups, what needs the organiser soonest first.
PHASE_ORDER = (Phase.UNDER_WAY, Phase.PUBLISHED, Phase.DRAFT, Phase.FINISHED, Phase.SETTLED, Phase.CANCELLED)
PHASE_NAMES = {
    Phase.DRAFT: lazy_gettext("Draft"),
    Phase.PUBLISHED: lazy_gettext("Published"),
    Phase.UNDER_WAY: lazy_gettext("Under way"),
    Phase.FINISHED: lazy_gettext("Finished"),
    Phase.SETTLED: lazy_gettext("Settled"),
    Phase.CANCELLED: lazy_gettext("Cancelled"),
}
#: Phases in which the activity may still be edited (update_activity's rule, for showing the button).
EDITABLE_PHASES = (Phase.DRAFT, Phase.PUBLISHED)
#: A check box left unticked sends nothing, which must read as "no" rather than "unchanged".
BOXES = ("signup_required", "poster_allowed")


def time_span(activity: Activity) -> str:
    """"2026-11-20 周五 09:00–11:00" in local time (the end's date too when it runs past midnight)."""
    start, end = local(activity.starts_at), local(activity.ends_at)
    tail = f"{end:%H:%M}" if end.date() == start.date() else f"{end:%Y-%m-%d %H:%M}"
    return f"{start:%Y-%m-%d} {format_date(start.date(), 'EEE')} {start:%H:%M}–{tail}"


@bp.context_processor
def labels() -> dict[str, Any]:
    """Names the activity pages show for phases, and the time span helper."""
    return {"phase_name": lambda phase: PHASE_NAMES.get(phase, phase), "time_span": time_span}


# -- the organiser's list -------------------------------------------------------------


@bp.get("/manage")
@requires(*CARERS)
def manage() -> ResponseReturnValue:
    """The activities the actor leads or manages, grouped by phase, with sign-ups and who is in."""
    session, at = db_session(), now()
    activities = services.managed_activities(session, actor=current_actor())
    groups: dict[Phase, list[Activity]] = {phase: [] for phase in PHASE_ORDER}
    for activity in activities:
        groups[activity.phase(at)].append(activity)
    for phase in (Phase.UNDER_WAY, Phase.PUBLISHED):
        groups[phase].reverse()  # the list comes latest first; coming ones read best soonest first
    return render_template(
        "events/manage.html",
        groups=[(phase, groups[phase]) for phase in PHASE_ORDER if groups[phase]],
        counts=services.signup_counts(session, [a.id for a in activities]),
        presence={a.id: checkin.presence(session, a.id) for a in groups[Phase.UNDER_WAY]},
    )


# -- creating and editing -------------------------------------------------------------


def _submitted() -> dict[str, Any]:
    """The activity form as the schema takes it."""
    data = form_data()
    for box in BOXES:
        data[box] = "on" if data.get(box) else "off"
    return data


def _form_context(activity: Activity | None = None) -> dict[str, Any]:
    """The choices the activity form offers, and the policy whose figures it shows as placeholders."""
    session, actor = db_session(), current_actor()
    paths = actor.paths(CARERS)
    organisations = tree(session, root_paths=paths) if paths else []
    if activity is not None and activity.organisation not in organisations:
        organisations.insert(0, activity.organisation)
    top = min((o.path.count("/") for o in organisations), default=0)
    leaders = services.possible_leaders(session, actor=actor)
    if activity is not None and activity.person_in_charge not in leaders:
        leaders.insert(0, activity.person_in_charge)
    home = activity.organisation if activity is not None else (organisations[0] if organisations else None)
    return {
        "activity": activity,
        "organisations": [(o.id, "\u3000" * (o.path.count("/") - top) + o.name) for o in organisations],
        # The phone's last digits tell apart two people of the same name.
        "leaders": [(p.id, f"{p.real_name}（{p.phone[-4:]}）") for p in leaders],
        "categories": list(SERVICE_CATEGORIES.items()),
        "policy": effective_policy(session, home) if home is not None else None,
    }


def _values(activity: Activity) -> dict[str, Any]:
    """The form's fields filled from the activity (times as the datetime-local inputs take them)."""
    values = {name: getattr(activity, name) for name in services.EDITABLE}
    values["starts_at"] = f"{local(activity.starts_at):%Y-%m-%dT%H:%M}"
    values["ends_at"] = f"{local(activity.ends_at):%Y-%m-%dT%H:%M}"
    for box in BOXES:
        values[box] = "on" if values[box] else ""
    return values


@bp.route("/new", methods=["GET", "POST"])
@requires(*CARERS)
def new() -> ResponseReturnValue:
    """Create an activity, saved as a draft until it is published."""
    context = _form_context()
    if request.method == "GET":
        organisations = context["organisations"]
        values = {
            "credit_mode": "actual",
            "person_in_charge_id": current_actor().id,
            "organisation_id": organisations[0][0] if len(organisations) == 1 else None,
        }
        return render_template("events/form.html", values=values, **context)

    def create() -> ResponseReturnValue:
        activity = services.create_activity(db_session(), _submitted(), actor=current_actor(), now=now())
        return done(gettext("Saved as a draft. Volunteers see the activity once you publish it."), "events.detail", activity_id=activity.id)

    return submit(create, template="events/form.html", values={}, **context)


@bp.route("/<int:activity_id>/edit", methods=["GET", "POST"])
@requires()
def edit(activity_id: int) -> ResponseReturnValue:
    """Change an activity before it starts."""
    activity = services.managed_activity(db_session(), activity_id, actor=current_actor())
    context = _form_context(activity)
    if request.method == "GET":
        return render_template("events/form.html", values=_values(activity), **context)

    def save() -> ResponseReturnValue:
        services.update_activity(db_session(), activity_id, _submitted(), actor=current_actor(), now=now())
        return done(gettext("The activity has been saved."), "events.detail", activity_id=activity_id)

    return submit(save, template="events/form.html", values={}, **context)


# -- one activity ------------------------------------------------------------------------


def _detail(activity_id: int) -> dict[str, Any]:
    """Everything the activity's page shows: what it credits, who signed up, who is in."""
    session, at = db_session(), now()
    activity = services.managed_activity(session, activity_id, actor=current_actor())
    minutes, points = credit.expected_credit(activity, effective_policy(session, activity.organisation))
    people = services.participants(session, activity.id)
    return {
        "activity": activity,
        "phase": activity.phase(at),
        "editable": activity.phase(at) in EDITABLE_PHASES,
        "minutes": minutes,
        "points": points,
        "signed_up": [(s, p) for s, p in people if s.status == SignUpStatus.SIGNED_UP.value],
        "waiting": [(s, p) for s, p in people if s.status == SignUpStatus.WAITING.value],
        "presence": checkin.presence(session, activity.id),
    }


@bp.get("/<int:activity_id>")
@requires()
def detail(activity_id: int) -> ResponseReturnValue:
    """The activity: its organisers see what they can do next; a volunteer sees what it involves and their part in it."""
    if not services.manages(services.get_activity(db_session(), activity_id), actor=current_actor()):
        return volunteer_activity_page(activity_id)
    return render_template("events/detail.html", **_detail(activity_id))


@bp.post("/<int:activity_id>/publish")
@requires()
def publish(activity_id: int) -> ResponseReturnValue:
    """Make a draft visible to volunteers and open for sign-up and check-in."""
    services.publish_activity(db_session(), activity_id, actor=current_actor(), now=now())
    return done(gettext("Published: volunteers can now find the activity and sign up."), "events.detail", activity_id=activity_id)


@bp.post("/<int:activity_id>/cancel")
@requires()
def cancel(activity_id: int) -> ResponseReturnValue:
    """Call the activity off, saying why; a missing reason shows the page again."""
    reason = form_data().get("reason") or ""
    context = _detail(activity_id)

    def cancel_and_commit() -> ResponseReturnValue:
        services.cancel_activity(db_session(), activity_id, reason, actor=current_actor(), now=now())
        return done(gettext("The activity has been cancelled."), "events.detail", activity_id=activity_id)

    return submit(cancel_and_commit, template="events/detail.html", **context)


# -- the venue screen --------------------------------------------------------------------


@bp.get("/<int:activity_id>/screen")
@requires(allow_device=True)
def screen(activity_id: int) -> ResponseReturnValue:
    """The full-screen page at the venue: the rotating check-in and check-out codes and the live count."""
    activity = venue_activity(activity_id)
    page = render_template("events/screen.html", activity=activity, state=screen_state(activity, now()), window_seconds=tokens.WINDOW_SECONDS)
    return page, 200, NO_STORE


@bp.get("/<int:activity_id>/screen.json")
@requires(allow_device=True)
def screen_data(activity_id: int) -> ResponseReturnValue:
    """The screen's codes and count now, fetched by venue.js without reloading the page."""
    return jsonify(screen_state(venue_activity(activity_id), now())), 200, NO_STORE


# -- the poster ----------------------------------------------------------------------------


def _poster(activity_id: int) -> tuple[Activity, str, str]:
    """The activity and its static check-in and check-out addresses, if it allows a printed code."""
    activity = services.managed_activity(db_session(), activity_id, actor=current_actor())
    if not activity.poster_allowed:
        raise NotFound("This activity does not accept a printed code. To print a poster, edit the activity and allow it.")
    secret = current_app.config["SECRET_KEY"]
    check_in, check_out = (code_url(action, tokens.poster_code(activity.code_key, action, secret)) for action in ("in", "out"))
    return activity, check_in, check_out


def _download(body: bytes, mimetype: str, filename: str) -> Response:
    """A file the browser shows (or saves) under a readable name."""
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'inline; filename="{filename}"'})


@bp.get("/<int:activity_id>/poster.pdf")
@requires()
def poster_pdf(activity_id: int) -> ResponseReturnValue:
    """An A4 poster with the activity's static check-in and check-out codes, to print and put up."""
    activity, check_in, check_out = _poster(activity_id)
    text = poster.PosterText(
        title=activity.title,
        organisation=activity.organisation.name,
        place=activity.address,
        time=time_span(activity),
        check_in=gettext("Check in"),
        check_out=gettext("Check out"),
        instruction=gettext("Scan with your phone's camera to check in or out."),
    )
    return _download(poster.poster_pdf(text, check_in, check_out), "application/pdf", f"activity-{activity.id}-poster.pdf")


@bp.get("/<int:activity_id>/poster.png")
@requires()
def poster_png(activity_id: int) -> ResponseReturnValue:
    """The poster's two codes as an image, to send to a group chat or put on a slide."""
    activity, check_in, check_out = _poster(activity_id)
    return _download(poster.poster_png(check_in, check_out), "image/png", f"activity-{activity.id}-codes.png")


# -- the kiosk -----------------------------------------------------------------------------


@bp.get("/<int:activity_id>/kiosk")
@requires(allow_device=True)
def kiosk(activity_id: int) -> ResponseReturnValue:
    """A tablet page at the venue: scan volunteers' member codes (barcode scanner or camera) to check them in or out."""
    session = db_session()
    activity = venue_activity(activity_id)
    return render_template(
        "events/kiosk.html",
        activity=activity,
        phase=activity.phase(now()),
        presence=checkin.presence(session, activity.id),
        # The JSON API's scan endpoint (events_api), which takes this page's signed-in session or device cookie.
        scan_url=f"{request.script_root}{API_PREFIX}/activities/{activity.id}/scans",
    )
