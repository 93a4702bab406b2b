"""JSON API for residents' needs (点单), triage (社工介入), residents, the resources list and the service projects list."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from timebank.auth.login import current_actor, limiter, now, requires
from timebank.needs import lists, residents, resources, services, triage
from timebank.needs.models import Need, Resident
from timebank.needs.residents import NEED_STAFF, can_see_address
from timebank.needs.resources import EDITORS
from timebank.needs.schemas import (
    ActivityDecisionSchema,
    AssessmentSchema,
    NeedEventOutSchema,
    NeedOutSchema,
    NeedQuerySchema,
    NeedSchema,
    ProjectOutSchema,
    ProjectSchema,
    NeedReasonSchema,
    ReferralSchema,
    ResidentOutSchema,
    ResidentQuerySchema,
    ResidentSchema,
    ResourceOutSchema,
    ResourceSchema,
)
from timebank.needs.services import TRIAGERS
from timebank.needs.views import PUBLIC_FORM_LIMIT, signed_in_actor
from timebank.openapi import api_blueprint, documented, json_body
from timebank.people.services import load
from timebank.web import db_session

bp = api_blueprint("needs_api", __name__)


def _need(need: Need) -> dict[str, Any]:
    """A need as the caller may see it: the address only for those who may read the resident's."""
    actor = signed_in_actor()
    shown = NeedOutSchema().dump(need)
    shown["address"] = (need.address or need.resident.address) if can_see_address(db_session(), actor, need.resident) else None
    if actor is None:
        # Signed out, the phone typed in may be someone else's: whose record it found is not told.
        shown["resident_name"] = None
    shown["status_text"] = str(lists.STATUS_NAMES.get(need.status, need.status))
    shown["overdue"] = services.is_overdue(need, now())
    return shown


def _resident(resident: Resident) -> dict[str, Any]:
    shown = ResidentOutSchema().dump(resident)
    if not can_see_address(db_session(), signed_in_actor(), resident):
        shown["address"] = None
    return shown


def _changed(action: Any, need_id: int, body: dict[str, Any] | None = None) -> ResponseReturnValue:
    """Run one change of a need, commit, and answer the need as it now stands."""
    need = action(db_session(), need_id, json_body() if body is None else body, actor=current_actor(), now=now())
    db_session().commit()
    return jsonify(_need(need))


# -- needs --------------------------------------------------------------------------------


@bp.post("/needs")
@documented(body=NeedSchema, response=NeedOutSchema, status=201)
@limiter.limit(PUBLIC_FORM_LIMIT, exempt_when=lambda: current_user.is_authenticated)
def record() -> ResponseReturnValue:
    """Record a need: signed out (found or recorded by phone in the community, consent required), for oneself, for family, or as staff (代点单)."""
    need = services.record_need(db_session(), json_body(), actor=signed_in_actor(), now=now())
    db_session().commit()
    return jsonify(_need(need)), 201


@bp.get("/needs")
@documented(query=NeedQuerySchema, response=NeedOutSchema, many=True)
@requires(*NEED_STAFF)
def index() -> ResponseReturnValue:
    """The needs of the actor's communities, filtered; overdue first."""
    filters = load(NeedQuerySchema(), request.args)
    return jsonify([_need(n) for n in lists.find_needs(db_session(), actor=current_actor(), filters=filters, now=now())])


@bp.get("/needs/mine")
@documented(response=NeedOutSchema, many=True)
@requires()
def mine() -> ResponseReturnValue:
    """The needs one asked for, for oneself or for family, newest first."""
    return jsonify([_need(n) for n in services.my_needs(db_session(), current_actor(), now=now())])


@bp.get("/needs/<int:need_id>")
@documented(response=NeedOutSchema)
@requires()
def detail(need_id: int) -> ResponseReturnValue:
    """One need, for staff of its community and for its requester."""
    return jsonify(_need(services.visible_need(db_session(), need_id, actor=current_actor())))


