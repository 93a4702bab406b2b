"""The workbench (工作台): each role's landing page after sign-in, and the coordinator's monthly report."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_date, gettext, lazy_gettext

from timebank.auth.login import current_actor, current_person, now, requires
from timebank.categories import SERVICE_CATEGORIES
from timebank.domain import InvalidInput
from timebank.localtime import local_day, moment_text
from timebank.orgs.services import tree
from timebank.people.access import MANAGERS, Actor
from timebank.people.models import Role
from timebank.people.services import load
from timebank.web import db_session, translated_errors
from timebank.workbench import charts, programme as figures, report, services
from timebank.workbench.schemas import ProgrammeQuerySchema, ReportQuerySchema

bp = Blueprint("workbench", __name__)

L = lazy_gettext
COLOUR_NAMES = {"red": L("Red (urgent)"), "yellow": L("Yellow (priority)"), "blue": L("Blue (routine)"), "green": L("Green (closed)")}
GRADE_NAMES = {"green": L("Green"), "blue": L("Blue"), "yellow": L("Yellow"), "red": L("Red")}
NEED_STATE_NAMES = {
    "recorded": L("Waiting for triage"), "ordered": L("Ordered"), "in_activity": L("In an activity"), "referred": L("Referred"),
    "declined": L("Declined"), "served": L("Served"), "closed": L("Closed"), "cancelled": L("Cancelled"),
}


ASSIGNMENT_STATES = {"offered": L("Offered to you"), "accepted": L("Accepted"), "started": L("Under way")}


@bp.context_processor
def labels() -> dict[str, Any]:
    """How the workbench's templates name times, colours and states, and which links this app has."""
    at = now()
    return {
        "when": lambda moment: moment_text(moment, at),
        "grade_name": lambda colour: str(GRADE_NAMES.get(colour, colour)),
        "need_colour": lambda colour: str(COLOUR_NAMES.get(colour, colour)),
        "assignment_state": lambda status: str(ASSIGNMENT_STATES.get(status, status)),
        "links": current_app.view_functions,
    }


def counter_home(actor: Actor) -> str:
    """Where station staff work: their station's counter, or the list when they staff several."""
    stations = sorted(actor.stations())
    if len(stations) == 1:
        return url_for("redeem.counter_page", station_id=stations[0])
    return url_for("redeem.index")


def landing(actor: Actor) -> str:
    """Where a person lands after signing in: the counter for station staff only, the workbench for everyone else."""
    if services.sections(actor)[0] == Role.STATION_STAFF:
        return counter_home(actor)
    return url_for("workbench.index")


def month_label(month: str) -> str:
    """`2026-11` as a short tick in the reader's language: `11月`, `Nov`."""
    return format_date(dt.date(int(month[:4]), int(month[5:]), 1), "MMM")


def programme_charts(found: figures.Programme) -> list[charts.Chart]:
    """The coordinator's charts, each with its table."""
    months = found.months
    ticks = [month_label(m) for m in months]
    categories = found.categories
    hours = charts.stacked_columns(
        "hours", gettext("Approved service hours per month"), months,
        [(SERVICE_CATEGORIES.get(c, c), [found.hours_by_month.get(m, {}).get(c, 0) / 60 for m in months]) for c in categories],
        unit=gettext("hours"), tick_labels=ticks,
    )
    new = charts.line("new", gettext("New volunteers per month"), months, [found.new_by_month.get(m, 0) for m in months],
                      unit=gettext("people"), tick_labels=ticks)
    states = [s for s in figures.NEED_STATES if any(found.needs.get(c, {}).get(s, 0) for c in figures.COLOURS)]
    needs = charts.bars(
        "needs", gettext("Needs recorded, by colour"),
        [(str(COLOUR_NAMES[c]), sum(found.needs.get(c, {}).values())) for c in figures.COLOURS],
        colours=[charts.SIGNAL[c] for c in figures.COLOURS],
        table=(("", *(str(NEED_STATE_NAMES[s]) for s in states), "∑"),
               tuple((str(COLOUR_NAMES[c]), *(found.needs.get(c, {}).get(s, 0) for s in states), sum(found.needs.get(c, {}).values()))
                     for c in figures.COLOURS)),
    )
    grades = charts.strip("grades", gettext("Volunteers by grade"),
                          [(str(GRADE_NAMES[c]), found.grades.get(c, 0), charts.SIGNAL[c]) for c in figures.GRADE_COLOURS])
    redemptions = charts.stacked_columns(
        "redemptions", gettext("Points redeemed per month"), months,
        [(gettext("Points"), [found.redemptions_by_month.get(m, (0, 0))[1] for m in months])], tick_labels=ticks, colours=(charts.PALETTE[1],),
    )
    waits = [r for r in found.response_times if r.median_hours is not None]
    response = charts.bars(
        "response", gettext("Median hours to triage"), [(str(COLOUR_NAMES[r.colour]), r.median_hours or 0) for r in waits],
        colours=[charts.SIGNAL[r.colour] for r in waits], value_text=[f"{r.median_hours:.1f} h" for r in waits],
    ) if waits else None
    return [c for c in (hours, new, needs, response, grades, redemptions) if c is not None]


