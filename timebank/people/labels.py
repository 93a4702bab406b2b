"""How roles, statuses and family relations read on screen (one place for every page)."""

from __future__ import annotations

from flask_babel import lazy_gettext

from timebank.people.models import Status

ROLE_NAMES = {
    "volunteer": lazy_gettext("Volunteer"),
    "social_worker": lazy_gettext("Social worker"),
    "coordinator": lazy_gettext("Coordinator"),
    "station_staff": lazy_gettext("Station staff"),
    "admin": lazy_gettext("Administrator"),
    "grid_worker": lazy_gettext("Grid worker"),
}
STATUS_NAMES = {
    Status.PENDING.value: lazy_gettext("Waiting for approval"),
    Status.ACTIVE.value: lazy_gettext("Active"),
    Status.REJECTED.value: lazy_gettext("Rejected"),
    Status.SUSPENDED.value: lazy_gettext("Suspended"),
}
RELATION_NAMES = {
    "spouse": lazy_gettext("Spouse"),
    "parent": lazy_gettext("Parent"),
    "child": lazy_gettext("Child"),
}
