"""The needs list of an organisation subtree: filtered, overdue first, and exported as CSV or XLSX."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

from flask_babel import lazy_gettext
from sqlalchemy import case, or_, select
from sqlalchemy.orm import Session

from timebank.categories import SERVICE_CATEGORIES
from timebank.localtime import local
from timebank.needs.models import Channel, Colour, Need, NeedStatus
from timebank.needs.residents import NEED_STAFF
from timebank.orgs.models import Organisation
from timebank.people.access import Actor

#: Most needs one page (or one export) lists.
LIMIT = 5000

COLOUR_NAMES = {
    Colour.RED.value: lazy_gettext("Red · urgent"),
    Colour.YELLOW.value: lazy_gettext("Yellow · priority"),
    Colour.BLUE.value: lazy_gettext("Blue · routine"),
    Colour.GREEN.value: lazy_gettext("Green · done"),
}
CHANNEL_NAMES = {
    Channel.HOTLINE.value: lazy_gettext("Hotline"),
    Channel.HOME_VISIT.value: lazy_gettext("Home visit"),
    Channel.MICRO_WISH.value: lazy_gettext("Micro-wish"),
    Channel.TEA_STALL.value: lazy_gettext("Tea stall"),
    Channel.GRID.value: lazy_gettext("Grid report"),
    Channel.ONLINE.value: lazy_gettext("Online"),
}
#: The status in plain words, as the requester reads it.
STATUS_NAMES = {
    NeedStatus.RECORDED.value: lazy_gettext("Received: a social worker will look at it soon"),
    NeedStatus.ORDERED.value: lazy_gettext("A volunteer is being arranged"),
    NeedStatus.IN_ACTIVITY.value: lazy_gettext("Taken into a community activity"),
    NeedStatus.REFERRED.value: lazy_gettext("Passed to a partner who will contact you"),
    NeedStatus.DECLINED.value: lazy_gettext("Cannot be taken on"),
    NeedStatus.SERVED.value: lazy_gettext("Served: waiting for your review"),
    NeedStatus.CLOSED.value: lazy_gettext("Done"),
    NeedStatus.CANCELLED.value: lazy_gettext("Cancelled"),
}
#: The history's actions, as staff read them (other features' actions show under their own key until named here).
EVENT_NAMES = {
    "recorded": lazy_gettext("Recorded"),
    "assessed": lazy_gettext("Assessed"),
    "colour_changed": lazy_gettext("Urgency changed"),
    "in_activity": lazy_gettext("Taken into an activity"),
    "referred": lazy_gettext("Referred"),
    "declined": lazy_gettext("Declined"),
    "closed": lazy_gettext("Done"),
    "cancelled": lazy_gettext("Cancelled"),
}
EXPORT_HEADINGS = (
    lazy_gettext("Number"), lazy_gettext("Recorded"), lazy_gettext("Community"), lazy_gettext("Resident"), lazy_gettext("Phone"),
    lazy_gettext("What help"), lazy_gettext("When"), lazy_gettext("Channel"), lazy_gettext("Colour"), lazy_gettext("Status"),
    lazy_gettext("Service category"), lazy_gettext("Difficulty"), lazy_gettext("Due by"), lazy_gettext("Overdue"),
)


def find_needs(session: Session, *, actor: Actor, filters: Mapping[str, Any], now: dt.datetime, limit: int = LIMIT) -> list[Need]:
    """The needs of the actor's subtrees that match the filters: overdue first (the longest overdue on top), then by deadline, then newest."""
    paths = actor.paths(NEED_STAFF)
    if not paths:
        return []
    overdue = (Need.due_at.is_not(None)) & (Need.due_at <= now)
    stmt = (
        select(Need).join(Organisation, Organisation.id == Need.organisation_id)
        .where(or_(*[Organisation.path.startswith(p) for p in paths]))
        .order_by(case((overdue, 0), else_=1), case((Need.due_at.is_(None), 1), else_=0), Need.due_at, Need.recorded_at.desc(), Need.id.desc())
        .limit(limit)
    )
    for name in ("colour", "status", "category", "channel"):
        if filters.get(name):
            stmt = stmt.where(getattr(Need, name) == filters[name])
    if filters.get("organisation_id"):
        within = select(Organisation.path).where(Organisation.id == filters["organisation_id"]).scalar_subquery()
        stmt = stmt.where(Organisation.path.startswith(within))
    if filters.get("overdue"):
        stmt = stmt.where(overdue)
    return list(session.scalars(stmt))


def export_rows(needs: list[Need], *, now: dt.datetime) -> Iterator[list[Any]]:
    """The headings, then one row per need (no address: exports leave the service)."""
    yield [str(h) for h in EXPORT_HEADINGS]
    for need in needs:
        yield [
            need.id,
            local(need.recorded_at).strftime("%Y-%m-%d %H:%M"),
            need.organisation.name,
            need.resident.real_name,
            need.contact_phone,
            need.description,
            need.wanted_when or "",
            str(CHANNEL_NAMES.get(need.channel, need.channel)),
            str(COLOUR_NAMES.get(need.colour, need.colour)),
            str(STATUS_NAMES.get(need.status, need.status)),
            SERVICE_CATEGORIES.get(need.category, need.category or ""),
            need.difficulty or "",
            local(need.due_at).strftime("%Y-%m-%d %H:%M") if need.due_at else "",
            "✓" if need.due_at is not None and need.due_at <= now else "",
        ]
