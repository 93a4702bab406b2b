"""JSON API of social-work management: grades, overrides, follow-ups, grading runs, supervision sessions, the index."""

from __future__ import annotations

import datetime as dt

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from marshmallow import Schema, fields, validate

from timebank.auth.login import current_actor, now, requires
from timebank.grading import index, services, supervision
from timebank.grading.schemas import (
    FollowUpOutSchema, FollowUpSchema, GradeOutSchema, IndexOutSchema, MyGradeSchema, OverrideSchema, RegradeSchema,
    SupervisionOutSchema, SupervisionSchema, WaitingSchema,
)
from timebank.grading.views import my_grade
from timebank.localtime import local_day
from timebank.openapi import api_blueprint, documented, json_body
from timebank.people.access import CARERS, MANAGERS
from timebank.people.models import Role
from timebank.people.services import load
from timebank.web import db_session

bp = api_blueprint("grading_api", __name__)


class CountsSchema(Schema):
    """Volunteers per colour after a grading run."""

    green = fields.Integer()
    blue = fields.Integer()
    yellow = fields.Integer()
    red = fields.Integer()


class IndexQuerySchema(Schema):
    """How many months of history."""

    months = fields.Integer(load_default=12, validate=validate.Range(min=1, max=60, error="Choose between 1 and 60 months."))


class MonthQuerySchema(Schema):
    """Which month (its first day, or any day in it); default: this month."""

    month = fields.Date(load_default=None)


class SideBySideSchema(Schema):
    """A social worker and their index of the month (null: not computed)."""

    social_worker_id = fields.Integer()
    name = fields.String()
    index = fields.Nested(IndexOutSchema, allow_none=True)


@bp.get("/me/grade")
@documented(response=MyGradeSchema)
@requires()
def mine() -> ResponseReturnValue:
    """The signed-in volunteer's grade (null if not graded yet), a gentle word and what would move it up."""
    return jsonify(MyGradeSchema().dump(my_grade()))


@bp.get("/people/<int:person_id>/grades")
@documented(response=GradeOutSchema, many=True)
@requires()
def person_grades(person_id: int) -> ResponseReturnValue:
    """A volunteer's grade history, newest first (themself, or their social workers and coordinators)."""
    found = services.visible_grades(db_session(), services.VOLUNTEER, person_id, actor=current_actor())
    return jsonify(GradeOutSchema(many=True).dump(found))


@bp.get("/teams/<int:team_id>/grades")
@documented(response=GradeOutSchema, many=True)
@requires(*CARERS)
def team_grades(team_id: int) -> ResponseReturnValue:
    """A team's grade history, newest first."""
    return jsonify(GradeOutSchema(many=True).dump(services.visible_grades(db_session(), services.TEAM, team_id, actor=current_actor())))


def _override(subject_type: str, subject_id: int) -> ResponseReturnValue:
    services.reach(db_session(), subject_type, subject_id, MANAGERS, actor=current_actor())  # 404 before 422
    values = load(OverrideSchema(), json_body())
    grade = services.override_grade(db_session(), subject_type, subject_id, values["colour"], values["reason"], actor=current_actor(), now=now())
    db_session().commit()
    return jsonify(GradeOutSchema().dump(grade))


@bp.post("/people/<int:person_id>/grade-override")
@documented(body=OverrideSchema, response=GradeOutSchema)
@requires(*MANAGERS)
def override_person(person_id: int) -> ResponseReturnValue:
    """Set the colour that stands for a volunteer, with a reason (audited); it stands until the computed colour changes."""
    return _override(services.VOLUNTEER, person_id)


@bp.post("/teams/<int:team_id>/grade-override")
@documented(body=OverrideSchema, response=GradeOutSchema)
@requires(*MANAGERS)
def override_team(team_id: int) -> ResponseReturnValue:
    """Set the colour that stands for a team, with a reason (audited)."""
    return _override(services.TEAM, team_id)


