"""JSON API of the workbench: the signed-in person's figures, and the coordinator's with their filters."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from timebank.auth.login import current_actor, current_person, now, requires
from timebank.openapi import api_blueprint, documented
from timebank.people.access import CARERS, MANAGERS
from timebank.people.models import Role
from timebank.people.services import load
from timebank.web import db_session
from timebank.workbench import programme as figures, services
from timebank.workbench.schemas import ProgrammeQuerySchema, ProgrammeSchema, WorkbenchSchema

bp = api_blueprint("workbench_api", __name__)


def programme_out(found: figures.Programme) -> dict[str, Any]:
    """The coordinator's figures as ProgrammeSchema dumps them."""
    scope = found.scope
    return {
        "organisation_id": scope.organisation.id if scope.organisation else None,
        "start": scope.start, "end": scope.end,
        "hours_by_month": [{"month": m, "minutes": found.hours_by_month.get(m, {})} for m in found.months],
        "total_minutes": found.total_minutes,
        "registered_volunteers": found.registered_volunteers,
        "active_volunteers": found.active_volunteers,
        "new_volunteers": found.new_volunteers,
        "new_by_month": [{"month": m, "count": found.new_by_month.get(m, 0)} for m in found.months],
        "needs": found.needs,
        "response_times": found.response_times,
        "grades": found.grades,
        "redemptions_by_month": [{"month": m, "count": c, "points": p} for m, (c, p) in found.redemptions_by_month.items()],
        "points_outstanding": found.points_outstanding,
        "certificates": found.certificates,
    }


def _volunteer_out(bench: services.VolunteerBench) -> dict[str, Any]:
    b = bench.balances
    return {
        "activities": [{"id": a.id, "title": a.title, "starts_at": a.starts_at, "signup": status} for a, status in bench.signups],
        "orders": [{"order_id": x.order_id, "category": x.order.category, "status": x.status, "window_start": x.order.window_start,
                    "respond_by": x.respond_by} for x in bench.assignments],
        "balances": {"hour_minutes": b.hours.posted, "points": b.points.posted, "certified_minutes": b.certified_minutes,
                     "star_level": b.star_level, "next_star_minutes": b.next_star_minutes, "star_progress": b.star_progress},
        "grade": bench.grade.colour if bench.grade else None,
    }


def _carer_out(bench: services.CarerBench) -> dict[str, Any]:
    return {
        "undecided": bench.undecided, "overdue_reviews": bench.overdue_reviews, "due_soon": bench.due_soon,
        "to_triage": bench.to_triage, "overdue_needs": bench.overdue_needs, "overdue_offers": bench.overdue_offers,
        "low_ratings": bench.low_ratings, "flagged_volunteers": bench.flagged_volunteers,
        "index_score": bench.index.score if bench.index else None, "index_month": bench.index.month if bench.index else None,
    }


def _system_out(bench: services.SystemBench) -> dict[str, Any]:
    return {"jobs": bench.jobs, "sealed": bench.seal.sealed if bench.seal else 0, "unsealed": bench.seal.unsealed if bench.seal else 0,
            "outbox_held": bench.outbox_held, "outbox_failed": bench.outbox_failed, "healthy": bench.healthy}


@bp.get("/workbench")
@documented(response=WorkbenchSchema)
@requires()
def mine() -> ResponseReturnValue:
    """The signed-in person's workbench: a section per role (the coordinator's with the default filters)."""
    session, actor, at = db_session(), current_actor(), now()
    body: dict[str, Any] = {"sections": services.sections(actor),
                            "volunteer": _volunteer_out(services.volunteer_bench(session, current_person(), now=at))}
    if actor.has(*CARERS):
        body["social_worker"] = _carer_out(services.carer_bench(session, actor=actor, now=at))
    if actor.has(*MANAGERS):
        body["coordinator"] = programme_out(figures.programme(session, figures.programme_scope(session, actor=actor, now=at)))
    if actor.has(Role.ADMIN):
        body["admin"] = _system_out(services.system_bench(session))
    return jsonify(WorkbenchSchema().dump(body))


@bp.get("/workbench/programme")
@documented(query=ProgrammeQuerySchema, response=ProgrammeSchema)
@requires(*MANAGERS)
def programme() -> ResponseReturnValue:
    """The coordinator's figures for an organisation within reach (404 outside it) and a range of local days."""
    session = db_session()
    query = load(ProgrammeQuerySchema(), request.args)
    scope = figures.programme_scope(session, actor=current_actor(), now=now(), **query)
    return jsonify(ProgrammeSchema().dump(programme_out(figures.programme(session, scope))))