def _programme_section(session: Any, actor: Actor) -> dict[str, Any]:
    """The coordinator's filters and figures; refused filters show their problem and the default figures."""
    errors, message = {}, None
    try:
        query = load(ProgrammeQuerySchema(), request.args)
        scope = figures.programme_scope(session, actor=actor, now=now(), **query)
    except InvalidInput as exc:
        errors, message = translated_errors(exc.errors), gettext(exc.template, **exc.params)
        scope = figures.programme_scope(session, actor=actor, now=now())
    found = figures.programme(session, scope)
    organisations = [o for o in tree(session, root_paths=actor.paths(MANAGERS)) if o.level != "team"]
    return {"programme": found, "charts": programme_charts(found), "organisations": organisations,
            "filter_errors": errors, "filter_message": message, "this_month": f"{local_day(now()):%Y-%m}"}


@bp.get("/workbench")
@requires()
def index() -> ResponseReturnValue:
    """Each of the person's roles' sections, most senior first; station staff go straight to their counter."""
    session, actor, person, at = db_session(), current_actor(), current_person(), now()
    sections = services.sections(actor)
    if sections[0] == Role.STATION_STAFF:
        return redirect(counter_home(actor))
    context: dict[str, Any] = {"sections": sections, "volunteer": services.volunteer_bench(session, person, now=at)}
    if Role.STATION_STAFF in sections:
        context["counter_home"] = counter_home(actor)
    if Role.ADMIN in sections:
        context["system"] = services.system_bench(session)
    if Role.SOCIAL_WORKER in sections or Role.COORDINATOR in sections or Role.ADMIN in sections:
        context["carer"] = services.carer_bench(session, actor=actor, now=at)
    if actor.paths(MANAGERS):
        context.update(_programme_section(session, actor))
    return render_template("workbench/index.html", now=at, **context)


def _report_scope() -> tuple[figures.Scope, str]:
    query = load(ReportQuerySchema(), request.args)
    month = query["month"] or f"{local_day(now()):%Y-%m}"
    start = dt.date(int(month[:4]), int(month[5:]), 1)
    end = (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    scope = figures.programme_scope(db_session(), actor=current_actor(), now=now(), organisation_id=query["organisation_id"],
                                    start=start, end=end)
    return scope, month


@bp.get("/workbench/report.pdf")
@requires(*MANAGERS)
def report_pdf() -> ResponseReturnValue:
    """The monthly report for the street or district office, as PDF."""
    scope, month = _report_scope()
    data = report.monthly_pdf(report.monthly(db_session(), scope, now=now()))
    return Response(data, mimetype="application/pdf", headers=report.download_headers(scope, month, "pdf"))


@bp.get("/workbench/report.xlsx")
@requires(*MANAGERS)
def report_xlsx() -> ResponseReturnValue:
    """The monthly report as a workbook."""
    scope, month = _report_scope()
    data = report.monthly_xlsx(report.monthly(db_session(), scope, now=now()))
    return Response(data, mimetype=report.XLSX, headers=report.download_headers(scope, month, "xlsx"))
