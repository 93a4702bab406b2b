"""The 四色分级 rules: a colour from a subject's figures and the policy, its explanation, and the next step up.

Pure functions over plain values, so each rule is testable at its boundary
without a database. Figures (JSON in `grades.figures_json`) for a volunteer:

- `idle_days`: days since the later of the last approved service and the
  registration day (a new volunteer is never idle for longer than they have
  been registered); `idle_over` when no service lies within the look-back;
- `services`: approved services within the yellow window (`window` days);
- `no_shows`: no-shows within the yellow window; `no_shows_year`: within 365 days;
- `ratings`, `rating_avg`: residents' ratings within 365 days and their mean;
- `complaints`: upheld complaints within 365 days.

A team's figures count its members by colour: `members`, `green`, `blue`, `yellow`, `red`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from timebank.grading.models import GradeColour

#: Best first: an index into this is a rank (lower is better).
ORDER = (GradeColour.GREEN.value, GradeColour.BLUE.value, GradeColour.YELLOW.value, GradeColour.RED.value)
#: Days within which no-shows, ratings and complaints count toward the yearly figures.
YEAR_DAYS = 365
#: The policy keys grading reads (all under the `grade_` prefix).
GRADE_KEYS = (
    "grade_yellow_idle_days", "grade_red_idle_days", "grade_yellow_no_shows", "grade_red_no_shows",
    "grade_yellow_rating_below", "grade_yellow_complaints", "grade_green_services", "grade_late_cancel_hours",
    "grade_team_share",
)

Translate = Callable[..., str]


def _untranslated(message: str, **values: Any) -> str:
    return message % values if values else message


def reasons(figures: Mapping[str, Any], policy: Mapping[str, Any]) -> dict[str, list[str]]:
    """Which signals fire, per colour: {"red": ["idle"], "yellow": ["no_shows", "rating"]}."""
    found: dict[str, list[str]] = {GradeColour.RED.value: [], GradeColour.YELLOW.value: []}
    idle = figures["idle_days"]
    if idle > policy["grade_red_idle_days"]:
        found["red"].append("idle")
    if figures["no_shows_year"] >= policy["grade_red_no_shows"]:
        found["red"].append("no_shows_year")
    if idle > policy["grade_yellow_idle_days"]:
        found["yellow"].append("idle")
    if figures["no_shows"] >= policy["grade_yellow_no_shows"]:
        found["yellow"].append("no_shows")
    if figures["ratings"] and figures["rating_avg"] < policy["grade_yellow_rating_below"]:
        found["yellow"].append("rating")
    if policy["grade_yellow_complaints"] and figures["complaints"] >= policy["grade_yellow_complaints"]:
        found["yellow"].append("complaints")
    return found


def volunteer_colour(figures: Mapping[str, Any], policy: Mapping[str, Any]) -> str:
    """Red, yellow, green or blue, first rule that applies in that order."""
    fired = reasons(figures, policy)
    if fired["red"]:
        return GradeColour.RED.value
    if fired["yellow"]:
        return GradeColour.YELLOW.value
    if figures["services"] >= policy["grade_green_services"]:
        return GradeColour.GREEN.value
    return GradeColour.BLUE.value


def team_colour(figures: Mapping[str, Any], policy: Mapping[str, Any]) -> str:
    """The worst colour that at least `grade_team_share` of the members have (counting worse ones with it); else blue.

    Red if red members reach the share; yellow if yellow and red together do;
    green if green members do; blue otherwise (and with no member at all).
    """
    members = figures["members"]
    if not members:
        return GradeColour.BLUE.value
    share = policy["grade_team_share"]
    if figures["red"] / members >= share:
        return GradeColour.RED.value
    if (figures["yellow"] + figures["red"]) / members >= share:
        return GradeColour.YELLOW.value
    if figures["green"] / members >= share:
        return GradeColour.GREEN.value
    return GradeColour.BLUE.value


def explain(figures: Mapping[str, Any], _: Translate = _untranslated) -> str:
    """The figures in a sentence: "90 天内服务 0 次；爽约 2 次；平均评分 2.50". `_` translates (gettext)."""
    if "members" in figures:
        return _("%(members)s members: %(green)s green, %(blue)s blue, %(yellow)s yellow, %(red)s red", **{k: figures[k] for k in ("members", "green", "blue", "yellow", "red")})
    parts = [_("%(services)s services in %(days)s days", services=figures["services"], days=figures["window"])]
    if figures.get("idle_over"):
        parts.append(_("no service for over %(days)s days", days=figures["idle_days"]))
    elif figures["idle_days"] > figures["window"]:
        parts.append(_("no service for %(days)s days", days=figures["idle_days"]))
    if figures["no_shows"] or figures["no_shows_year"]:
        parts.append(_("%(recent)s no-shows in %(days)s days, %(year)s in a year", recent=figures["no_shows"], days=figures["window"], year=figures["no_shows_year"]))
    if figures["ratings"]:
        parts.append(_("average rating %(average)s of %(count)s", average=f"{figures['rating_avg']:.2f}", count=figures["ratings"]))
    if figures["complaints"]:
        parts.append(_("%(count)s upheld complaints", count=figures["complaints"]))
    return _("; ").join(parts)


def next_step(colour: str, figures: Mapping[str, Any], policy: Mapping[str, Any], _: Translate = _untranslated) -> str | None:
    """What would move a volunteer's colour up, kindly put; None when green already."""
    if colour == GradeColour.GREEN.value or "members" in figures:
        return None
    fired = reasons(figures, policy)
    blocking = [r for r in fired["red"] + fired["yellow"] if r != "idle"]
    if blocking:
        if "no_shows" in blocking or "no_shows_year" in blocking:
            return _("Come to the activities you sign up for, or cancel at least %(hours)s hours before: no-shows stop counting after %(days)s days (a year for the red rule).", hours=policy["grade_late_cancel_hours"], days=policy["grade_yellow_idle_days"])
        return _("Keep serving with care: new good ratings lift your average, and older ones stop counting after a year.")
    # Only idleness or too few services hold the colour down: say how many more services lift it.
    for more in range(1, int(policy["grade_green_services"]) + 1):
        served = dict(figures, idle_days=0, idle_over=False, services=figures["services"] + more)
        better = volunteer_colour(served, policy)
        if ORDER.index(better) < ORDER.index(colour):
            return _("%(count)s more service will make you %(colour)s.", count=more, colour=_(COLOUR_NAMES[better]))
    return None


#: The colours' names and gentle words (msgids; translated where shown).
COLOUR_NAMES = {"green": "green", "blue": "blue", "yellow": "yellow", "red": "red"}
COLOUR_WORDS = {
    "green": "Active and reliable: thank you!",
    "blue": "Doing fine: every service counts.",
    "yellow": "We miss you: a social worker may call to see how you are.",
    "red": "Resting for now: we would be glad to see you back.",
}
