"""Pages of social-work management: my grade, follow-ups, grade histories and overrides, supervision sessions, the index."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from flask import Blueprint, Response, abort, render_template, request, stream_with_context
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from sqlalchemy import select

from timebank.auth.login import current_actor, now, requires
from timebank.exports import views as exports
from timebank.grading import exports as index_exports
from timebank.grading import index, rules, services, supervision
from timebank.grading.index import INDICATOR_NAMES, Month
from timebank.grading.schemas import FollowUpSchema, OverrideSchema
from timebank.localtime import local, local_day
from timebank.orgs.management import managed_tree
from timebank.orgs.services import home_policy, tree
from timebank.people.access import CARERS, MANAGERS
from timebank.people.models import Person, Role
from timebank.people.services import get_person, load
from timebank.spreadsheets import csv_chunks
from timebank.web import db_session, done, form_data, submit

bp = Blueprint("grading", __name__, url_prefix="/grading")

KINDS = {"volunteers": services.VOLUNTEER, "teams": services.TEAM}
METHOD_NAMES = {"phone": "Phone call", "visit": "Home visit", "message": "Message"}
OUTCOME_NAMES = {
    "reached": "Reached, all well", "will_return": "Will come back to serve", "paused": "Pausing for now",
    "left": "Has left the programme", "unreachable": "Could not be reached",
}


@bp.app_template_filter("colour_name")
def colour_name(colour: str) -> str:
    """A colour's name in the reader's language."""
    return gettext(rules.COLOUR_NAMES.get(colour, colour))


@bp.app_template_filter("local_minute")
def local_minute(moment: dt.datetime) -> str:
    """"2026-11-20 10:00", Asia/Shanghai."""
    return local(moment).strftime("%Y-%m-%d %H:%M")


@bp.app_template_global("grade_explanation")
def grade_explanation(grade: Any) -> str:
    """A grade's figures in the reader's language."""
    return rules.explain(services.figures(grade), gettext)


# -- a volunteer's own grade -----------------------------------------------------------------------


def my_grade() -> dict[str, Any]:
    """The signed-in person's grade with a gentle word and what would move it up (page and API alike)."""
    session = db_session()
    person = get_person(session, current_actor().id)
    grade = services.grade_of(session, person.id)
    if grade is None:
        return {"grade": None, "word": None, "next_step": None}
    step = rules.next_step(grade.colour, services.figures(grade), home_policy(session, person), gettext)
    return {"grade": grade, "word": gettext(rules.COLOUR_WORDS[grade.colour]), "next_step": step}


@bp.get("/me")
@requires()
def mine() -> ResponseReturnValue:
    """我的等级: my colour, kindly put, the next step up, and how it went before."""
    earlier = services.history(db_session(), current_actor().id, limit=12)[1:]
    return render_template("grading/mine.html", earlier=earlier, **my_grade())


# -- grades of the subtree, histories, overrides, follow-ups ------------------------------------------


@bp.get("/")
@requires(*MANAGERS)
def organisations() -> ResponseReturnValue:
    """Each organisation of the coordinator's subtree with its volunteers per colour, and a button to grade now."""
    session = db_session()
    rows = [(o, depth, services.current_grades(session, [o.id])) for o, depth in managed_tree(session, actor=current_actor())]
    return render_template("grading/organisations.html", rows=rows)


@bp.post("/run")
@requires(*MANAGERS)
def regrade() -> ResponseReturnValue:
    """Grade a subtree now (the nightly run does the same for everyone)."""
    organisation_id = request.form.get("organisation_id", type=int)
    if organisation_id is None:
        abort(400)
    counts = services.regrade(db_session(), organisation_id, actor=current_actor(), now=now())
    return done(gettext("Graded now: %(green)s green, %(blue)s blue, %(yellow)s yellow, %(red)s red.", **counts), "grading.organisations")


