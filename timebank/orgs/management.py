"""What the organisation pages show and take: a node with its policies and stations, policy forms read into values."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from timebank.categories import SERVICE_CATEGORIES
from timebank.domain import InvalidInput
from timebank.orgs.models import Organisation
from timebank.orgs.policy import DEFAULTS, RANGES
from timebank.orgs.services import effective_policy, get_organisation, lineage, tree
from timebank.people.access import MANAGERS, Actor
from timebank.redeem.models import Station

#: policy -> label msgid, in the order the form shows them (the numbers' ranges are policy.RANGES).
POLICY_LABELS: dict[str, str] = {
    "points_per_hour": "Points per hour of service",
    "category_multipliers": "Point multipliers by service category",
    "hour_cap_minutes": "Most time credit one volunteer may hold (minutes)",
    "family_transfers": "Hours may be given to confirmed family members",
    "donations": "Hours may be donated to the community pool",
    "min_star_to_spend_hours": "Star level needed to spend hours",
    "min_age_to_spend_hours": "Age needed to spend hours",
    "checkin_opens_minutes": "Check-in opens this many minutes before the start",
    "min_attendance_share": "Share of the activity a volunteer must attend to be credited (0 to 1)",
    "rounding_minutes": "Round served time down to (minutes)",
    "reviewers_required": "Reviewers who must approve attendance",
    "record_deadline_working_days": "Working days allowed to record service",
    "forgotten_checkout": "What happens when a volunteer forgets to check out",
    "star_thresholds_hours": "Certified hours for stars 1 to 5",
}
SLUG = re.compile(r"^[a-z_]{1,40}$")
TRUE, FALSE = "yes", "no"


def managed_tree(session: Session, *, actor: Actor) -> list[tuple[Organisation, int]]:
    """The actor's managed subtrees in tree order, each node with its depth below the shallowest shown."""
    paths = actor.paths(MANAGERS)
    organisations = tree(session, root_paths=paths) if paths else []
    if not organisations:
        return []
    depth = {o.id: o.path.count("/") for o in organisations}
    top = min(depth.values())
    return [(o, depth[o.id] - top) for o in organisations]


@dataclass(frozen=True)
class PolicyRow:
    """One policy on a node's page: what is in force, whether it is set here, and the form's value."""

    key: str
    label: str
    kind: str  # "choice" (yes/no) or "text"
    effective: str
    inherited: str
    override: str | None
    low: float | None
    high: float | None


@dataclass(frozen=True)
class OrganisationPage:
    """One node as its managers see it."""

    organisation: Organisation
    ancestors: list[Organisation]
    children: list[Organisation]
    effective: dict[str, Any]
    inherited: dict[str, Any]
    overrides: dict[str, Any]
    stations: list[Station]

    @property
    def policies(self) -> list[PolicyRow]:
        """Each policy, in the order the form shows them."""
        return [
            PolicyRow(
                key=key,
                label=label,
                kind="choice" if isinstance(DEFAULTS[key], bool) else "text",
                effective=policy_text(key, self.effective[key]),
                inherited=policy_text(key, self.inherited[key]),
                override=policy_text(key, self.overrides[key]) if key in self.overrides else None,
                low=RANGES.get(key, (None, None))[0],
                high=RANGES.get(key, (None, None))[1],
            )
            for key, label in POLICY_LABELS.items()
        ]


def organisation_page(session: Session, organisation_id: int, *, actor: Actor) -> OrganisationPage:
    """A node, its policies (set here or inherited), children and stations, for a manager of it."""
    organisation = get_organisation(session, organisation_id)
    actor.require(MANAGERS, organisation)
    ancestors = lineage(session, organisation)[:-1]
    children = list(session.scalars(select(Organisation).where(Organisation.parent_id == organisation.id).order_by(Organisation.name)))
    stations = list(session.scalars(select(Station).where(Station.organisation_id == organisation.id).order_by(Station.name)))
    return OrganisationPage(
        organisation=organisation,
        ancestors=ancestors,
        children=children,
        effective=effective_policy(session, organisation),
        inherited=effective_policy(session, ancestors[-1]) if ancestors else dict(DEFAULTS),
        overrides=json.loads(organisation.policies or "{}"),
        stations=stations,
    )


def policy_text(key: str, value: Any) -> str:
    """A policy value as its form field holds it."""
    if isinstance(value, bool):
        return TRUE if value else FALSE
    if isinstance(value, dict):
        return ", ".join(f"{slug}={number}" for slug, number in value.items())
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


def policies_from_form(form: Mapping[str, Any]) -> dict[str, Any]:
    """The policies a form sets: each present field read as its default's type; an empty field inherits (None)."""
    overrides: dict[str, Any] = {}
    problems: dict[str, list[str]] = {}
    for key in DEFAULTS:
        if key not in form:
            continue
        raw = (form[key] or "").strip()
        if not raw:
            overrides[key] = None
            continue
        try:
            overrides[key] = _read(key, raw)
        except ValueError as exc:
            problems[key] = [str(exc)]
    if problems:
        raise InvalidInput(errors=problems)
    return overrides


def _read(key: str, raw: str) -> Any:
    """One policy's text as its default's type, or ValueError carrying the problem's msgid."""
    default = DEFAULTS[key]
    low, high = RANGES.get(key, (None, None))
    if isinstance(default, bool):
        if raw not in (TRUE, FALSE):
            raise ValueError("Choose yes or no.")
        return raw == TRUE
    if isinstance(default, int):
        return _in_range(_number(raw, int, "Enter a whole number."), low, high)
    if isinstance(default, float):
        return _in_range(_number(raw, float, "Enter a number, such as 0.6."), low, high)
    if isinstance(default, list):
        return _thresholds(raw)
    if isinstance(default, dict):
        return _multipliers(raw)
    if not SLUG.match(raw):
        raise ValueError("Use lower-case letters and underscores only.")
    return raw


def _number(raw: str, kind: type, problem: str) -> int | float:
    try:
        return kind(raw.replace("，", ",").replace(",", ""))
    except ValueError:
        raise ValueError(problem) from None


def _in_range(value: int | float, low: float | None, high: float | None) -> int | float:
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError("This number is outside the allowed range shown beside it.")
    return value


def _thresholds(raw: str) -> list[int]:
    """Five increasing whole numbers of hours."""
    try:
        values = [int(part) for part in re.split(r"[,，\s]+", raw) if part]
    except ValueError:
        raise ValueError("Enter five whole numbers of hours, separated by commas.") from None
    if len(values) != 5 or values[0] <= 0 or any(a >= b for a, b in zip(values, values[1:])):
        raise ValueError("Enter five whole numbers of hours, separated by commas.")
    return values


def _multipliers(raw: str) -> dict[str, float]:
    """`elderly=1.5, children=2`: a service category and a positive multiplier each."""
    multipliers: dict[str, float] = {}
    for part in re.split(r"[,，\n]+", raw):
        if not part.strip():
            continue
        slug, _, number = part.partition("=")
        slug = slug.strip()
        if slug not in SERVICE_CATEGORIES:
            raise ValueError("Write each as category=multiplier, with a category from the list.")
        try:
            value = float(number)
        except ValueError:
            raise ValueError("Write each as category=multiplier, with a category from the list.") from None
        if not 0 < value <= 10:
            raise ValueError("A multiplier is a number above 0 and at most 10.")
        multipliers[slug] = value
    return multipliers
