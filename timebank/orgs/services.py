"""Building the organisation tree and reading its inherited policies."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from timebank.audit.services import record
from timebank.domain import InvalidInput, NotFound
from timebank.orgs.models import LEVELS, Organisation
from timebank.orgs.policy import DEFAULTS, merge, misordered, out_of_range
from timebank.people.access import MANAGERS


def get_organisation(session: Session, organisation_id: int | None) -> Organisation:
    """The organisation, or NotFound."""
    organisation = session.get(Organisation, organisation_id) if organisation_id else None
    if organisation is None:
        raise NotFound("Unknown organisation.")
    return organisation


def create_organisation(
    session: Session,
    *,
    name: str,
    level: str,
    parent_id: int | None,
    actor: Any | None,
    now: dt.datetime,
) -> Organisation:
    """A new node under `parent_id` (None: a new root, which only the command line makes)."""
    parent = None
    if parent_id is not None:
        parent = get_organisation(session, parent_id)
        actor.require(MANAGERS, parent)  # before validation: an outsider learns nothing
    name = (name or "").strip() if isinstance(name, str) else ""
    problems: dict[str, list[str]] = {}
    if not name or len(name) > 100:
        problems["name"] = ["Enter a name of at most 100 characters."]
    if level not in LEVELS:
        problems["level"] = ["Choose district, street, community or team."]
    if problems:
        raise InvalidInput(errors=problems)
    if parent is not None:
        if LEVELS.index(level) < LEVELS.index(parent.level):
            raise InvalidInput(errors={"level": ["A node cannot rank above its parent."]})
    organisation = Organisation(name=name, level=level, parent_id=parent_id, path="/", policies="{}", created_at=now)
    session.add(organisation)
    session.flush()
    organisation.path = f"{parent.path if parent else '/'}{organisation.id}/"
    record(session, actor=getattr(actor, "id", None), action="create_organisation", target=("organisation", organisation.id), changes={"name": [None, name], "parent_id": [None, parent_id]}, now=now)
    return organisation


def _path_ids(organisation: Organisation) -> list[int]:
    return [int(part) for part in organisation.path.strip("/").split("/") if part]


def ids_below(paths: Iterable[str]) -> Select:
    """A statement selecting the id of every organisation whose path lies under one of `paths` (an index range each)."""
    return select(Organisation.id).where(or_(*[Organisation.path.startswith(path, autoescape=True) for path in paths]))


def lineage(session: Session, organisation: Organisation) -> list[Organisation]:
    """The organisation and its ancestors, root first."""
    ids = _path_ids(organisation)
    found = {o.id: o for o in session.scalars(select(Organisation).where(Organisation.id.in_(ids)))}
    return [found[i] for i in ids]


def effective_policies(session: Session, organisations: Iterable[Organisation]) -> dict[int, dict[str, Any]]:
    """The policies in force at each of several organisations, from one read of all their ancestors."""
    wanted = {o.id: _path_ids(o) for o in organisations}
    ids = {i for path in wanted.values() for i in path}
    found = {o.id: o for o in session.scalars(select(Organisation).where(Organisation.id.in_(ids)))} if ids else {}
    return {organisation_id: merge([found[i].policies for i in path]) for organisation_id, path in wanted.items()}


def effective_policy(session: Session, organisation: Organisation) -> dict[str, Any]:
    """The policies in force at this node: defaults, then each ancestor's overrides, root first."""
    return effective_policies(session, [organisation])[organisation.id]


def home_policy(session: Session, person: Any) -> dict[str, Any]:
    """The policies a person lives under wherever they serve or spend (通存通兑): their home organisation's.

    Their star level, the right to spend hours and the storage cap on their
    time credit follow them; what an activity credits follows the activity's.
    """
    return effective_policy(session, get_organisation(session, person.home_organisation_id))


def set_policies(
    session: Session, organisation_id: int, overrides: Mapping[str, Any], *, actor: Any, now: dt.datetime
) -> Organisation:
    """Override policies at this node (None removes an override, inheriting again)."""
    organisation = get_organisation(session, organisation_id)
    actor.require(MANAGERS, organisation)
    unknown = sorted(set(overrides) - set(DEFAULTS))
    if unknown:
        raise InvalidInput(errors={key: ["Unknown policy."] for key in unknown})
    current = json.loads(organisation.policies or "{}")
    before = dict(current)
    for key, value in overrides.items():
        if value is None:
            current.pop(key, None)
        elif type(value) is not type(DEFAULTS[key]) and not (isinstance(DEFAULTS[key], float) and isinstance(value, int)):
            raise InvalidInput(errors={key: ["This policy takes another kind of value: see the default beside it."]})
        elif misordered(key, value):
            raise InvalidInput(errors={key: ["Put each group once, in the order they are served."]})
        elif out_of_range(key, value):
            raise InvalidInput(errors={key: ["This number is outside the range this policy allows."]})
        else:
            current[key] = value
    organisation.policies = json.dumps(current, ensure_ascii=False, sort_keys=True)
    record(session, actor=actor.id, action="set_policies", target=("organisation", organisation.id), changes={"policies": [before, current]}, now=now)
    return organisation


def tree(session: Session, *, root_paths: list[str] | None = None) -> list[Organisation]:
    """Organisations in tree order (by path), optionally only below the given paths."""
    stmt = select(Organisation).order_by(Organisation.path)
    organisations = list(session.scalars(stmt))
    if root_paths is None:
        return organisations
    return [o for o in organisations if any(o.path.startswith(p) for p in root_paths)]