@bp.get("/needs/<int:need_id>/events")
@documented(response=NeedEventOutSchema, many=True)
@requires(*NEED_STAFF)
def events(need_id: int) -> ResponseReturnValue:
    """A need's history: every change, dated and attributed, oldest first."""
    session = db_session()
    need = services.staff_need(session, need_id, actor=current_actor())
    return jsonify(NeedEventOutSchema(many=True).dump(services.history(session, need.id)))


@bp.post("/needs/<int:need_id>/assessment")
@documented(body=AssessmentSchema, response=NeedOutSchema)
@requires(*TRIAGERS)
def assess(need_id: int) -> ResponseReturnValue:
    """Assess a need: notes, service category, difficulty 1–3 and colour (a new colour sets a new deadline)."""
    return _changed(triage.assess, need_id)


@bp.post("/needs/<int:need_id>/activity")
@documented(body=ActivityDecisionSchema, response=NeedOutSchema)
@requires(*TRIAGERS)
def fold(need_id: int) -> ResponseReturnValue:
    """Answer a need with an activity: `activity_id` of one of the subtree, or the fields of a new activity (a draft)."""
    return _changed(triage.fold_into_activity, need_id)


@bp.post("/needs/<int:need_id>/referral")
@documented(body=ReferralSchema, response=NeedOutSchema)
@requires(*TRIAGERS)
def refer(need_id: int) -> ResponseReturnValue:
    """Refer a need to an active entry of the resources list; the requester is told."""
    return _changed(triage.refer, need_id)


@bp.post("/needs/<int:need_id>/decline")
@documented(body=NeedReasonSchema, response=NeedOutSchema)
@requires(*TRIAGERS)
def decline(need_id: int) -> ResponseReturnValue:
    """Decline a need with a reason the requester reads (and is told of)."""
    return _changed(triage.decline, need_id)


@bp.post("/needs/<int:need_id>/close")
@documented(response=NeedOutSchema)
@requires(*TRIAGERS)
def close(need_id: int) -> ResponseReturnValue:
    """Close an answered need (已办结, green)."""
    return _changed(lambda s, i, _body, **kw: triage.close(s, i, **kw), need_id)


@bp.post("/needs/<int:need_id>/cancel")
@documented(body=NeedReasonSchema, response=NeedOutSchema)
@requires()
def cancel(need_id: int) -> ResponseReturnValue:
    """Cancel a need before any service, with a reason: whoever placed it, the resident, or a social worker."""
    return _changed(services.cancel_need, need_id)


# -- residents ---------------------------------------------------------------------------------


@bp.get("/residents")
@documented(query=ResidentQuerySchema, response=ResidentOutSchema, many=True)
@requires(*NEED_STAFF)
def residents_index() -> ResponseReturnValue:
    """Residents of the actor's communities, by name or phone fragment; newest first."""
    query = load(ResidentQuerySchema(), request.args)["q"]
    return jsonify([_resident(r) for r in residents.find_residents(db_session(), actor=current_actor(), query=query)])


@bp.post("/residents")
@documented(body=ResidentSchema, response=ResidentOutSchema, status=201)
@requires(*NEED_STAFF)
def resident_create() -> ResponseReturnValue:
    """Record a resident, with their consent to keep the data (`privacy_consent`)."""
    resident = residents.create_resident(db_session(), json_body(), actor=current_actor(), now=now())
    db_session().commit()
    return jsonify(_resident(resident)), 201


@bp.get("/residents/<int:resident_id>")
@documented(response=ResidentOutSchema)
@requires(*NEED_STAFF)
def resident(resident_id: int) -> ResponseReturnValue:
    """A resident's record."""
    return jsonify(_resident(residents.managed_resident(db_session(), resident_id, actor=current_actor())))


