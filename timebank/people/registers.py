"""What coordinators' pages read and do beyond single services: bulk approval, a person's whole record, cards."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from timebank.audit.models import AuditEntry
from timebank.audit.services import entries
from timebank.auth.codes import issue_new_card
from timebank.domain import InvalidInput
from timebank.orgs.models import Organisation
from timebank.orgs.services import get_organisation, tree
from timebank.people.access import MANAGERS, Actor
from timebank.people.models import INVERSE_RELATION, FamilyLink, Person, RoleGrant
from timebank.people.services import approve, family_links, visible_person
from timebank.redeem.models import Station
from timebank.redeem.services import stations_within

#: How many audit entries a person's record shows.
RECORD_AUDIT_ENTRIES = 30


def approve_all(session: Session, person_ids: Iterable[int], *, actor: Actor, now: dt.datetime) -> list[Person]:
    """Approve several pending registrations at once; any refusal refuses them all."""
    ids = list(dict.fromkeys(person_ids))
    if not ids:
        raise InvalidInput(errors={"person_ids": ["Choose at least one registration."]})
    return [approve(session, person_id, actor=actor, now=now) for person_id in ids]


def managed_person(session: Session, person_id: int, *, actor: Actor) -> Person:
    """The person, if the actor is a coordinator or admin over them (NotFound if not even visible)."""
    person = visible_person(session, person_id, actor=actor)
    actor.require(MANAGERS, get_organisation(session, person.home_organisation_id))
    return person


def replace_card(session: Session, person_id: int, *, actor: Actor, now: dt.datetime) -> Person:
    """Issue a new printed card, so every earlier card stops working."""
    return issue_new_card(session, managed_person(session, person_id, actor=actor), actor=actor, now=now)


def names_of(session: Session, person_ids: Iterable[int | None]) -> dict[int, str]:
    """Person id -> real name, for showing who did what."""
    ids = {i for i in person_ids if i}
    if not ids:
        return {}
    return dict(session.execute(select(Person.id, Person.real_name).where(Person.id.in_(ids))).all())


def organisations_by_id(session: Session, ids: Iterable[int]) -> dict[int, Organisation]:
    """Organisation id -> organisation, for lists that name each row's community."""
    wanted = set(ids)
    if not wanted:
        return {}
    return {o.id: o for o in session.scalars(select(Organisation).where(Organisation.id.in_(wanted)))}




@dataclass(frozen=True)
class GrantChoices:
    """What a manager may grant roles over: their organisations and those organisations' stations."""

    organisations: list[Organisation]
    stations: list[Station]

    @property
    def organisation_options(self) -> list[tuple[int, str]]:
        """(id, name) of each organisation, for a select."""
        return [(o.id, o.name) for o in self.organisations]

    @property
    def station_options(self) -> list[tuple[int, str]]:
        """(id, name) of each station, for a select."""
        return [(s.id, s.name) for s in self.stations]


@dataclass(frozen=True)
class Relative:
    """One family link seen from the person's side: who the other is, and what they are to the person."""

    link: FamilyLink
    other_id: int
    relation: str


def grant_choices(session: Session, *, actor: Actor) -> GrantChoices:
    """The organisations and stations in the actor's managed subtrees."""
    paths = actor.paths(MANAGERS)
    return GrantChoices(tree(session, root_paths=paths) if paths else [], stations_within(session, paths))


@dataclass(frozen=True)
class PersonRecord:
    """Everything a carer's page shows about one person."""

    person: Person
    organisation: Organisation
    manages: bool
    grants: list[RoleGrant]
    relatives: list[Relative]
    audit: list[AuditEntry]
    names: dict[int, str]
    stations: dict[int, str]
    choices: GrantChoices | None


def person_record(session: Session, person_id: int, *, actor: Actor) -> PersonRecord:
    """A person's record as a carer sees it: profile, roles, family links and their audit trail."""
    person = visible_person(session, person_id, actor=actor)
    organisation = get_organisation(session, person.home_organisation_id)
    manages = actor.may(MANAGERS, organisation)
    links = family_links(session, person.id)
    audit = entries(session, target=("person", person.id), limit=RECORD_AUDIT_ENTRIES)
    grants = sorted(person.roles, key=lambda g: g.id)
    station_ids = {g.station_id for g in grants if g.station_id}
    stations = dict(session.execute(select(Station.id, Station.name).where(Station.id.in_(station_ids))).all()) if station_ids else {}
    relatives = [
        Relative(link, link.relative_id, link.relation) if link.person_id == person.id else Relative(link, link.person_id, INVERSE_RELATION[link.relation])
        for link in links
    ]
    names = names_of(session, [person.id] + [entry.actor_id for entry in audit] + [r.other_id for r in relatives])
    return PersonRecord(
        person=person,
        organisation=organisation,
        manages=manages,
        grants=grants,
        relatives=relatives,
        audit=audit,
        names=names,
        stations=stations,
        choices=grant_choices(session, actor=actor) if manages else None,
    )
