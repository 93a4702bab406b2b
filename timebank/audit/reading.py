"""The audit log as its readers read it: actions, records, fields and values in their language, never stored codes."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext, lazy_gettext

from timebank.audit.services import SECRET_FIELDS
from timebank.categories import SERVICE_CATEGORIES
from timebank.localtime import local

ACTION_NAMES = {
    "register": lazy_gettext("Registered"),
    "approve": lazy_gettext("Registration approved"),
    "reject": lazy_gettext("Registration rejected"),
    "update_profile": lazy_gettext("Record edited"),
    "view_id_number": lazy_gettext("Full ID number viewed"),
    "export_id_numbers": lazy_gettext("ID numbers exported"),
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
    "set_station_hours": lazy_gettext("Opening hours set"),
    "create_item": lazy_gettext("Catalogue item added"),
    "update_item": lazy_gettext("Catalogue item changed"),
    "retire_item": lazy_gettext("Catalogue item withdrawn"),
    "set_item_picture": lazy_gettext("Item picture changed"),
    "void_redemption": lazy_gettext("Redemption voided"),
    "create_activity": lazy_gettext("Activity created"),
    "update_activity": lazy_gettext("Activity changed"),
    "publish_activity": lazy_gettext("Activity published"),
    "cancel_activity": lazy_gettext("Activity cancelled"),
    "approve_attendance": lazy_gettext("Attendance approved"),
    "reject_attendance": lazy_gettext("Attendance rejected"),
    "adjust_attendance": lazy_gettext("Attendance time adjusted"),
    "correct_attendance": lazy_gettext("Attendance corrected"),
    "answer_correction": lazy_gettext("Correction request answered"),
    "create_programme": lazy_gettext("Certification programme created"),
    "retire_programme": lazy_gettext("Certification programme retired"),
    "issue_certificate": lazy_gettext("Certificate issued"),
    "revoke_certificate": lazy_gettext("Certificate revoked"),
    "record_continuing_education": lazy_gettext("Continuing education recorded"),
}
TARGET_NAMES = {
    "person": lazy_gettext("Person"),
    "organisation": lazy_gettext("Organisation"),
    "device_token": lazy_gettext("Device token"),
    "station": lazy_gettext("Station"),
    "catalogue_item": lazy_gettext("Catalogue item"),
    "redemption": lazy_gettext("Redemption"),
    "activity": lazy_gettext("Activity"),
    "attendance": lazy_gettext("Attendance"),
    "correction_request": lazy_gettext("Correction request"),
    "programme": lazy_gettext("Certification programme"),
    "certificate": lazy_gettext("Certificate"),
}
FIELD_NAMES = {
    "real_name": lazy_gettext("Real name"),
    "name": lazy_gettext("Name"),
    "title": lazy_gettext("Title"),
    "sex": lazy_gettext("Sex"),
    "birth_date": lazy_gettext("Birth date"),
    "id_type": lazy_gettext("ID document"),
    "id_number_masked": lazy_gettext("ID number"),
    "residence_area": lazy_gettext("Area of residence"),
    "skills": lazy_gettext("Skills"),
    "service_categories": lazy_gettext("Services"),
    "emergency_contact_name": lazy_gettext("Emergency contact"),
    "emergency_contact_phone": lazy_gettext("Emergency contact's phone"),
    "phone": lazy_gettext("Mobile number"),
    "status": lazy_gettext("Status"),
    "home_organisation_id": lazy_gettext("Community or team"),
    "organisation_id": lazy_gettext("Organisation"),
    "parent_id": lazy_gettext("Above"),
    "station_id": lazy_gettext("Station"),
    "role": lazy_gettext("Role"),
    "certificate_level": lazy_gettext("Certificate level"),
    "certificate_number": lazy_gettext("Certificate number"),
    "relative_id": lazy_gettext("Family member"),
    "relation": lazy_gettext("Relation"),
    "minutes": lazy_gettext("Time"),
    "reason": lazy_gettext("Reason"),
    "serial": lazy_gettext("Serial number"),
    "description": lazy_gettext("Description"),
    "kind": lazy_gettext("Kind"),
    "commodity": lazy_gettext("Paid in"),
    "price": lazy_gettext("Price"),
    "limit_per_day": lazy_gettext("Limit per day"),
    "limit_per_month": lazy_gettext("Limit per month"),
    "open_days": lazy_gettext("Open on"),
    "opens_at": lazy_gettext("Opens at"),
    "closes_at": lazy_gettext("Closes at"),
    "card_version": lazy_gettext("Card"),
    "scope": lazy_gettext("For"),
    "period": lazy_gettext("Period"),
    "retired_at": lazy_gettext("Withdrawn"),
    "picture": lazy_gettext("Picture"),
    "address": lazy_gettext("Address"),
    "category": lazy_gettext("Service category"),
    "starts_at": lazy_gettext("Starts"),
    "ends_at": lazy_gettext("Ends"),
    "capacity": lazy_gettext("Places"),
    "password_hash": lazy_gettext("Password"),
}
CODE_NAMES = {
    "sex": {"M": lazy_gettext("Male"), "F": lazy_gettext("Female")},
    "id_type": {"resident_id": lazy_gettext("Resident ID card"), "passport": lazy_gettext("Passport")},
    "status": {
        "pending": lazy_gettext("Waiting for approval"), "active": lazy_gettext("Active"), "rejected": lazy_gettext("Rejected"),
        "suspended": lazy_gettext("Suspended"), "open": lazy_gettext("Open"), "accepted": lazy_gettext("Accepted"),
        "declined": lazy_gettext("Declined"), "completed": lazy_gettext("Completed"), "voided": lazy_gettext("Voided"),
    },
    "commodity": {"PTS": lazy_gettext("Points"), "HOUR": lazy_gettext("Time credit")},
    "kind": {"goods": lazy_gettext("Goods"), "voucher": lazy_gettext("Voucher"), "service": lazy_gettext("A service")},
    "relation": {"spouse": lazy_gettext("Spouse"), "parent": lazy_gettext("Parent"), "child": lazy_gettext("Child")},
    "role": {
        "volunteer": lazy_gettext("Volunteer"), "social_worker": lazy_gettext("Social worker"), "coordinator": lazy_gettext("Coordinator"),
        "station_staff": lazy_gettext("Station staff"), "admin": lazy_gettext("Administrator"),
        "grid_worker": lazy_gettext("Grid worker"),
    },
}
#: Fields holding another record's id: which kind of record, for its name.
REFERENCES = {"home_organisation_id": "organisation", "organisation_id": "organisation", "parent_id": "organisation",
              "station_id": "station", "relative_id": "person"}


@dataclass(frozen=True)
class ChangeRow:
    """One changed field: its label, and its value before and after, as text ('' where there was none)."""

    label: str
    before: str
    after: str


def action_name(action: str) -> str:
    """An audit action in the reader's language."""
    return str(ACTION_NAMES.get(action, action.replace("_", " ")))