def _subject_page(kind: str, subject_id: int) -> dict[str, Any]:
    session, actor = db_session(), current_actor()
    subject_type = KINDS[kind]
    organisation = services.subject_organisation(session, subject_type, subject_id)
    actor.require(CARERS, organisation)
    name = organisation.name if subject_type == services.TEAM else get_person(session, subject_id).real_name
    follow_ups = services.follow_ups_of(session, subject_id) if subject_type == services.VOLUNTEER else []
    return {
        "kind": kind, "subject_id": subject_id, "name": name, "grades": services.history(session, subject_id, subject_type=subject_type),
        "may_override": actor.may(MANAGERS, organisation), "follow_ups": follow_ups, "colours": [(c, colour_name(c)) for c in rules.ORDER],
        "methods": [(k, gettext(v)) for k, v in METHOD_NAMES.items()], "outcomes": [(k, gettext(v)) for k, v in OUTCOME_NAMES.items()],
        "method_names": METHOD_NAMES, "outcome_names": OUTCOME_NAMES,
    }


@bp.get("/<any(volunteers, teams):kind>/<int:subject_id>")
@requires(*CARERS)
def subject(kind: str, subject_id: int) -> ResponseReturnValue:
    """A volunteer's or team's grade history: each period of one colour, its figures, overrides and follow-ups."""
    return render_template("grading/subject.html", **_subject_page(kind, subject_id))


@bp.post("/<any(volunteers, teams):kind>/<int:subject_id>/override")
@requires(*MANAGERS)
def override(kind: str, subject_id: int) -> ResponseReturnValue:
    """A coordinator sets the colour that stands, with a reason (audited)."""
    def act() -> ResponseReturnValue:
        values = load(OverrideSchema(), form_data())
        services.override_grade(db_session(), KINDS[kind], subject_id, values["colour"], values["reason"], actor=current_actor(), now=now())
        return done(gettext("The colour is set; it stands until the computed colour changes."), "grading.subject", kind=kind, subject_id=subject_id)

    return submit(act, template="grading/subject.html", **_subject_page(kind, subject_id))


@bp.get("/follow-ups")
@requires(*CARERS)
def follow_ups() -> ResponseReturnValue:
    """回访: yellow and red volunteers to call back, oldest first."""
    items = services.follow_up_list(db_session(), current_actor(), now=now())
    return render_template("grading/follow_ups.html", items=items)


@bp.post("/volunteers/<int:subject_id>/follow-ups")
@requires(*CARERS)
def record_follow_up(subject_id: int) -> ResponseReturnValue:
    """Record a call back: how, what came of it, notes."""
    def act() -> ResponseReturnValue:
        values = load(FollowUpSchema(), form_data())
        services.record_follow_up(db_session(), subject_id, values, actor=current_actor(), now=now())
        return done(gettext("Follow-up recorded."), "grading.subject", kind="volunteers", subject_id=subject_id)

    return submit(act, template="grading/subject.html", **_subject_page("volunteers", subject_id))


# -- supervision sessions ----------------------------------------------------------------------------


def _supervision_page() -> dict[str, Any]:
    session, actor = db_session(), current_actor()
    found = supervision.sessions_for(session, actor=actor)
    paths = actor.paths(supervision.SUPERVISORS)
    teams = [(o.id, o.name) for o in tree(session, root_paths=paths) if o.level == "team"] if paths else []
    attendees = supervision.attendees(session, [s.id for s in found])
    people = {p.id: p.real_name for p in session.scalars(select(Person).where(Person.id.in_({i for ids in attendees.values() for i in ids})))}
    return {
        "sessions": found, "attendees": attendees, "names": people, "teams": teams, "may_record": actor.has(Role.SOCIAL_WORKER),
        "volunteers": [(p.id, p.real_name) for p in supervision.supervisable(session, actor=actor)],
    }