@bp.patch("/residents/<int:resident_id>")
@documented(body=ResidentSchema, response=ResidentOutSchema)
@requires(*NEED_STAFF)
def resident_update(resident_id: int) -> ResponseReturnValue:
    """Change a resident's record; only the fields sent change."""
    found = residents.update_resident(db_session(), resident_id, json_body(), actor=current_actor(), now=now())
    db_session().commit()
    return jsonify(_resident(found))


@bp.get("/residents/<int:resident_id>/needs")
@documented(response=NeedOutSchema, many=True)
@requires(*NEED_STAFF)
def resident_needs(resident_id: int) -> ResponseReturnValue:
    """A resident's needs, newest first."""
    session = db_session()
    found = residents.managed_resident(session, resident_id, actor=current_actor())
    return jsonify([_need(n) for n in services.needs_of_resident(session, found.id, now=now())])


# -- the resources list and the service projects list -----------------------------------------------


@bp.get("/resources")
@documented(response=ResourceOutSchema, many=True)
@requires(*NEED_STAFF)
def resources_index() -> ResponseReturnValue:
    """The resources list of the actor's subtrees (and of the organisations above them)."""
    return jsonify(ResourceOutSchema(many=True).dump(resources.list_resources(db_session(), actor=current_actor())))


@bp.post("/resources")
@documented(body=ResourceSchema, response=ResourceOutSchema, status=201)
@requires(*EDITORS)
def resource_create() -> ResponseReturnValue:
    """Add a partner to the resources list."""
    found = resources.create_resource(db_session(), json_body(), actor=current_actor(), now=now())
    db_session().commit()
    return jsonify(ResourceOutSchema().dump(found)), 201


@bp.patch("/resources/<int:resource_id>")
@documented(body=ResourceSchema, response=ResourceOutSchema)
@requires(*EDITORS)
def resource_update(resource_id: int) -> ResponseReturnValue:
    """Change a partner's entry; only the fields sent change."""
    found = resources.update_resource(db_session(), resource_id, json_body(), actor=current_actor(), now=now())
    db_session().commit()
    return jsonify(ResourceOutSchema().dump(found))


@bp.post("/resources/<int:resource_id>/deactivate")
@documented(response=ResourceOutSchema)
@requires(*EDITORS)
def resource_deactivate(resource_id: int) -> ResponseReturnValue:
    """Deactivate a partner: no new referrals go to it."""
    found = resources.set_resource_active(db_session(), resource_id, False, actor=current_actor(), now=now())
    db_session().commit()
    return jsonify(ResourceOutSchema().dump(found))


@bp.post("/resources/<int:resource_id>/activate")
@documented(response=ResourceOutSchema)
@requires(*EDITORS)
def resource_activate(resource_id: int) -> ResponseReturnValue:
    """Bring a deactivated partner back."""
    found = resources.set_resource_active(db_session(), resource_id, True, actor=current_actor(), now=now())
    db_session().commit()
    return jsonify(ResourceOutSchema().dump(found))


@bp.get("/service-projects")
@documented(response=ProjectOutSchema, many=True)
@requires(*NEED_STAFF)
def projects_index() -> ResponseReturnValue:
    """The service projects of the actor's subtrees."""
    return jsonify(ProjectOutSchema(many=True).dump(resources.list_projects(db_session(), actor=current_actor())))


@bp.post("/service-projects")
@documented(body=ProjectSchema, response=ProjectOutSchema, status=201)
@requires(*EDITORS)
def project_create() -> ResponseReturnValue:
    """Add a service project."""
    found = resources.create_project(db_session(), json_body(), actor=current_actor(), now=now())
    db_session().commit()
    return jsonify(ProjectOutSchema().dump(found)), 201


@bp.patch("/service-projects/<int:project_id>")
@documented(body=ProjectSchema, response=ProjectOutSchema)
@requires(*EDITORS)
def project_update(project_id: int) -> ResponseReturnValue:
    """Change a service project; only the fields sent change."""
    found = resources.update_project(db_session(), project_id, json_body(), actor=current_actor(), now=now())
    db_session().commit()
    return jsonify(ProjectOutSchema().dump(found))
