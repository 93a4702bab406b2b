"""What the organisation pages show and take: a node with its policies and stations, policy forms read into values."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from timebank.categories import SERVICE_CATEGORIES
from timebank.domain import InvalidInput
from timebank.ledger.rules import TRAINING
from timebank.orgs.models import Organisation
from timebank.orgs.policy import CHOICES, DEFAULTS, ORDERINGS, RANGES, SHOWN_IN_HOURS
from timebank.orgs.services import effective_policy, get_organisation, lineage, tree
from timebank.people.access import MANAGERS, Actor
from timebank.redeem.models import Station

#: policy -> label msgid (the numbers' ranges are policy.RANGES, enforced by the service too).
POLICY_LABELS: dict[str, str] = {
    "points_per_hour": "Points per hour of service",
    "category_multipliers": "Point multipliers by service category",
    "hour_cap_minutes": "Most time credit one volunteer may hold (hours)",
    "hours_over_cap_to_pool": "Time credit above the cap goes to the community pool (otherwise it is not deposited)",
    "family_transfers": "Hours may be given to confirmed family members",
    "donations": "Hours may be donated to the community pool",
    "min_star_to_spend_hours": "Star level needed to spend hours",
    "min_age_to_spend_hours": "Age needed to spend hours",
    "checkin_opens_minutes": "Check-in opens this many minutes before the start",
    "min_attendance_share": "Share of the activity a volunteer must attend to be credited (0 to 1)",
    "rounding_minutes": "Round served time down to (minutes)",
    "flag_threshold_minutes": "Flag arriving late or leaving early by more than (minutes; never less than the rounding step)",
    "reviewers_required": "Reviewers who must approve attendance",
    "record_deadline_working_days": "Working days allowed to record service",
    "forgotten_checkout": "What happens when a volunteer forgets to check out",
    "star_thresholds_hours": "Certified hours for stars 1 to 5",
    "continuing_education_hours": "Continuing education hours a social worker needs in each period",
    "continuing_education_period_years": "Years in each continuing education period",
    "need_red_response_hours": "Hours to answer a red (urgent) need",
    "need_yellow_response_working_days": "Working days to answer a yellow (priority) need (3 to 5)",
    "need_blue_response_working_days": "Working days to answer a blue (routine) need",
    "pool_priority": "Whom the community pool serves first",
    "order_accept_hours": "Hours a volunteer has to accept or decline a dispatched order",
    "grade_yellow_idle_days": "Grading: yellow after this many days without service",
    "grade_red_idle_days": "Grading: red after this many days without service",
    "grade_yellow_no_shows": "Grading: yellow at this many no-shows within the yellow window",
    "grade_red_no_shows": "Grading: red at this many no-shows within a year",
    "grade_yellow_rating_below": "Grading: yellow when the year's average rating is below",
    "grade_yellow_complaints": "Grading: yellow at this many upheld complaints within a year (0: never)",
    "grade_green_services": "Grading: services within the yellow window needed for green",
    "grade_late_cancel_hours": "Grading: a sign-up cancelled less than this many hours before the start is a no-show",
    "grade_team_share": "Grading: share of a team's members whose colour the team takes (0 to 1)",
    "index_weight_approvals": "Supervision index weight: approvals within the recording deadline",
    "index_weight_corrections": "Supervision index weight: correction requests answered in time",
    "index_weight_needs": "Supervision index weight: needs triaged within their colour's deadline",
    "index_weight_supervision": "Supervision index weight: supervision sessions held",
    "index_weight_ratings": "Supervision index weight: ratings of the services dispatched",
    "index_weight_green": "Supervision index weight: share of green volunteers",
    "index_weight_education": "Supervision index weight: continuing education progress",
    "index_supervision_target": "Supervision sessions each social worker should hold each month",
    "index_correction_working_days": "Working days to answer a correction request",
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


def widget(key: str) -> str:
    """How the editor asks for a policy, from its definition: yes/no, a choice, hours, one number per category, a list, a number or text."""
    default = DEFAULTS[key]
    if isinstance(default, bool):
        return "yes_no"
    if key in CHOICES:
        return "choice"
    if key in ORDERINGS:
        return "ordering"
    if key in SHOWN_IN_HOURS:
        return "hours"
    if isinstance(default, dict):
        return "per_category"
    if isinstance(default, list):
        return "list"
    if isinstance(default, (int, float)):
        return "number"
    return "text"


def policy_label(key: str) -> str:
    """A policy's name in the reader's language."""
    return gettext(POLICY_LABELS[key]) if key in POLICY_LABELS else key.replace("_", " ")


def policy_order(key: str) -> int:
    """Where a policy stands in the editor (unknown ones last)."""
    keys = list(DEFAULTS)
    return keys.index(key) if key in keys else len(keys)


def policy_display(key: str, value: Any) -> str:
    """A policy value as people read it: 是/否, the choice's words, hours, `应急 ×1.5`."""
    if value is None or key not in DEFAULTS:
        return "" if value is None else str(value)
    kind = widget(key)
    if kind == "yes_no":
        return gettext("Yes") if value else gettext("No")
    if kind == "choice":
        return gettext(CHOICES[key][value]) if value in CHOICES[key] else str(value)
    if kind == "ordering":
        return ordering_words(key, value)
    if kind == "hours":
        return gettext("%(hours)s h", hours=f"{value / 60:,.2f}".rstrip("0").rstrip("."))
    if kind == "per_category":
        shown = "、".join(f"{SERVICE_CATEGORIES.get(slug, slug)} ×{number:g}" for slug, number in value.items())
        return shown or gettext("×1 for every category")
    if kind == "list":
        return ", ".join(f"{v:,}" if isinstance(v, int) else str(v) for v in value)
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