def target_name(target_type: str) -> str:
    """What kind of record an entry is about, in the reader's language."""
    return str(TARGET_NAMES.get(target_type, target_type.replace("_", " ")))


def field_name(field: str) -> str:
    """A recorded field's label."""
    return str(FIELD_NAMES.get(field, field.replace("_", " ")))


def change_rows(raw: str | None, *, name_of: Callable[[str, int], str | None], policy_rows: Callable[[Mapping, Mapping], list[ChangeRow]]) -> list[ChangeRow]:
    """An entry's recorded changes, field by field, secrets noted only as changed.

    A change is `{field: [before, after]}`; a registration records a plain
    snapshot `{field: value}`; policies are a map of policy values each side.
    """
    try:
        changes = _hide_secrets(json.loads(raw or "{}"))
    except ValueError:
        return []
    rows: list[ChangeRow] = []
    for field, change in changes.items():
        if field == "policies" and isinstance(change, list) and len(change) == 2:
            rows += policy_rows(change[0] or {}, change[1] or {})
            continue
        before, after = change if isinstance(change, list) and len(change) == 2 else (None, change)
        if field in SECRET_FIELDS:
            rows.append(ChangeRow(field_name(field), "", gettext("changed")))
            continue
        rows.append(ChangeRow(field_name(field), value_text(field, before, name_of), value_text(field, after, name_of)))
    return rows


def _hide_secrets(value: Any) -> Any:
    """The value with every secret field's content replaced, at any depth."""
    if isinstance(value, dict):
        return {key: "…" if key in SECRET_FIELDS else _hide_secrets(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_hide_secrets(inner) for inner in value]
    return value


def value_text(field: str, value: Any, name_of: Callable[[str, int], str | None]) -> str:
    """A recorded value as its reader would say it."""
    if value is None or value == "":
        return ""
    if isinstance(value, dict):
        return "、".join(f"{field_name(key)}：{value_text(key, inner, name_of) or '—'}" for key, inner in value.items())
    if field in REFERENCES and isinstance(value, int):
        return name_of(REFERENCES[field], value) or f"#{value}"
    if field == "service_categories":
        slugs = value if isinstance(value, list) else str(value).split(",")
        return "、".join(str(SERVICE_CATEGORIES.get(slug, slug)) for slug in slugs if slug)
    if field == "category":
        return str(SERVICE_CATEGORIES.get(value, value))
    if field in CODE_NAMES:
        return str(CODE_NAMES[field].get(value, value))
    if field == "minutes" and isinstance(value, int):
        hours, rest = divmod(value, 60)
        return gettext("%(hours)d h %(minutes)d min", hours=hours, minutes=rest) if rest else gettext("%(hours)d h", hours=hours)
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    if field.endswith("_at") and isinstance(value, str):
        try:
            return f"{local(dt.datetime.fromisoformat(value)):%Y-%m-%d %H:%M}"
        except ValueError:
            return value
    return str(value)
