"""What needs tell people: social workers of an urgent or overdue need, requesters of a decline or a referral."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from timebank.localtime import local
from timebank.needs.models import Colour, Need, NeedStatus, Resource
from timebank.notices.services import notify, notify_many
from timebank.orgs.models import Organisation
from timebank.people.models import RoleGrant, Role

#: How notices name the colours (they are written once, in the programme's language).
COLOUR_WORDS = {Colour.RED.value: "红色（紧急）", Colour.YELLOW.value: "黄色（重点）", Colour.BLUE.value: "蓝色（常规）", Colour.GREEN.value: "绿色（已办结）"}
SUMMARY_CHARS = 30


def summary(need: Need) -> str:
    """The need's first words, for a notice."""
    text = " ".join(need.description.split())
    return text if len(text) <= SUMMARY_CHARS else text[:SUMMARY_CHARS] + "…"


def social_workers(session: Session, organisation: Organisation) -> list[int]:
    """The social workers whose subtree holds this community."""
    ancestors = [int(part) for part in organisation.path.strip("/").split("/") if part]
    stmt = select(RoleGrant.person_id).where(
        RoleGrant.role == Role.SOCIAL_WORKER.value, RoleGrant.revoked_at.is_(None), RoleGrant.organisation_id.in_(ancestors)
    )
    return sorted(set(session.scalars(stmt)))


def _params(need: Need) -> dict[str, str]:
    return {
        "resident": need.resident.real_name or need.contact_phone[:3] + "****" + need.contact_phone[-4:],
        "community": need.organisation.name,
        "summary": summary(need),
        "colour": COLOUR_WORDS.get(need.colour, need.colour),
        "deadline": local(need.due_at).strftime("%m-%d %H:%M") if need.due_at else "",
    }


def urgent_need(session: Session, need: Need, *, now: dt.datetime) -> int:
    """Tell the community's social workers of a new red need (once per need and deadline)."""
    people = social_workers(session, need.organisation)
    return notify_many(session, people, "need_urgent", _params(need), key=f"{need.id}:{need.due_at:%Y%m%d%H%M}", link=f"/needs/{need.id}", now=now)


def warn_overdue(session: Session, *, now: dt.datetime) -> int:
    """Warn the social workers of each need past its deadline unanswered: once per need and deadline, however often it runs."""
    stmt = select(Need).where(Need.status == NeedStatus.RECORDED.value, Need.due_at.is_not(None), Need.due_at <= now).order_by(Need.due_at)
    told = 0
    for need in session.scalars(stmt):
        people = social_workers(session, need.organisation)
        told += notify_many(session, people, "need_overdue", _params(need), key=f"{need.id}:{need.due_at:%Y%m%d%H%M}", link=f"/needs/{need.id}", now=now)
    return told


def declined(session: Session, need: Need, people: set[int], *, now: dt.datetime) -> int:
    """Tell the requesters their need was declined, and why."""
    params = {"summary": summary(need), "reason": need.decline_reason or ""}
    return sum(1 for p in people if notify(session, p, "need_declined", params, key=f"{need.id}:{p}", link="/needs/mine", now=now))


def referred(session: Session, need: Need, resource: Resource, people: set[int], *, now: dt.datetime) -> int:
    """Tell the requesters who their need was passed to, and how to reach them."""
    contact = " ".join(part for part in (resource.contact_name, resource.contact_phone) if part) or resource.name
    params = {"summary": summary(need), "resource": resource.name, "contact": contact}
    return sum(1 for p in people if notify(session, p, "need_referred", params, key=f"{need.id}:{resource.id}:{p}", link="/needs/mine", now=now))
