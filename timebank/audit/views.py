"""The audit log, for admins."""

from __future__ import annotations

import json

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext

from timebank.audit.services import SECRET_FIELDS, entries
from timebank.auth.login import requires
from timebank.people.models import Role
from timebank.people.registers import names_of
from timebank.web import db_session, record_id

bp = Blueprint("audit", __name__, url_prefix="/audit")

PAGE_SIZE = 50
ACTION_NAMES = {
    "register": lazy_gettext("Registered"),
    "approve": lazy_gettext("Registration approved"),
    "reject": lazy_gettext("Registration rejected"),
    "update_profile": lazy_gettext("Record edited"),
    "view_id_number": lazy_gettext("Full ID number viewed"),
    "grant_role": lazy_gettext("Role granted"),
    "revoke_role": lazy_gettext("Role revoked"),
    "request_family_link": lazy_gettext("Family link requested"),
    "confirm_family_link": lazy_gettext("Family link confirmed"),
    "reset_password": lazy_gettext("Password reset"),
    "change_password": lazy_gettext("Password changed"),
    "issue_card": lazy_gettext("New card issued"),
    "create_device_token": lazy_gettext("Device token created"),
    "revoke_device_token": lazy_gettext("Device token revoked"),
    "create_organisation": lazy_gettext("Organisation created"),
    "set_policies": lazy_gettext("Policies changed"),
    "create_station": lazy_gettext("Station opened"),
}
TARGET_NAMES = {
    "person": lazy_gettext("Person"),
    "organisation": lazy_gettext("Organisation"),
    "device_token": lazy_gettext("Device token"),
    "station": lazy_gettext("Station"),
}


@bp.app_template_filter("audit_action")
def audit_action(action: str) -> str:
    """An audit action in the reader's language (unknown ones as recorded)."""
    return str(ACTION_NAMES.get(action, action))


@bp.app_template_filter("audit_target")
def audit_target(target_type: str) -> str:
    """What kind of record an entry is about, in the reader's language."""
    return str(TARGET_NAMES.get(target_type, target_type))


def _hide_secrets(value: object) -> object:
    """The value with every secret field's content replaced, at any depth."""
    if isinstance(value, dict):
        return {key: "…" if key in SECRET_FIELDS else _hide_secrets(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_hide_secrets(inner) for inner in value]
    return value


@bp.app_template_filter("audit_changes")
def audit_changes(raw: str) -> str:
    """An entry's recorded changes as indented JSON, secrets never shown; empty if none."""
    try:
        changes = json.loads(raw or "{}")
    except ValueError:
        return ""
    return json.dumps(_hide_secrets(changes), ensure_ascii=False, indent=2, sort_keys=True) if changes else ""


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
