"""Who may do what where: a person's role grants, checked against the organisation tree."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from timebank.domain import NotAllowed, OutOfReach
from timebank.orgs.models import Organisation
from timebank.people.models import Person, Role, RoleGrant

#: Roles that run an organisation's programme; admin implies coordinator.
MANAGERS = (Role.COORDINATOR, Role.ADMIN)
#: Roles that may look after volunteers' records.
CARERS = (Role.SOCIAL_WORKER, Role.COORDINATOR, Role.ADMIN)
#: Roles with standing of their own (a professional certificate, or running a programme):
#: granted only from above, never by a peer at the same organisation.
GRANTED_FROM_ABOVE = (Role.SOCIAL_WORKER, Role.COORDINATOR)


@dataclass(frozen=True)
class Grant:
    """A role over the subtree whose path is `path` (station staff: at one station)."""

    role: str
    organisation_id: int
    path: str
    station_id: int | None = None


@dataclass(frozen=True)
class Actor:
    """The signed-in person as the services see them: an id and role grants."""

    id: int
    grants: tuple[Grant, ...] = ()

    def has(self, *roles: Role) -> bool:
        """True if any grant carries one of `roles`, anywhere."""
        wanted = {str(r) for r in roles}
        return any(g.role in wanted for g in self.grants)

    def may(self, roles: Iterable[Role], organisation: Organisation) -> bool:
        """True if one of `roles` is granted over `organisation` or above it."""
        wanted = {str(r) for r in roles}
        return any(g.role in wanted and organisation.path.startswith(g.path) for g in self.grants)

    def require(self, roles: Iterable[Role], organisation: Organisation) -> None:
        """NotAllowed unless `may`; OutOfReach (a 404, as for a missing record) if the roles are held, but elsewhere."""
        if not self.may(roles, organisation):
            if self.paths(roles):
                raise OutOfReach()
            raise NotAllowed()

    def may_grant(self, role: str, organisation: Organisation) -> bool:
        """True if the actor may give `role` over `organisation`.

        Volunteers and station staff (a part of what a coordinator already does
        at their stations): any coordinator or admin over it. Social workers and
        coordinators: an admin over it, or a coordinator of an organisation above
        it. Admins: an admin over it.
        """
        if role == Role.ADMIN:
            return self.may((Role.ADMIN,), organisation)
        if role in GRANTED_FROM_ABOVE:
            return self.may((Role.ADMIN,), organisation) or any(
                g.role == Role.COORDINATOR and organisation.path.startswith(g.path) and organisation.path != g.path
                for g in self.grants
            )
        return self.may(MANAGERS, organisation)

    def paths(self, roles: Iterable[Role]) -> list[str]:
        """The subtree paths over which one of `roles` is granted."""
        wanted = {str(r) for r in roles}
        return sorted({g.path for g in self.grants if g.role in wanted})

    def stations(self) -> set[int]:
        """The stations this person staffs."""
        return {g.station_id for g in self.grants if g.role == Role.STATION_STAFF and g.station_id}


def actor_for(session: Session, person: Person | int) -> Actor:
    """The actor for a person, with their live grants and each grant's subtree path."""
    person_id = person.id if isinstance(person, Person) else person
    rows = session.execute(
        select(RoleGrant.role, RoleGrant.organisation_id, Organisation.path, RoleGrant.station_id)
        .join(Organisation, Organisation.id == RoleGrant.organisation_id)
        .where(RoleGrant.person_id == person_id, RoleGrant.revoked_at.is_(None))
    ).all()
    return Actor(person_id, tuple(Grant(*row) for row in rows))
