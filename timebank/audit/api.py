"""JSON API for the audit log."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from timebank.audit import services
from timebank.audit.schemas import PER_PAGE, AuditPageSchema, AuditQuerySchema
from timebank.auth.login import requires
from timebank.openapi import api_blueprint, documented
from timebank.people.models import Role
from timebank.people.services import load
from timebank.web import db_session

bp = api_blueprint("audit_api", __name__)


@bp.get("/audit")
@documented(query=AuditQuerySchema, response=AuditPageSchema)
@requires(Role.ADMIN)
def audit() -> ResponseReturnValue:
    """The audit log, newest first, optionally about one record; pages by `before`."""
    query = load(AuditQuerySchema(), request.args)
    target = (query["target_type"], query["target_id"]) if query["target_type"] else None
    found = services.entries(db_session(), target=target, limit=PER_PAGE, before=query["before"])
    next_before = found[-1].id if len(found) == PER_PAGE else None
    return jsonify(AuditPageSchema().dump({"items": found, "next_before": next_before}))
