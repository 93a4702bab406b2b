"""JSON API of the community pools: figures, needs waiting in priority order, allocations and the statement."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from timebank.auth.login import current_actor, now, requires
from timebank.gifts.schemas import (
    AllocationOutSchema,
    AllocationSchema,
    PoolSchema,
    PoolStatementSchema,
    StatementQuerySchema,
    WaitingNeedSchema,
)
from timebank.needs import pool, pool_statement
from timebank.needs.models import PoolAllocation
from timebank.orgs.models import Organisation
from timebank.orgs.services import get_organisation
from timebank.openapi import api_blueprint, documented, json_body
from timebank.people.access import MANAGERS
from timebank.people.services import load
from timebank.web import db_session

bp = api_blueprint("pool_api", __name__)


def pool_body(organisation: Organisation, figures: pool.PoolFigures) -> dict:
    """A pool as the API shows it."""
    return {"organisation_id": organisation.id, "name": organisation.name, "balance": figures.balance,
            "held": figures.held, "available": figures.available}


def allocation_body(allocation: PoolAllocation) -> dict:
    """An allocation as the API shows it, with what it still sets aside."""
    body = AllocationOutSchema().dump(allocation)
    body["set_aside_minutes"] = pool.set_aside(db_session(), allocation.need_id) if allocation.status == "open" else 0
    return body


@bp.get("/pools")
@documented(response=PoolSchema, many=True)
@requires(*MANAGERS)
def pools() -> ResponseReturnValue:
    """The community pools in the actor's reach, with their figures in minutes."""
    return jsonify([pool_body(o, f) for o, f in pool.pools(db_session(), actor=current_actor())])


@bp.get("/pools/<int:org_id>")
@documented(response=PoolSchema)
@requires(*MANAGERS)
def detail(org_id: int) -> ResponseReturnValue:
    """One pool's balance, what is set aside, and what is available."""
    organisation = get_organisation(db_session(), org_id)
    current_actor().require(MANAGERS, organisation)
    return jsonify(pool_body(organisation, pool.figures(db_session(), organisation.id)))


@bp.get("/pools/<int:org_id>/waiting-needs")
@documented(response=WaitingNeedSchema, many=True)
@requires(*MANAGERS)
def waiting(org_id: int) -> ResponseReturnValue:
    """Needs of the subtree waiting for pool hours, in the policy's priority order."""
    rows = pool.waiting_needs(db_session(), org_id, actor=current_actor(), now=now())
    return jsonify(WaitingNeedSchema(many=True).dump([
        {"need_id": r.need.id, "organisation_id": r.need.organisation_id, "resident_name": r.need.resident.real_name,
         "description": r.need.description, "colour": r.need.colour, "recorded_at": r.need.recorded_at,
         "group": r.group, "paid_by_pool": r.paid_by_pool}
        for r in rows
    ]))


@bp.get("/pools/<int:org_id>/allocations")
@documented(response=AllocationOutSchema, many=True)
@requires(*MANAGERS)
def allocations(org_id: int) -> ResponseReturnValue:
    """The pool's allocations, newest first."""
    return jsonify([allocation_body(a) for a in pool.allocations(db_session(), org_id, actor=current_actor())])


@bp.post("/pool-allocations")
@documented(body=AllocationSchema, response=AllocationOutSchema, status=201, problems=(404, 409))
@requires(*MANAGERS)
def allocate() -> ResponseReturnValue:
    """Set minutes of the need's community pool aside for it; refused beyond what the pool has available."""
    values = load(AllocationSchema(), json_body())
    allocation = pool.allocate(db_session(), values["need_id"], values["minutes"], actor=current_actor(), now=now(), note=values["note"])
    db_session().commit()
    return jsonify(allocation_body(allocation)), 201


@bp.post("/pool-allocations/<int:allocation_id>/return")
@documented(response=AllocationOutSchema)
@requires(*MANAGERS)
def return_allocation(allocation_id: int) -> ResponseReturnValue:
    """Give what an allocation still sets aside back to the pool; returning twice is harmless."""
    allocation = pool.return_allocation(db_session(), allocation_id, actor=current_actor(), now=now())
    db_session().commit()
    return jsonify(allocation_body(allocation))


@bp.get("/pools/<int:org_id>/statement")
@documented(query=StatementQuerySchema, response=PoolStatementSchema)
@requires(*MANAGERS)
def statement(org_id: int) -> ResponseReturnValue:
    """The pool's figures and a page of its movements, newest first."""
    query = load(StatementQuerySchema(), request.args)
    found = pool_statement.statement(db_session(), org_id, actor=current_actor(), before=query["before"])
    return jsonify(PoolStatementSchema().dump({
        "pool": pool_body(found.organisation, found.figures), "totals": found.totals, "allocated": found.allocated,
        "held_for_visits": found.held_for_visits, "returned": found.returned, "lines": found.lines, "next_before": found.next_before,
    }))
