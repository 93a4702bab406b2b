"""社工介入: a social worker (or coordinator) of the need's subtree assesses a need and decides what answers it.

The decisions here: fold it into an activity, refer it to a resource, decline
it with a reason the requester reads, and close it (green) once served. The
fourth decision, a service order, is the orders feature's (`orders.new`).
Each decision answers the need, so its response deadline is cleared.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from timebank.audit.services import apply_changes
from timebank.domain import Conflict, InvalidInput
from timebank.events.models import Activity
from timebank.events.services import create_activity
from timebank.needs import alerts
from timebank.needs.models import Colour, Need, NeedStatus, Resource
from timebank.needs.resources import related
from timebank.needs.schemas import ActivityDecisionSchema, AssessmentSchema, NeedReasonSchema, ReferralSchema
from timebank.needs.services import TRIAGERS, record_event, requesters, set_deadline, staff_need
from timebank.orgs.services import get_organisation
from timebank.people.access import Actor
from timebank.people.services import load

#: Statuses from which a need may be closed (已办结, green): answered, and served where an order served it.
CLOSABLE = (NeedStatus.IN_ACTIVITY.value, NeedStatus.REFERRED.value, NeedStatus.SERVED.value)


def triaged_need(session: Session, need_id: int, *, actor: Actor) -> Need:
    """The need, locked, if the actor may triage it (a social worker, coordinator or admin of its subtree)."""
    return staff_need(session, need_id, actor=actor, roles=TRIAGERS, lock=True)


def _waiting(need: Need) -> None:
    if need.status != NeedStatus.RECORDED.value:
        raise Conflict("This need has been answered already.")


def assess(session: Session, need_id: int, data: Mapping[str, Any], *, actor: Actor, now: dt.datetime) -> Need:
    """Record the assessment: notes, category, difficulty and colour; a new colour sets a new deadline while the need waits."""
    need = triaged_need(session, need_id, actor=actor)
    if need.status in (NeedStatus.CLOSED.value, NeedStatus.CANCELLED.value):
        raise Conflict("This need is closed.")
    values = load(AssessmentSchema(), data)
    before = need.colour
    changes = apply_changes(need, values)
    need.triaged_by, need.triaged_at = actor.id, now
    if need.colour != before:
        set_deadline(session, need, now=now)
        record_event(session, need, "colour_changed", actor=actor, now=now, note=f"{before} → {need.colour}")
    if changes.keys() - {"colour"} or not changes:
        record_event(session, need, "assessed", actor=actor, now=now, note=values.get("assessment"))
    return need


def _decided(need: Need, status: NeedStatus, *, actor: Actor, now: dt.datetime) -> None:
    need.status, need.due_at = status.value, None
    need.triaged_by, need.triaged_at = actor.id, now


def fold_into_activity(session: Session, need_id: int, data: Mapping[str, Any], *, actor: Actor, now: dt.datetime) -> Need:
    """Answer the need with an activity: an existing one of the subtree (`activity_id`), or a new draft made from the activity fields."""
    need = triaged_need(session, need_id, actor=actor)
    _waiting(need)
    values = load(ActivityDecisionSchema(), data)
    if values.get("activity_id") is not None:
        activity = session.get(Activity, values["activity_id"])
        if activity is None or not actor.may(TRIAGERS, activity.organisation) or not related(activity.organisation, need.organisation):
            raise InvalidInput(errors={"activity_id": ["Choose an activity of this community."]})
    else:
        details = {k: v for k, v in data.items() if k not in ("activity_id", "note")}
        details.setdefault("category", need.category)
        details.setdefault("organisation_id", need.organisation_id)
        activity = create_activity(session, details, actor=actor, now=now)
    _decided(need, NeedStatus.IN_ACTIVITY, actor=actor, now=now)
    need.activity_id = activity.id
    if need.category is None:
        need.category = activity.category
    record_event(session, need, "in_activity", actor=actor, now=now, note=values.get("note") or activity.title)
    return need


def refer(session: Session, need_id: int, data: Mapping[str, Any], *, actor: Actor, now: dt.datetime) -> Need:
    """Pass the need to an active entry of the resources list; the requester is told whom to expect."""
    need = triaged_need(session, need_id, actor=actor)
    _waiting(need)
    values = load(ReferralSchema(), data)
    resource = session.get(Resource, values["resource_id"])
    if resource is None or not resource.active or not related(get_organisation(session, resource.organisation_id), need.organisation):
        raise InvalidInput(errors={"resource_id": ["Choose an active resource from the list."]})
    _decided(need, NeedStatus.REFERRED, actor=actor, now=now)
    need.resource_id = resource.id
    record_event(session, need, "referred", actor=actor, now=now, note=values.get("note") or resource.name)
    alerts.referred(session, need, resource, requesters(need), now=now)
    return need


def decline(session: Session, need_id: int, data: Mapping[str, Any], *, actor: Actor, now: dt.datetime) -> Need:
    """Decline the need with a reason the requester reads (and is told of)."""
    need = triaged_need(session, need_id, actor=actor)
    _waiting(need)
    reason = load(NeedReasonSchema(), data)["reason"]
    _decided(need, NeedStatus.DECLINED, actor=actor, now=now)
    need.decline_reason = reason
    record_event(session, need, "declined", actor=actor, now=now, note=reason)
    alerts.declined(session, need, requesters(need), now=now)
    return need


def close(session: Session, need_id: int, *, actor: Actor, now: dt.datetime, note: str | None = None) -> Need:
    """Close an answered need: 已办结, green, no deadline."""
    need = triaged_need(session, need_id, actor=actor)
    if need.status not in CLOSABLE:
        raise Conflict("Only a need answered by an activity, a referral or a finished service can be closed.")
    need.status, need.colour, need.due_at, need.closed_at = NeedStatus.CLOSED.value, Colour.GREEN.value, None, now
    record_event(session, need, "closed", actor=actor, now=now, note=note)
    return need

