"""Staff pages of the needs blueprint: residents, the resources list (社会资源清单) and the service projects list (服务项目清单)."""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext

from timebank.auth.login import current_actor, now, requires
from timebank.localtime import local_day
from timebank.needs import residents, resources, services
from timebank.needs.models import BeneficiaryGroup, Resource, ServiceProject
from timebank.needs.residents import NEED_STAFF
from timebank.needs.resources import EDITORS
from timebank.needs.schemas import CATEGORIES
from timebank.needs.views import bp, community_choices
from timebank.categories import SERVICE_CATEGORIES
from timebank.orgs.services import tree
from timebank.web import db_session, done, form_data, submit

GROUP_NAMES = {
    BeneficiaryGroup.LIVING_ALONE.value: lazy_gettext("Living alone"),
    BeneficiaryGroup.OLD_AGE.value: lazy_gettext("Advanced age"),
    BeneficiaryGroup.DISABLED.value: lazy_gettext("Disabled"),
    BeneficiaryGroup.HARDSHIP.value: lazy_gettext("Family in hardship"),
    BeneficiaryGroup.LEFT_BEHIND_CHILD.value: lazy_gettext("Left-behind child"),
    BeneficiaryGroup.NEW_EMPLOYMENT.value: lazy_gettext("New forms of employment"),
}
KIND_NAMES = {
    "merchant": lazy_gettext("Partner merchant"),
    "organisation": lazy_gettext("Social organisation"),
    "charity": lazy_gettext("Charity"),
    "government": lazy_gettext("Government service"),
}


@bp.app_context_processor
def register_labels() -> dict[str, Any]:
    """Names of beneficiary groups and kinds of partner (the orders pages show them too)."""
    return {"group_name": lambda g: GROUP_NAMES.get(g, g), "resource_kind_name": lambda k: KIND_NAMES.get(k, k)}


def _organisations() -> list[tuple[int, str]]:
    """Organisations the actor may keep lists for, indented by depth."""
    paths = current_actor().paths(EDITORS)
    found = tree(db_session(), root_paths=paths) if paths else []
    top = min((o.path.count("/") for o in found), default=0)
    return [(o.id, "\u3000" * (o.path.count("/") - top) + o.name) for o in found]


# -- residents ------------------------------------------------------------------------------


def _resident_form(resident: Any = None) -> dict[str, Any]:
    return {"resident": resident, "communities": community_choices(current_actor()), "groups": list(GROUP_NAMES.items())}


@bp.get("/residents")
@requires(*NEED_STAFF)
def residents_index() -> ResponseReturnValue:
    """The residents of the actor's communities, by name or phone."""
    query = (request.args.get("q") or "").strip()[:50]
    found = residents.find_residents(db_session(), actor=current_actor(), query=query)
    return render_template("needs/residents.html", residents=found, q=query, today=local_day(now()))


@bp.route("/residents/new", methods=["GET", "POST"])
@requires(*NEED_STAFF)
def resident_new() -> ResponseReturnValue:
    """Record a resident, with their consent to keep the data."""
    context = _resident_form()
    if request.method == "GET":
        values = {"organisation_id": context["communities"][0][0]} if len(context["communities"]) == 1 else {}
        return render_template("needs/resident_form.html", values=values, **context)

    def create() -> ResponseReturnValue:
        resident = residents.create_resident(db_session(), form_data(lists=("groups",)), actor=current_actor(), now=now())
        return done(gettext("The resident has been recorded."), "needs.resident", resident_id=resident.id)

    return submit(create, template="needs/resident_form.html", values={}, **context)


@bp.get("/residents/<int:resident_id>")
@requires(*NEED_STAFF)
def resident(resident_id: int) -> ResponseReturnValue:
    """A resident: their record and their needs."""
    session = db_session()
    found = residents.managed_resident(session, resident_id, actor=current_actor())
    return render_template("needs/resident.html", resident=found, needs=services.needs_of_resident(session, found.id),
                           age=residents.age(found, local_day(now())))


@bp.route("/residents/<int:resident_id>/edit", methods=["GET", "POST"])
@requires(*NEED_STAFF)
def resident_edit(resident_id: int) -> ResponseReturnValue:
    """Change a resident's record."""
    found = residents.managed_resident(db_session(), resident_id, actor=current_actor())
    context = _resident_form(found)
    if request.method == "GET":
        values = {name: getattr(found, name) for name in ("real_name", "phone", "address", "organisation_id", "birth_date", "notes")}
        return render_template("needs/resident_form.html", values=values | {"groups": found.group_list}, **context)

    def save() -> ResponseReturnValue:
        residents.update_resident(db_session(), resident_id, form_data(lists=("groups",)), actor=current_actor(), now=now())
        return done(gettext("The resident's record has been saved."), "needs.resident", resident_id=resident_id)

    return submit(save, template="needs/resident_form.html", values={}, **context)