@dataclass(frozen=True)
class CategoryField:
    """One category's multiplier in the per-category table."""

    name: str  # the form field
    label: str
    override: str
    inherited: str


@dataclass(frozen=True)
class PolicyRow:
    """One policy on a node's page: what is in force, whether it is set here, and the form's value."""

    key: str
    label: str
    widget: str
    effective: str
    inherited: str
    override: str | None
    low: float | None
    high: float | None
    options: list[tuple[str, str]]
    categories: list[CategoryField]

    @property
    def kind(self) -> str:
        """'choice' for a select (yes/no, a list of codes, or an order of codes), 'text' for the rest."""
        return "choice" if self.widget in ("yes_no", "choice", "ordering") else "text"


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
        rows = []
        for key in DEFAULTS:
            low, high = RANGES.get(key, (None, None))
            kind = widget(key)
            if kind == "hours" and low is not None:
                low, high = low // 60, high // 60
            overridden = self.overrides.get(key)
            categories = []
            if kind == "per_category":
                categories = [
                    CategoryField(f"{key}.{slug}", str(name), _figure((overridden or {}).get(slug)), _figure(self.inherited[key].get(slug, 1)))
                    for slug, name in SERVICE_CATEGORIES.items()
                    if slug != TRAINING  # training earns no points to multiply
                ]
            rows.append(PolicyRow(
                key=key,
                label=policy_label(key),
                widget=kind,
                effective=policy_display(key, self.effective[key]),
                inherited=policy_display(key, self.inherited[key]),
                override=policy_text(key, overridden) if key in self.overrides else None,
                low=low,
                high=high,
                options=ordering_options(key) if kind == "ordering" else [(code, gettext(words)) for code, words in CHOICES.get(key, {}).items()],
                categories=categories,
            ))
        return rows


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


def ordering_words(key: str, value: Any) -> str:
    """An order of codes in words: `年满80岁独居 → 困难家庭 → 其他`."""
    labels = ORDERINGS[key]
    return " → ".join(gettext(labels[code]) if code in labels else str(code) for code in value or [])


def ordering_options(key: str) -> list[tuple[str, str]]:
    """Every order of an ordering policy's codes, as the form's value (its `policy_text`) and its words."""
    return [(policy_text(key, list(order)), ordering_words(key, order)) for order in itertools.permutations(ORDERINGS[key])]


def _figure(number: float | None) -> str:
    return "" if number is None else f"{number:g}"


def policy_text(key: str, value: Any) -> str:
    """A policy value as its form field holds it (hours for a policy shown in hours)."""
    if key in SHOWN_IN_HOURS and isinstance(value, (int, float)):
        return _figure(value / 60)
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
        if widget(key) == "per_category" and any(name.startswith(f"{key}.") for name in form):
            try:
                overrides[key] = _per_category(key, form)
            except ValueError as exc:
                problems[key] = [str(exc)]
            continue
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
    if key in CHOICES:
        if raw not in CHOICES[key]:
            raise ValueError("Choose one of the options.")
        return raw
    if key in ORDERINGS:
        order = [part for part in re.split(r"[,，\s]+", raw) if part]
        if sorted(order) != sorted(ORDERINGS[key]):
            raise ValueError("Put each group once, in the order they are served.")
        return order
    if key in SHOWN_IN_HOURS:
        hours = _number(raw, float, "Enter a number of hours, such as 1500.")
        return _in_range(round(hours * 60), low, high)
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


def _per_category(key: str, form: Mapping[str, Any]) -> dict[str, float] | None:
    """The per-category table: a multiplier for each category filled in; all empty inherits (None)."""
    filled = {slug: (form.get(f"{key}.{slug}") or "").strip() for slug in SERVICE_CATEGORIES}
    if not any(filled.values()):
        return None
    return _multipliers(", ".join(f"{slug}={number}" for slug, number in filled.items() if number))


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
