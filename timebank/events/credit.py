"""What an attendance earns under the policy: minutes, points and the flags a reviewer should see.

Pure functions of the activity, the attendance, the policy and the clock; the
review shows what they compute and approval posts exactly that.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from timebank.events.models import Activity, Attendance, CreditMode, Flag

@dataclass(frozen=True)
class Credit:
    """An attendance's worked-out credit."""

    attended_minutes: int  # inside the activity's window
    minutes: int  # to credit (after share rule, rounding, fixed amount or a reviewer's adjustment)
    points: int
    flags: tuple[Flag, ...]

    @property
    def flagged(self) -> bool:
        """True if a reviewer should look at it before approving."""
        return bool(self.flags)


def _minutes(delta: dt.timedelta) -> int:
    return max(0, int(delta.total_seconds() // 60))


def points_for(activity: Activity, minutes: int, policy: Mapping[str, Any]) -> int:
    """Points for the minutes: the hourly rate times the category multiplier, rounded down; none for training."""
    if activity.is_training or minutes <= 0:
        return 0
    rate = activity.points_per_hour if activity.points_per_hour is not None else policy["points_per_hour"]
    multiplier = activity.points_multiplier
    if multiplier is None:
        multiplier = (policy.get("category_multipliers") or {}).get(activity.category, 1)
    return math.floor(Fraction(minutes) * Fraction(rate) * Fraction(str(multiplier)) / 60)


def flag_threshold(policy: Mapping[str, Any]) -> int:
    """Minutes late or early beyond which an attendance is flagged: the policy's, never under the rounding step.

    A gap shorter than one rounding step costs the volunteer at most that step,
    which rounding down already takes, so it needs no reviewer's eye.
    """
    return max(int(policy["flag_threshold_minutes"]), int(policy["rounding_minutes"]))


def work_out(activity: Activity, attendance: Attendance, policy: Mapping[str, Any]) -> Credit:
    """The credit for an attendance of a finished activity (an open one counts as a forgotten check-out)."""
    flags: list[Flag] = []
    tolerance = dt.timedelta(minutes=flag_threshold(policy))
    start = max(attendance.checked_in_at, activity.starts_at)
    if attendance.checked_in_at > activity.starts_at + tolerance:
        flags.append(Flag.LATE)
    if attendance.checked_out_at is None:
        flags.append(Flag.FORGOTTEN_CHECKOUT)
        end = activity.ends_at if policy["forgotten_checkout"] == "planned_end_flagged" else start
    else:
        end = min(attendance.checked_out_at, activity.ends_at)
        if attendance.checked_out_at < activity.ends_at - tolerance:
            flags.append(Flag.EARLY_LEAVE)
    if activity.radius_m is not None and attendance.distance_m is not None and attendance.distance_m > activity.radius_m:
        flags.append(Flag.OUTSIDE_DISTANCE)
    attended = _minutes(end - start)
    share = Fraction(attended, max(1, activity.duration_minutes))
    if share < Fraction(str(policy["min_attendance_share"])):
        flags.append(Flag.SHORT)
        minutes = 0
    elif activity.credit_mode == CreditMode.FIXED.value:
        minutes = activity.fixed_minutes or 0
    else:
        step = max(1, int(policy["rounding_minutes"]))
        minutes = attended // step * step
    if attendance.adjusted_minutes is not None:
        minutes = attendance.adjusted_minutes
    return Credit(attended, minutes, points_for(activity, minutes, policy), tuple(flags))


def expected_credit(activity: Activity, policy: Mapping[str, Any]) -> tuple[int, int]:
    """What full attendance earns (minutes, points): the figure the activity list shows."""
    if activity.credit_mode == CreditMode.FIXED.value:
        minutes = activity.fixed_minutes or 0
    else:
        step = max(1, int(policy["rounding_minutes"]))
        minutes = activity.duration_minutes // step * step
    return minutes, points_for(activity, minutes, policy)


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> int:
    """Great-circle distance in metres (haversine); plenty for "is the phone at the venue"."""
    radius = 6_371_000
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = math.radians(lat2 - lat1), math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return round(2 * radius * math.asin(math.sqrt(a)))


def add_working_days(day: dt.date, count: int) -> dt.date:
    """The date `count` working days (Monday to Friday) after `day`."""
    while count > 0:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            count -= 1
    return day