# -- the resources list ---------------------------------------------------------------------------


def _resource_form(resource: Resource | None = None) -> dict[str, Any]:
    return {"resource": resource, "organisations": _organisations(), "kinds": list(KIND_NAMES.items())}


@bp.get("/resources")
@requires(*NEED_STAFF)
def resources_index() -> ResponseReturnValue:
    """社会资源清单: partner merchants, organisations and charities, what each offers and whom to call."""
    actor = current_actor()
    return render_template("needs/resources.html", resources=resources.list_resources(db_session(), actor=actor), can_edit=actor.has(*EDITORS))


@bp.route("/resources/new", methods=["GET", "POST"])
@requires(*EDITORS)
def resource_new() -> ResponseReturnValue:
    """Add a partner to the resources list."""
    context = _resource_form()
    if request.method == "GET":
        return render_template("needs/resource_form.html", values={}, **context)

    def create() -> ResponseReturnValue:
        resources.create_resource(db_session(), form_data(), actor=current_actor(), now=now())
        return done(gettext("The resource has been added."), "needs.resources_index")

    return submit(create, template="needs/resource_form.html", values={}, **context)


@bp.route("/resources/<int:resource_id>/edit", methods=["GET", "POST"])
@requires(*EDITORS)
def resource_edit(resource_id: int) -> ResponseReturnValue:
    """Change a partner's entry."""
    found = resources.managed_resource(db_session(), resource_id, actor=current_actor())
    context = _resource_form(found)
    if request.method == "GET":
        fields = ("name", "kind", "offers", "contact_name", "contact_phone", "address", "organisation_id")
        return render_template("needs/resource_form.html", values={f: getattr(found, f) for f in fields}, **context)

    def save() -> ResponseReturnValue:
        resources.update_resource(db_session(), resource_id, form_data(), actor=current_actor(), now=now())
        return done(gettext("The resource has been saved."), "needs.resources_index")

    return submit(save, template="needs/resource_form.html", values={}, **context)


@bp.post("/resources/<int:resource_id>/active")
@requires(*EDITORS)
def resource_active(resource_id: int) -> ResponseReturnValue:
    """Deactivate a partner (no new referrals go to it), or bring it back."""
    active = request.form.get("active") == "yes"
    resources.set_resource_active(db_session(), resource_id, active, actor=current_actor(), now=now())
    return done(gettext("The resource is active again.") if active else gettext("The resource has been deactivated."), "needs.resources_index")


# -- the service projects list -------------------------------------------------------------------


def _project_form(project: ServiceProject | None = None) -> dict[str, Any]:
    partners = resources.list_resources(db_session(), actor=current_actor(), active_only=True)
    return {
        "project": project, "organisations": _organisations(), "resources": [(r.id, r.name) for r in partners],
        "categories": [(c, SERVICE_CATEGORIES[c]) for c in CATEGORIES],
    }


@bp.get("/projects")
@requires(*NEED_STAFF)
def projects_index() -> ResponseReturnValue:
    """服务项目清单: the standing services the programme runs."""
    actor = current_actor()
    found = resources.list_projects(db_session(), actor=actor)
    names = {r.id: r.name for r in resources.list_resources(db_session(), actor=actor)}
    return render_template("needs/projects.html", projects=found, resource_names=names, can_edit=actor.has(*EDITORS))


def _project_values() -> dict[str, Any]:
    data = form_data()
    data["active"] = "on" if data.get("active") else "off"
    return data


@bp.route("/projects/new", methods=["GET", "POST"])
@requires(*EDITORS)
def project_new() -> ResponseReturnValue:
    """Add a service project."""
    context = _project_form()
    if request.method == "GET":
        return render_template("needs/project_form.html", values={"active": True}, **context)

    def create() -> ResponseReturnValue:
        resources.create_project(db_session(), _project_values(), actor=current_actor(), now=now())
        return done(gettext("The service project has been added."), "needs.projects_index")

    return submit(create, template="needs/project_form.html", values={}, **context)


@bp.route("/projects/<int:project_id>/edit", methods=["GET", "POST"])
@requires(*EDITORS)
def project_edit(project_id: int) -> ResponseReturnValue:
    """Change a service project."""
    found = resources.managed_project(db_session(), project_id, actor=current_actor())
    context = _project_form(found)
    if request.method == "GET":
        fields = ("name", "category", "description", "resource_id", "starts_on", "ends_on", "active", "organisation_id")
        return render_template("needs/project_form.html", values={f: getattr(found, f) for f in fields}, **context)

    def save() -> ResponseReturnValue:
        resources.update_project(db_session(), project_id, _project_values(), actor=current_actor(), now=now())
        return done(gettext("The service project has been saved."), "needs.projects_index")

    return submit(save, template="needs/project_form.html", values={}, **context)
