"""Every policy number has a sane range, in the API and on the page alike: nothing a typing slip could overflow."""

from __future__ import annotations

import pytest

from timebank.domain import InvalidInput
from timebank.orgs.policy import DEFAULTS, ORDERINGS, RANGES
from timebank.orgs.services import set_policies
from tests.conftest import NOW, SYSTEM, send, signed_in


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("points_per_hour", 4 * 10**18),
        ("points_per_hour", 1001),
        ("hour_cap_minutes", 10**12),
        ("min_age_to_spend_hours", 500),
        ("checkin_opens_minutes", 10**9),
        ("record_deadline_working_days", 0),
        ("category_multipliers", {"elderly": 1e12}),
        ("star_thresholds_hours", [100, 300, 600, 1000, 10**15]),
        ("continuing_education_hours", 10**7),
    ],
)
def test_a_policy_outside_its_range_is_refused(session, org_tree, key, value):
    with pytest.raises(InvalidInput) as refused:
        set_policies(session, org_tree["east"].id, {key: value}, actor=SYSTEM, now=NOW)
    assert list(refused.value.errors) == [key]


def test_every_number_policy_has_a_range_that_holds_its_default():
    numbers = {key for key, value in DEFAULTS.items() if not isinstance(value, (bool, str)) and key not in ORDERINGS}
    assert numbers == set(RANGES)
    for key, (low, high) in RANGES.items():
        default = DEFAULTS[key]
        values = default.values() if isinstance(default, dict) else default if isinstance(default, list) else [default]
        assert all(low <= value <= high for value in values), key


def test_the_api_and_the_page_refuse_the_points_that_overflowed_the_ledger(app, make_person, org_tree):
    coordinator = signed_in(app, make_person("coordinator"))
    east = org_tree["east"].id
    answer = coordinator.patch(f"/api/v1/organisations/{east}/policies", json={"points_per_hour": 4 * 10**18})
    assert answer.status_code == 422 and list(answer.json["errors"]) == ["points_per_hour"]
    assert send(coordinator, f"/organisations/{east}/policies", points_per_hour=str(4 * 10**18)).status_code == 422
    assert coordinator.patch(f"/api/v1/organisations/{east}/policies", json={"points_per_hour": 1000}).status_code == 200
