"""The audit log, for admins."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, g, render_template, request
from flask.typing import ResponseReturnValue

from timebank.audit.reading import TARGET_NAMES, ChangeRow, action_name, change_rows, target_name
from timebank.audit.services import entries
from timebank.orgs.management import policy_display, policy_label, policy_order
from timebank.orgs.models import Organisation
from timebank.redeem.models import Station
from timebank.auth.login import requires
from timebank.people.models import Person, Role
from timebank.people.registers import names_of
from timebank.web import db_session, record_id

bp = Blueprint("audit", __name__, url_prefix="/audit")

PAGE_SIZE = 50


@bp.app_template_filter("audit_action")
def audit_action(action: str) -> str:
    """An audit action in the reader's language."""
    return action_name(action)


@bp.app_template_filter("audit_target")
def audit_target(target_type: str) -> str:
    """What kind of record an entry is about, in the reader's language."""
    return target_name(target_type)


def _name_of(kind: str, record_id: int) -> str | None:
    """The name of a person, organisation or station an entry refers to, looked up once per request."""
    names = g.setdefault("audit_names", {})
    if (kind, record_id) not in names:
        model = {"person": Person, "organisation": Organisation, "station": Station}[kind]
        found = db_session().get(model, record_id)
        names[(kind, record_id)] = None if found is None else getattr(found, "real_name", None) or found.name
    return names[(kind, record_id)]


def _policy_rows(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[ChangeRow]:
    """Each policy set or cleared, as the policy editor names and shows it."""
    return [
        ChangeRow(policy_label(key), policy_display(key, before.get(key)), policy_display(key, after.get(key)))
        for key in sorted(set(before) | set(after), key=policy_order)
        if before.get(key) != after.get(key)
    ]


@bp.app_template_filter("audit_changes")
def audit_changes(raw: str) -> list[ChangeRow]:
    """An entry's recorded changes, field by field, in the reader's language; secrets never shown."""
    return change_rows(raw, name_of=_name_of, policy_rows=_policy_rows)


@bp.get("")
@requires(Role.ADMIN)
def index() -> ResponseReturnValue:
    """The newest entries first, a page at a time (?before=), optionally for one record (?type=&id=)."""
    target_type = request.args.get("type") if request.args.get("type") in TARGET_NAMES else None
    target_id = request.args.get("id", type=record_id)
    target = (target_type, target_id) if target_type and target_id is not None else None
    session = db_session()
    shown = entries(session, target=target, limit=PAGE_SIZE, before=request.args.get("before", type=record_id))
    return render_template(
        "audit/index.html",
        audit_entries=shown,
        actor_names=names_of(session, [e.actor_id for e in shown] + [e.target_id for e in shown if e.target_type == "person"]),
        target_type=target_type,
        target_id=target_id if target else None,
        target_options=[(key, str(label)) for key, label in TARGET_NAMES.items()],
        older=shown[-1].id if len(shown) == PAGE_SIZE else None,
    )
