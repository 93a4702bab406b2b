"""A fresh installation: the root organisation and its first admin, made once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from timebank.domain import Conflict
from timebank.ledger.models import SYSTEM_ACTOR
from timebank.orgs.models import Organisation
from timebank.orgs.services import create_organisation
from timebank.people.access import Actor, Grant
from timebank.people.idnumbers import IdVault
from timebank.people.models import Person, Role, RoleGrant
from timebank.people.services import approve, grant_role, register


class AlreadyInitialised(Conflict):
    template = "This database already has a root organisation or an admin; nothing was changed."


def initialise(
    session: Session,
    *,
    organisation: Mapping[str, str],
    admin: Mapping[str, Any],
    vault: IdVault,
    now: dt.datetime,
) -> tuple[Organisation, Person]:
    """The root organisation (`name`, `level`) and its first admin (a registration with a password), active at once."""
    has_root = session.scalar(select(Organisation.id).where(Organisation.parent_id.is_(None)).limit(1))
    has_admin = session.scalar(select(RoleGrant.id).where(RoleGrant.role == Role.ADMIN.value).limit(1))
    if has_root is not None or has_admin is not None:
        raise AlreadyInitialised()
    root = create_organisation(session, name=organisation["name"], level=organisation["level"], parent_id=None, actor=None, now=now)
    # The operator creating their own account at the console is the person who agrees to the notice.
    person = register(session, {"privacy_consent": True, **admin, "home_organisation_id": root.id}, actor=None, vault=vault, now=now)
    # No one grants themself a role: the installation itself (the system actor) makes the first admin, as the audit log shows.
    founder = Actor(SYSTEM_ACTOR, (Grant(Role.ADMIN.value, root.id, root.path),))
    grant_role(session, person.id, {"role": Role.ADMIN.value, "organisation_id": root.id}, actor=founder, now=now)
    approve(session, person.id, actor=founder, now=now)
    return root, person
