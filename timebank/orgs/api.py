"""JSON API for the organisation tree and its policies."""

from __future__ import annotations

import json

from flask import jsonify
from flask.typing import ResponseReturnValue

from timebank.auth.login import current_actor, now, requires
from timebank.openapi import api_blueprint, documented, json_body
from timebank.orgs import services
from timebank.orgs.models import Organisation
from timebank.orgs.schemas import OrganisationInSchema, OrganisationNodeSchema, PoliciesSchema, PolicySchema, nest
from timebank.people.access import CARERS, MANAGERS
from timebank.people.models import Role
from timebank.people.services import load
from timebank.web import db_session

bp = api_blueprint("orgs_api", __name__)


def _policies(organisation: Organisation) -> ResponseReturnValue:
    """The organisation's policies in force and those overridden at it, as JSON."""
    effective = services.effective_policy(db_session(), organisation)
    overrides = json.loads(organisation.policies or "{}")
    return jsonify(PoliciesSchema().dump({"organisation": organisation, "effective": effective, "overrides": overrides}))


@bp.get("/organisations")
@documented(response=OrganisationNodeSchema, many=True)
@requires()
def organisations() -> ResponseReturnValue:
    """The subtrees where the actor holds a role, nested."""
    found = services.tree(db_session(), root_paths=current_actor().paths(Role))
    return jsonify(OrganisationNodeSchema(many=True).dump(nest(found)))


@bp.post("/organisations/<int:organisation_id>/children")
@documented(body=OrganisationInSchema, response=OrganisationNodeSchema, status=201)
@requires(*MANAGERS)
def create_child(organisation_id: int) -> ResponseReturnValue:
    """A new organisation below one the actor manages."""
    body = json_body()  # checked by the service, after who may add here
    child = services.create_organisation(
        db_session(), name=body.get("name"), level=body.get("level"), parent_id=organisation_id, actor=current_actor(), now=now()
    )
    db_session().commit()
    return jsonify(OrganisationNodeSchema().dump(nest([child])[0])), 201


@bp.get("/organisations/<int:organisation_id>/policies")
@documented(response=PoliciesSchema)
@requires(*CARERS)
def policies(organisation_id: int) -> ResponseReturnValue:
    """The policies in force at an organisation, and those set at it."""
    organisation = services.get_organisation(db_session(), organisation_id)
    current_actor().require(CARERS, organisation)
    return _policies(organisation)


@bp.patch("/organisations/<int:organisation_id>/policies")
@documented(body=PolicySchema, response=PoliciesSchema)
@requires(*MANAGERS)
def set_policies(organisation_id: int) -> ResponseReturnValue:
    """Override policies at an organisation (null inherits again); the nodes below follow."""
    overrides = load(PolicySchema(), json_body(), partial=True)
    organisation = services.set_policies(db_session(), organisation_id, overrides, actor=current_actor(), now=now())
    db_session().commit()
    return _policies(organisation)
