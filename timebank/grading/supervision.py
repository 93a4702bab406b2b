"""Supervision sessions (督导记录): recorded by a social worker for their subtree; the volunteers' part is training.

Each attendee is credited the session's minutes as certified training, the
way an approved training activity is (`training_credit_legs`: CERT in the
training category, never spendable, no points), so the session is a training
line on their service record and its export (2021 measures, art. 8).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from timebank import ledger
from timebank.certify.records import SUPERVISION_REF as REF_TYPE
from timebank.domain import InvalidInput, NotAllowed, NotFound
from timebank.grading.models import SupervisionAttendee, SupervisionSession
from timebank.grading.schemas import SupervisionSchema
from timebank.ledger import rules
from timebank.orgs.models import Organisation
from timebank.orgs.services import get_organisation
from timebank.people.access import CARERS, MANAGERS, Actor
from timebank.people.models import Person, Role, Status
from timebank.people.services import load

SUPERVISORS = (Role.SOCIAL_WORKER,)


def _home_organisation(session: Session, values: Mapping[str, Any], *, actor: Actor) -> tuple[Organisation, Organisation | None]:
    if not actor.has(*SUPERVISORS):
        raise NotAllowed()
    team = get_organisation(session, values["team_id"]) if values.get("team_id") else None
    if team is not None and team.level != "team":
        raise InvalidInput(errors={"team_id": ["Choose a team."]})
    if values.get("organisation_id"):
        organisation = get_organisation(session, values["organisation_id"])
    elif team is not None:
        organisation = team
    else:
        paths = actor.paths(SUPERVISORS)
        if not paths:
            raise InvalidInput(errors={"organisation_id": ["Choose an organisation."]})
        organisation = session.scalar(select(Organisation).where(Organisation.path == paths[0]))
    actor.require(SUPERVISORS, organisation)
    if team is not None and not organisation.contains(team):
        raise InvalidInput(errors={"team_id": ["Choose a team of the organisation."]})
    return organisation, team


def record_supervision(session: Session, data: Mapping[str, Any], *, actor: Actor, now: dt.datetime) -> SupervisionSession:
    """A social worker records a supervision session; each attendee is credited its minutes as training."""
    values = load(SupervisionSchema(), data)
    organisation, team = _home_organisation(session, values, actor=actor)
    if values["held_at"] > now:
        raise InvalidInput(errors={"held_at": ["A session cannot be recorded before it is held."]})
    ids = sorted(set(values["volunteer_ids"]))
    if not ids and team is not None:
        ids = sorted(session.scalars(select(Person.id).where(Person.home_organisation_id == team.id, Person.status == Status.ACTIVE.value)))
    if not ids:
        raise InvalidInput(errors={"volunteer_ids": ["Name the volunteers supervised, or a team with members."]})
    people = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(ids)))}
    homes = {o.id: o for o in session.scalars(select(Organisation).where(Organisation.id.in_({p.home_organisation_id for p in people.values()})))}
    strangers = [i for i in ids if i not in people or not actor.may(SUPERVISORS, homes[people[i].home_organisation_id])]
    if strangers:
        raise InvalidInput(errors={"volunteer_ids": ["Choose volunteers of your organisation."]})
    supervision = SupervisionSession(
        social_worker_id=actor.id, organisation_id=organisation.id, team_id=team.id if team else None, held_at=values["held_at"],
        minutes=values["minutes"], topic=values["topic"], notes=values.get("notes"), created_at=now, created_by=actor.id,
    )
    session.add(supervision)
    session.flush()
    for volunteer_id in ids:
        session.add(SupervisionAttendee(session_id=supervision.id, volunteer_id=volunteer_id))
        _credit_training(session, supervision, volunteer_id, actor=actor, now=now)
    session.flush()
    return supervision


def _credit_training(session: Session, supervision: SupervisionSession, volunteer_id: int, *, actor: Actor, now: dt.datetime) -> None:
    def post() -> ledger.Transaction:
        return ledger.post(
            session, rules.training_credit_legs(volunteer_id, minutes=supervision.minutes), kind=ledger.Kind.TRAINING_CREDIT,
            idempotency_key=f"{REF_TYPE}:{supervision.id}:{volunteer_id}", actor=actor.id, memo=supervision.topic[:200],
            ref=(REF_TYPE, supervision.id), event_at=supervision.held_at, now=now,
        )

    try:
        post()
    except ledger.UnknownAccount:  # a first training credit: open what is missing (nothing was written) and post again
        rules.open_system_accounts(session, now=now)
        rules.open_volunteer_accounts(session, volunteer_id, categories=(rules.TRAINING,), now=now)
        post()


def attendees(session: Session, session_ids: list[int]) -> dict[int, list[int]]:
    """Each session's attendees' ids."""
    found: dict[int, list[int]] = {i: [] for i in session_ids}
    for session_id, volunteer_id in session.execute(
        select(SupervisionAttendee.session_id, SupervisionAttendee.volunteer_id).where(SupervisionAttendee.session_id.in_(session_ids))
        .order_by(SupervisionAttendee.volunteer_id)
    ):
        found[session_id].append(volunteer_id)
    return found


def sessions_for(session: Session, *, actor: Actor, limit: int = 200) -> list[SupervisionSession]:
    """Sessions the actor recorded, and those of the subtrees they coordinate, newest first."""
    paths = actor.paths(MANAGERS)
    stmt = select(SupervisionSession).join(Organisation, Organisation.id == SupervisionSession.organisation_id)
    condition = SupervisionSession.social_worker_id == actor.id
    if paths:
        condition = or_(condition, *[Organisation.path.startswith(p) for p in paths])
    return list(session.scalars(stmt.where(condition).order_by(SupervisionSession.held_at.desc(), SupervisionSession.id.desc()).limit(limit)))


def visible_session(session: Session, session_id: int, *, actor: Actor) -> SupervisionSession:
    """A session its social worker or a carer over its organisation may read; 404 otherwise."""
    found = session.get(SupervisionSession, session_id)
    if found is None:
        raise NotFound()
    if found.social_worker_id != actor.id:
        actor.require(CARERS, get_organisation(session, found.organisation_id))
    return found


def supervisable(session: Session, *, actor: Actor, limit: int = 500) -> list[Person]:
    """Active volunteers of the actor's social-work subtrees, by name, to choose attendees from."""
    paths = actor.paths(SUPERVISORS)
    if not paths:
        return []
    homes = select(Organisation.id).where(or_(*[Organisation.path.startswith(p) for p in paths]))
    return list(session.scalars(select(Person).where(Person.status == Status.ACTIVE.value, Person.home_organisation_id.in_(homes.scalar_subquery()))
                                .order_by(Person.real_name, Person.id).limit(limit)))
