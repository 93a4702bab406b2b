"""Programme policies (DESIGN.md "Policies"): defaults, overridden per organisation, inherited downward."""

from __future__ import annotations

import json
from typing import Any

DEFAULTS: dict[str, Any] = {
    "points_per_hour": 10,
    "category_multipliers": {},
    "hour_cap_minutes": 1500 * 60,  # Nanjing, Guangzhou: 1,500 hours
    "hours_over_cap_to_pool": False,  # Nanjing: time credit above the cap goes to the community pool
    "family_transfers": True,  # only along confirmed family links
    "donations": True,
    "min_star_to_spend_hours": 0,  # Guangzhou: 1
    "min_age_to_spend_hours": 0,  # Shanghai: 65
    "checkin_opens_minutes": 60,
    "min_attendance_share": 0.6,  # Yunnan: 60 %
    "rounding_minutes": 15,
    "flag_threshold_minutes": 5,  # late or early beyond this (and beyond the rounding step) is flagged
    "reviewers_required": 1,  # Wuhan: 2
    "record_deadline_working_days": 10,  # 2021 national measures, art. 11
    "forgotten_checkout": "planned_end_flagged",
    "star_thresholds_hours": [100, 300, 600, 1000, 1500],
    "continuing_education_hours": 90,  # social workers' training per registration period
    "continuing_education_period_years": 3,
    # Residents' needs: how soon each colour must be answered (red in hours, yellow and blue in working days).
    "need_red_response_hours": 24,
    "need_yellow_response_working_days": 5,
    "need_blue_response_working_days": 10,
    # Nanjing: donated pool hours serve first those over 80 living alone, then hardship families.
    "pool_priority": ["living_alone_over_80", "hardship", "others"],
    "order_accept_hours": 24,  # a volunteer answers a dispatched order within this many hours
    # 四色分级 (timebank/grading/rules.py): each volunteer is graded under their home organisation's.
    "grade_yellow_idle_days": 90,  # yellow after this many days without service
    "grade_red_idle_days": 180,  # red after this many (Chengdu Longquanyi)
    "grade_yellow_no_shows": 2,  # yellow at this many no-shows within the yellow window
    "grade_red_no_shows": 5,  # red at this many unexcused no-shows within a year (Chengdu Longquanyi)
    "grade_yellow_rating_below": 3.0,  # yellow when the year's average rating is below this
    "grade_yellow_complaints": 1,  # yellow at this many upheld complaints within a year (0: never)
    "grade_green_services": 3,  # green: at least this many services within the yellow window, and no yellow signal
    "grade_late_cancel_hours": 24,  # a sign-up cancelled later than this before the start counts as a no-show
    "grade_team_share": 0.5,  # a team takes the colour that at least this share of its members have (worst first)
    # 社工督导指数 (timebank/grading/index.py): weights are normalised over the indicators with data.
    "index_weight_approvals": 20,
    "index_weight_corrections": 10,
    "index_weight_needs": 15,
    "index_weight_supervision": 15,
    "index_weight_ratings": 15,
    "index_weight_green": 15,
    "index_weight_education": 10,
    "index_supervision_target": 2,  # supervision sessions a social worker holds each month
    "index_correction_working_days": 5,  # a correction request answered within this many working days is on time
}

#: Policies held as a code: the codes a form offers, each with its label msgid.
CHOICES: dict[str, dict[str, str]] = {
    "forgotten_checkout": {
        "planned_end_flagged": "Credit up to the planned end, flagged for review",
        "no_credit_flagged": "Credit nothing until a reviewer decides, flagged",
    },
}
#: Policies held as an order of codes (each once): the codes, each with its label msgid.
ORDERINGS: dict[str, dict[str, str]] = {
    "pool_priority": {
        "living_alone_over_80": "Over 80 and living alone",
        "hardship": "Hardship family",
        "others": "Others",
    },
}
#: Policies stored in minutes that people think of in hours (the storage cap).
SHOWN_IN_HOURS = frozenset({"hour_cap_minutes"})
#: The sane range of each number (for lists and multipliers: of each item). Outside it a setting is a
#: typing slip or an attack: 4×10¹⁸ points per hour would overflow the ledger on the second approval.
RANGES: dict[str, tuple[int | float, int | float]] = {
    "points_per_hour": (0, 1000),
    "category_multipliers": (0, 10),
    "hour_cap_minutes": (0, 100_000 * 60),
    "min_star_to_spend_hours": (0, 5),
    "min_age_to_spend_hours": (0, 120),
    "checkin_opens_minutes": (0, 1440),
    "min_attendance_share": (0, 1),
    "rounding_minutes": (1, 60),
    "flag_threshold_minutes": (0, 240),
    "reviewers_required": (1, 5),
    "record_deadline_working_days": (1, 365),
    "star_thresholds_hours": (1, 100_000),
    "continuing_education_hours": (0, 1000),
    "continuing_education_period_years": (1, 10),
    "need_red_response_hours": (1, 72),
    "need_yellow_response_working_days": (3, 5),
    "need_blue_response_working_days": (1, 60),
    "order_accept_hours": (1, 168),
    "grade_yellow_idle_days": (1, 3650),
    "grade_red_idle_days": (1, 3650),
    "grade_yellow_no_shows": (1, 100),
    "grade_red_no_shows": (1, 100),
    "grade_yellow_rating_below": (0, 5),
    "grade_yellow_complaints": (0, 100),
    "grade_green_services": (1, 1000),
    "grade_late_cancel_hours": (0, 720),
    "grade_team_share": (0.01, 1),
    "index_weight_approvals": (0, 100),
    "index_weight_corrections": (0, 100),
    "index_weight_needs": (0, 100),
    "index_weight_supervision": (0, 100),
    "index_weight_ratings": (0, 100),
    "index_weight_green": (0, 100),
    "index_weight_education": (0, 100),
    "index_supervision_target": (1, 100),
    "index_correction_working_days": (1, 60),
}


def out_of_range(key: str, value: Any) -> bool:
    """True if a policy's number (or any number in its list or mapping) lies outside RANGES."""
    if key not in RANGES or isinstance(value, bool):
        return False
    low, high = RANGES[key]
    numbers = value.values() if isinstance(value, dict) else value if isinstance(value, list) else [value]
    return any(isinstance(n, (int, float)) and not low <= n <= high for n in numbers)


def misordered(key: str, value: Any) -> bool:
    """True if an ordering policy's value is not each of its codes exactly once."""
    return key in ORDERINGS and (not isinstance(value, list) or sorted(map(str, value)) != sorted(ORDERINGS[key]))


def merge(overrides_from_root_down: list[str]) -> dict[str, Any]:
    """The defaults with each level's JSON overrides applied, root first."""
    policy = dict(DEFAULTS)
    for raw in overrides_from_root_down:
        for key, value in json.loads(raw or "{}").items():
            if key in DEFAULTS:
                policy[key] = value
    return policy
