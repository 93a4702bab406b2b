"""The resources list (社会资源清单) and the service projects list (服务项目清单) of an organisation subtree."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import false, or_, select
from sqlalchemy.orm import Session

from timebank.audit.services import apply_changes, record
from timebank.domain import InvalidInput, NotFound
from timebank.needs.models import Resource, ServiceProject
from timebank.needs.residents import NEED_STAFF
from timebank.needs.schemas import ProjectSchema, ResourceSchema
from timebank.orgs.models import Organisation
from timebank.orgs.services import get_organisation
from timebank.people.access import CARERS, Actor
from timebank.people.services import load

#: Who keeps the lists: social workers, coordinators, admins; every need staff member reads them.
EDITORS = CARERS


def related(a: Organisation, b: Organisation) -> bool:
    """Whether one organisation lies within the other (a street's partner serves its communities, and the reverse)."""
    return a.path.startswith(b.path) or b.path.startswith(a.path)


def _organisation(session: Session, organisation_id: int | None, *, actor: Actor) -> Organisation:
    try:
        organisation = get_organisation(session, organisation_id)
    except NotFound:
        raise InvalidInput(errors={"organisation_id": ["Choose the organisation."]}) from None
    actor.require(EDITORS, organisation)
    return organisation


def _within(model: type, actor: Actor, roles: tuple) -> Any:
    """A query of `model` rows whose organisation is in the actor's subtrees for `roles`."""
    paths = actor.paths(roles)
    return (
        select(model).join(Organisation, Organisation.id == model.organisation_id)
        .where(or_(*[Organisation.path.startswith(p) for p in paths]) if paths else false())
    )


def _editable(session: Session, model: type, record_id: int, *, actor: Actor) -> Any:
    row = session.get(model, record_id) if record_id else None
    if row is None:
        raise NotFound("Unknown record.")
    actor.require(EDITORS, get_organisation(session, row.organisation_id))
    return row


# -- resources ------------------------------------------------------------------------


def list_resources(session: Session, *, actor: Actor, active_only: bool = False) -> list[Resource]:
    """The resources of the actor's subtrees, and those of the organisations above them (which serve them too); by name."""
    paths = actor.paths(NEED_STAFF)
    if not paths:
        return []
    ancestors = {int(part) for p in paths for part in p.strip("/").split("/") if part}
    stmt = select(Resource).join(Organisation, Organisation.id == Resource.organisation_id).where(
        or_(*[Organisation.path.startswith(p) for p in paths], Resource.organisation_id.in_(ancestors))
    )
    if active_only:
        stmt = stmt.where(Resource.active.is_(True))
    return list(session.scalars(stmt.order_by(Resource.active.desc(), Resource.name, Resource.id)))


def managed_resource(session: Session, resource_id: int, *, actor: Actor) -> Resource:
    """A resource the actor may edit (404 or 403 otherwise)."""
    return _editable(session, Resource, resource_id, actor=actor)


def create_resource(session: Session, data: Mapping[str, Any], *, actor: Actor, now: dt.datetime) -> Resource:
    """A new entry of the resources list."""
    values = load(ResourceSchema(), data)
    _organisation(session, values["organisation_id"], actor=actor)
    resource = Resource(**values, active=True, created_at=now, created_by=actor.id)
    session.add(resource)
    session.flush()
    record(session, actor=actor.id, action="create_resource", target=("resource", resource.id), changes={"name": [None, resource.name]}, now=now)
    return resource


def update_resource(session: Session, resource_id: int, data: Mapping[str, Any], *, actor: Actor, now: dt.datetime) -> Resource:
    """Change a resource; only the fields sent change."""
    resource = managed_resource(session, resource_id, actor=actor)
    values = load(ResourceSchema(), data, partial=True)
    if "organisation_id" in values:
        _organisation(session, values["organisation_id"], actor=actor)
    changes = apply_changes(resource, values)
    if changes:
        record(session, actor=actor.id, action="update_resource", target=("resource", resource.id), changes=changes, now=now)
    return resource


def set_resource_active(session: Session, resource_id: int, active: bool, *, actor: Actor, now: dt.datetime) -> Resource:
    """Deactivate a resource (no new referrals go to it) or bring it back."""
    resource = managed_resource(session, resource_id, actor=actor)
    changes = apply_changes(resource, {"active": active})
    if changes:
        record(session, actor=actor.id, action="update_resource", target=("resource", resource.id), changes=changes, now=now)
    return resource


# -- service projects ----------------------------------------------------------------------


def list_projects(session: Session, *, actor: Actor) -> list[ServiceProject]:
    """The service projects of the actor's subtrees: running ones first, by name."""
    stmt = _within(ServiceProject, actor, NEED_STAFF)
    return list(session.scalars(stmt.order_by(ServiceProject.active.desc(), ServiceProject.name, ServiceProject.id)))


def managed_project(session: Session, project_id: int, *, actor: Actor) -> ServiceProject:
    """A service project the actor may edit (404 or 403 otherwise)."""
    return _editable(session, ServiceProject, project_id, actor=actor)


def _checked_project(session: Session, values: dict[str, Any], *, actor: Actor) -> dict[str, Any]:
    if "organisation_id" in values:
        _organisation(session, values["organisation_id"], actor=actor)
    if values.get("resource_id") is not None and session.get(Resource, values["resource_id"]) is None:
        raise InvalidInput(errors={"resource_id": ["Choose the resource."]})
    return values


def create_project(session: Session, data: Mapping[str, Any], *, actor: Actor, now: dt.datetime) -> ServiceProject:
    """A new entry of the service projects list."""
    values = _checked_project(session, load(ProjectSchema(), data), actor=actor)
    project = ServiceProject(**values, created_at=now, created_by=actor.id)
    session.add(project)
    session.flush()
    record(session, actor=actor.id, action="create_service_project", target=("service_project", project.id), changes={"name": [None, project.name]}, now=now)
    return project


def update_project(session: Session, project_id: int, data: Mapping[str, Any], *, actor: Actor, now: dt.datetime) -> ServiceProject:
    """Change a service project; only the fields sent change (the ending date is checked against the whole record)."""
    project = managed_project(session, project_id, actor=actor)
    current = {"starts_on": project.starts_on, "ends_on": project.ends_on}
    values = _checked_project(session, load(ProjectSchema(), data, partial=True), actor=actor)
    starts, ends = values.get("starts_on", current["starts_on"]), values.get("ends_on", current["ends_on"])
    if starts and ends and ends < starts:
        raise InvalidInput(errors={"ends_on": ["The end comes before the start."]})
    changes = apply_changes(project, values)
    if changes:
        record(session, actor=actor.id, action="update_service_project", target=("service_project", project.id), changes=changes, now=now)
    return project