@bp.post("/grading-runs")
@documented(body=RegradeSchema, response=CountsSchema)
@requires(*MANAGERS)
def run() -> ResponseReturnValue:
    """Grade a subtree now; the counts per colour."""
    organisation_id = load(RegradeSchema(), json_body())["organisation_id"]
    counts = services.regrade(db_session(), organisation_id, actor=current_actor(), now=now())
    db_session().commit()
    return jsonify(CountsSchema().dump(counts))


@bp.get("/follow-ups")
@documented(response=WaitingSchema, many=True)
@requires(*CARERS)
def waiting() -> ResponseReturnValue:
    """Yellow and red volunteers to call back, oldest first."""
    return jsonify(WaitingSchema(many=True).dump(services.follow_up_list(db_session(), current_actor(), now=now())))


@bp.post("/people/<int:person_id>/follow-ups")
@documented(body=FollowUpSchema, response=FollowUpOutSchema, status=201)
@requires(*CARERS)
def follow_up(person_id: int) -> ResponseReturnValue:
    """Record a follow-up of a volunteer."""
    services.reach(db_session(), services.VOLUNTEER, person_id, CARERS, actor=current_actor())  # 404 before 422
    values = load(FollowUpSchema(), json_body())
    found = services.record_follow_up(db_session(), person_id, values, actor=current_actor(), now=now())
    db_session().commit()
    return jsonify(FollowUpOutSchema().dump(found)), 201


def _session_out(found) -> dict:
    out = SupervisionOutSchema().dump(found)
    out["volunteer_ids"] = supervision.attendees(db_session(), [found.id])[found.id]
    return out


@bp.get("/supervision-sessions")
@documented(response=SupervisionOutSchema, many=True)
@requires(*CARERS)
def sessions() -> ResponseReturnValue:
    """Sessions the actor recorded and those of the subtrees they coordinate, newest first."""
    found = supervision.sessions_for(db_session(), actor=current_actor())
    attendees = supervision.attendees(db_session(), [s.id for s in found])
    return jsonify([{**SupervisionOutSchema().dump(s), "volunteer_ids": attendees[s.id]} for s in found])


@bp.post("/supervision-sessions")
@documented(body=SupervisionSchema, response=SupervisionOutSchema, status=201)
@requires(Role.SOCIAL_WORKER)
def record_session() -> ResponseReturnValue:
    """Record a supervision session; each attendee is credited its minutes as training (their record's art. 8 line)."""
    found = supervision.record_supervision(db_session(), json_body(), actor=current_actor(), now=now())
    db_session().commit()
    return jsonify(_session_out(found)), 201


@bp.get("/supervision-sessions/<int:session_id>")
@documented(response=SupervisionOutSchema)
@requires(*CARERS)
def session_detail(session_id: int) -> ResponseReturnValue:
    """One supervision session."""
    return jsonify(_session_out(supervision.visible_session(db_session(), session_id, actor=current_actor())))


@bp.get("/social-workers/<int:person_id>/index")
@documented(query=IndexQuerySchema, response=IndexOutSchema, many=True)
@requires(Role.SOCIAL_WORKER, *MANAGERS)
def index_of(person_id: int) -> ResponseReturnValue:
    """A social worker's stored monthly indices, oldest first (themself, or a coordinator over them)."""
    months = load(IndexQuerySchema(), request.args)["months"]
    person = index.visible_social_worker(db_session(), person_id, actor=current_actor())
    return jsonify(IndexOutSchema(many=True).dump(index.index_history(db_session(), person.id, months=months)))


@bp.get("/supervision-index")
@documented(query=MonthQuerySchema, response=SideBySideSchema, many=True)
@requires(Role.SOCIAL_WORKER, *MANAGERS)
def side_by_side() -> ResponseReturnValue:
    """The month's index of each social worker the actor may see (a social worker: only their own)."""
    day = load(MonthQuerySchema(), request.args)["month"] or local_day(now())
    month = index.Month.of(day if isinstance(day, dt.date) else local_day(now()))
    rows = index.side_by_side(db_session(), actor=current_actor(), months=[month])
    return jsonify(SideBySideSchema(many=True).dump(
        [{"social_worker_id": p.id, "name": p.real_name, "index": found.get(month.first)} for p, found in rows]
    ))
