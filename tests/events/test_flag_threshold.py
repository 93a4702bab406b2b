"""Late arrival and early leave are flagged beyond the policy's threshold, never under the rounding step."""

from __future__ import annotations

import datetime as dt

import pytest

from timebank.events.credit import work_out
from timebank.events.models import Activity, Attendance, Flag
from timebank.orgs.policy import DEFAULTS
from tests.conftest import send, signed_in, text

START = dt.datetime(2026, 11, 20, 1, 0, tzinfo=dt.timezone.utc)
END = START + dt.timedelta(hours=2)


def flags(late: int, early: int, **policy) -> set[Flag]:
    activity = Activity(category="elderly", starts_at=START, ends_at=END, credit_mode="actual")
    attendance = Attendance(checked_in_at=START + dt.timedelta(minutes=late), checked_out_at=END - dt.timedelta(minutes=early))
    return set(work_out(activity, attendance, {**DEFAULTS, **policy}).flags)


@pytest.mark.parametrize(
    ("policy", "late", "flagged"),
    [
        ({}, 15, False),  # the default: 5 minutes, but never under the 15-minute rounding step
        ({}, 16, True),
        ({"rounding_minutes": 1}, 6, True),  # with rounding to the minute, the 5 minutes are the threshold
        ({"rounding_minutes": 1}, 5, False),
        ({"flag_threshold_minutes": 30}, 30, False),
        ({"flag_threshold_minutes": 30}, 31, True),
        ({"flag_threshold_minutes": 0, "rounding_minutes": 1}, 2, True),
    ],
)
def test_arriving_late_or_leaving_early_is_flagged_beyond_the_threshold(policy, late, flagged):
    assert (Flag.LATE in flags(late, 0, **policy)) is flagged
    assert (Flag.EARLY_LEAVE in flags(0, late, **policy)) is flagged


def test_the_threshold_and_the_pool_rule_are_set_in_the_policy_editor(app, make_person, org_tree, session):
    coordinator = signed_in(app, make_person("coordinator", name="东城协调员"))
    east = org_tree["east"].id
    page = text(coordinator.get(f"/organisations/{east}"))
    assert "迟到或早退超过多少分钟时标记" in page and "超出存储上限的时间币转入社区公益时间池" in page

    refused = send(coordinator, f"/organisations/{east}/policies", flag_threshold_minutes="500")
    assert refused.status_code == 422 and "超出了旁边注明的范围" in text(refused)

    answer = send(coordinator, f"/organisations/{east}/policies", flag_threshold_minutes="20", hours_over_cap_to_pool="yes")
    assert answer.status_code == 302
    policies = coordinator.get(f"/api/v1/organisations/{east}/policies").json["effective"]
    assert (policies["flag_threshold_minutes"], policies["hours_over_cap_to_pool"]) == (20, True)