@bp.get("/supervision")
@requires(*CARERS)
def supervision_sessions() -> ResponseReturnValue:
    """督导记录: sessions held, and the form to record one."""
    return render_template("grading/supervision.html", **_supervision_page())


@bp.post("/supervision")
@requires(Role.SOCIAL_WORKER)
def record_supervision() -> ResponseReturnValue:
    """Record a supervision session; its attendees are credited the time as training."""
    def act() -> ResponseReturnValue:
        supervision.record_supervision(db_session(), form_data(lists=("volunteer_ids",)), actor=current_actor(), now=now())
        return done(gettext("Supervision session recorded: it counts as training on each attendee's record."), "grading.supervision_sessions")

    return submit(act, template="grading/supervision.html", **_supervision_page())


# -- the supervision index ----------------------------------------------------------------------------

#: The trend's size in the SVG's own units; the browser scales it to the width.
CHART_WIDTH, CHART_HEIGHT, CHART_PAD = 600, 160, 24


def trend_points(history: list[Any]) -> list[tuple[float, float, Any]]:
    """Each month's point on the server-drawn line: x, y (0 at the bottom, 100 at the top), the index."""
    if not history:
        return []
    step = (CHART_WIDTH - 2 * CHART_PAD) / max(1, len(history) - 1)
    usable = CHART_HEIGHT - 2 * CHART_PAD
    return [(CHART_PAD + i * step, CHART_PAD + usable * (1 - h.score / 100), h) for i, h in enumerate(history)]


@bp.get("/index")
@requires(Role.SOCIAL_WORKER, *MANAGERS)
def my_index() -> ResponseReturnValue:
    """A social worker's own index; a coordinator without social work goes to the side-by-side view."""
    actor = current_actor()
    if not actor.has(Role.SOCIAL_WORKER):
        return team_index()
    return social_worker_index(actor.id)


@bp.get("/index/<int:person_id>")
@requires(Role.SOCIAL_WORKER, *MANAGERS)
def social_worker_index(person_id: int) -> ResponseReturnValue:
    """One social worker's index: this month's breakdown, the 12-month trend (chart and table), what to improve."""
    session = db_session()
    person = index.visible_social_worker(session, person_id, actor=current_actor())
    history = index.index_history(session, person.id, months=12)
    current = history[-1] if history else None
    return render_template(
        "grading/index.html", person=person, history=history, current=current, points=trend_points(history),
        breakdown=index.indicators(current) if current else [], names=INDICATOR_NAMES,
        chart=(CHART_WIDTH, CHART_HEIGHT, CHART_PAD),
    )


def _months() -> list[Month]:
    this = Month.of(local_day(now()))
    return [this.back(n) for n in range(5, -1, -1)]


@bp.get("/index/team")
@requires(*MANAGERS)
def team_index() -> ResponseReturnValue:
    """The social workers of the coordinator's subtree side by side, month by month."""
    months = _months()
    rows = index.side_by_side(db_session(), actor=current_actor(), months=months)
    return render_template("grading/index_team.html", months=months, rows=rows, start=months[0].first, end=months[-1].last)


@bp.get("/index/export.csv")
@requires(*MANAGERS)
def index_csv() -> ResponseReturnValue:
    """The indices of the period as CSV (UTF-8 with BOM), each indicator's score beside the total."""
    months = _months()
    start = request.args.get("start", type=dt.date.fromisoformat) or months[0].first
    end = request.args.get("end", type=dt.date.fromisoformat) or months[-1].last
    rows = index_exports.index_rows(db_session(), current_actor(), start, end)
    lines = csv_chunks(itertools.chain([next(rows)], rows))
    return Response(stream_with_context(lines), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": "attachment; filename=supervision-index.csv"})


@bp.post("/index/export.xlsx")
@requires(*MANAGERS)
def index_xlsx() -> ResponseReturnValue:
    """Ask for the indices of the period as an Excel workbook (written in the background); then its page."""
    return exports.ask("supervision_index", form_data())

