"""The coordinator's community pool pages: the pools in reach, waiting needs in priority order, allocations, the statement."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from timebank.auth.login import current_actor, now, requires
from timebank.exports.views import ask
from timebank.gifts.eligibility import hours
from timebank.gifts.schemas import AllocationFormSchema
from timebank.needs import pool, pool_statement
from timebank.orgs.services import get_organisation
from timebank.people.access import MANAGERS
from timebank.people.services import load
from timebank.web import db_session, done, form_data, record_id, refusable

bp = Blueprint("pool", __name__, url_prefix="/pool")


@bp.get("")
@requires(*MANAGERS)
def index() -> ResponseReturnValue:
    """The community pools in the coordinator's reach, with what each holds and has available."""
    return render_template("needs/pool/index.html", pools=pool.pools(db_session(), actor=current_actor()))


def _pool_page(org_id: int) -> tuple[str, dict[str, Any]]:
    session, actor = db_session(), current_actor()
    organisation = get_organisation(session, org_id)
    waiting = pool.waiting_needs(session, organisation.id, actor=actor, now=now())
    allocations = pool.allocations(session, organisation.id, actor=actor)
    return "needs/pool/pool.html", {
        "organisation": organisation,
        "figures": pool.figures(session, organisation.id),
        "waiting": waiting,
        "allocations": allocations,
        "set_aside": {a.id: pool.set_aside(session, a.need_id) for a in allocations if a.status == "open"},
        "groups": pool.PRIORITY_GROUPS,
    }


@bp.get("/<int:org_id>")
@requires(*MANAGERS)
def detail(org_id: int) -> ResponseReturnValue:
    """A pool: its figures, the needs waiting for its hours in the policy's order, and its allocations."""
    template, context = _pool_page(org_id)
    return render_template(template, **context)


@bp.post("/<int:org_id>/allocations")
@requires(*MANAGERS)
def allocate(org_id: int) -> ResponseReturnValue:
    """Set pool hours aside for a waiting need."""

    def send() -> ResponseReturnValue:
        values = load(AllocationFormSchema(), form_data())
        pool.allocate(db_session(), values["need_id"], values["minutes"], actor=current_actor(), now=now(),
                      note=values.get("note"), pool_id=org_id)
        return done(gettext("%(hours)s h of the pool are set aside for the need.", hours=hours(values["minutes"])), "pool.detail", org_id=org_id)

    return refusable(send, lambda: _pool_page(org_id))


@bp.post("/allocations/<int:allocation_id>/return")
@requires(*MANAGERS)
def return_allocation(allocation_id: int) -> ResponseReturnValue:
    """Give what an allocation still sets aside back to the pool."""
    allocation = pool.return_allocation(db_session(), allocation_id, actor=current_actor(), now=now())
    return done(gettext("The allocation was returned to the pool."), "pool.detail", org_id=allocation.organisation_id)


@bp.get("/<int:org_id>/statement")
@requires(*MANAGERS)
def statement(org_id: int) -> ResponseReturnValue:
    """Every movement of the pool's hours, in words, with its figures."""
    before = request.args.get("before", type=record_id)
    found = pool_statement.statement(db_session(), org_id, actor=current_actor(), before=before)
    return render_template("needs/pool/statement.html", statement=found, movements=pool_statement.MOVEMENTS)


@bp.post("/<int:org_id>/statement.xlsx")
@requires(*MANAGERS)
def export(org_id: int) -> ResponseReturnValue:
    """Ask for the pool's statement as an Excel workbook, written in the background; then its page."""
    return ask("pool_statement", {"organisation_id": org_id})
