"""The organisation tree and its policies."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext

from timebank.auth.login import current_actor, now, requires
from timebank.domain import DomainError
from timebank.orgs import services
from timebank.orgs.management import managed_tree, organisation_page, policies_from_form
from timebank.orgs.models import LEVELS
from timebank.people.access import MANAGERS
from timebank.redeem.services import create_station
from timebank.web import db_session, done, form_data, submit

bp = Blueprint("orgs", __name__, url_prefix="/organisations")

LEVEL_NAMES = {
    "district": lazy_gettext("District or county"),
    "street": lazy_gettext("Street or town"),
    "community": lazy_gettext("Community"),
    "team": lazy_gettext("Service team"),
}


@bp.context_processor
def names() -> dict[str, Any]:
    """Labels for the organisation levels."""
    return {"level_name": lambda level: LEVEL_NAMES.get(level, level), "level_options": [(key, str(LEVEL_NAMES[key])) for key in LEVELS]}


def _fields(prefix: str) -> dict[str, Any]:
    """The submitted fields of one of the page's forms, without the form's prefix."""
    return {key.removeprefix(prefix): value for key, value in form_data().items() if key.startswith(prefix)}


def _on_detail(org_id: int, prefix: str, action: Callable[[], ResponseReturnValue]) -> ResponseReturnValue:
    """Run one of the node page's forms; refused input shows the page again, problems beside that form's fields."""

    def run() -> ResponseReturnValue:
        try:
            return action()
        except DomainError as exc:
            exc.errors = {prefix + field: problems for field, problems in exc.errors.items()}
            raise

    return submit(run, template="orgs/detail.html", page=organisation_page(db_session(), org_id, actor=current_actor()), failed=prefix)


@bp.get("")
@requires(*MANAGERS)
def index() -> ResponseReturnValue:
    """The subtrees the actor manages, indented."""
    return render_template("orgs/index.html", nodes=managed_tree(db_session(), actor=current_actor()))


@bp.get("/<int:org_id>")
@requires(*MANAGERS)
def detail(org_id: int) -> ResponseReturnValue:
    """A node: its policies (set here or inherited), its stations and its children."""
    return render_template("orgs/detail.html", page=organisation_page(db_session(), org_id, actor=current_actor()))


@bp.post("/<int:org_id>/children")
@requires(*MANAGERS)
def add_child(org_id: int) -> ResponseReturnValue:
    """Add a street, community or team below this node."""

    def create_and_commit() -> ResponseReturnValue:
        fields = _fields("child_")
        child = services.create_organisation(db_session(), name=fields.get("name") or "", level=fields.get("level") or "", parent_id=org_id, actor=current_actor(), now=now())
        db_session().commit()
        flash(gettext("Added: %(name)s.", name=child.name))
        return redirect(url_for("orgs.detail", org_id=child.id))

    return _on_detail(org_id, "child_", create_and_commit)


@bp.post("/<int:org_id>/policies")
@requires(*MANAGERS)
def policies(org_id: int) -> ResponseReturnValue:
    """Override policies here; an emptied field inherits again."""

    def save() -> ResponseReturnValue:
        services.set_policies(db_session(), org_id, policies_from_form(form_data()), actor=current_actor(), now=now())
        return done(gettext("The policies have been saved."), "orgs.detail", org_id=org_id)

    return _on_detail(org_id, "", save)


@bp.post("/<int:org_id>/stations")
@requires(*MANAGERS)
def add_station(org_id: int) -> ResponseReturnValue:
    """Open a station (驿站) of this organisation."""

    def create_and_commit() -> ResponseReturnValue:
        station = create_station(db_session(), org_id, _fields("station_"), actor=current_actor(), now=now())
        return done(gettext("Station opened: %(name)s.", name=station.name), "orgs.detail", org_id=org_id)

    return _on_detail(org_id, "station_", create_and_commit)
