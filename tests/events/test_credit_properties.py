"""Properties of the credit rule, for any check-in and check-out times (hypothesis; no database)."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, strategies as st

from timebank.events.credit import add_working_days, work_out
from timebank.events.models import Activity, Attendance, Flag
from timebank.orgs.policy import DEFAULTS

START = dt.datetime(2026, 11, 20, 1, 0, tzinfo=dt.timezone.utc)

minutes = st.integers(min_value=-180, max_value=600)
durations = st.integers(min_value=15, max_value=600)
steps = st.sampled_from([1, 5, 15, 30, 60])
shares = st.sampled_from([0.0, 0.5, 0.6, 1.0])


def case(duration: int, arrive: int, leave: int | None, step: int, share: float, category: str = "elderly"):
    activity = Activity(category=category, starts_at=START, ends_at=START + dt.timedelta(minutes=duration), credit_mode="actual")
    checked_in = START + dt.timedelta(minutes=arrive)
    checked_out = None if leave is None else max(checked_in, START + dt.timedelta(minutes=leave))
    attendance = Attendance(checked_in_at=checked_in, checked_out_at=checked_out)
    policy = {**DEFAULTS, "rounding_minutes": step, "min_attendance_share": share}
    return activity, attendance, policy


@given(durations, minutes, st.one_of(st.none(), minutes), steps, shares)
def test_credit_never_exceeds_the_activity_and_is_whole_steps(duration, arrive, leave, step, share):
    activity, attendance, policy = case(duration, arrive, leave, step, share)
    credit = work_out(activity, attendance, policy)
    assert 0 <= credit.minutes <= credit.attended_minutes <= duration
    assert credit.minutes % step == 0
    assert credit.points == credit.minutes * 10 // 60
    assert (Flag.SHORT in credit.flags) == (credit.attended_minutes < share * duration)
    if Flag.SHORT in credit.flags:
        assert credit.minutes == 0 and credit.points == 0
    assert (Flag.FORGOTTEN_CHECKOUT in credit.flags) == (leave is None)


@given(durations, minutes, minutes, steps)
def test_staying_longer_never_earns_less(duration, arrive, leave, step):
    short = work_out(*case(duration, arrive, leave, step, 0.6))
    longer = work_out(*case(duration, arrive, leave + 30, step, 0.6))
    assert longer.minutes >= short.minutes and longer.points >= short.points


@given(durations, minutes, st.one_of(st.none(), minutes))
def test_training_never_earns_points(duration, arrive, leave):
    credit = work_out(*case(duration, arrive, leave, 15, 0.6, category="training"))
    assert credit.points == 0


@given(st.dates(min_value=dt.date(2026, 1, 1), max_value=dt.date(2030, 12, 31)), st.integers(min_value=1, max_value=30))
def test_a_deadline_in_working_days_lands_on_a_weekday_at_least_that_many_days_on(day, count):
    due = add_working_days(day, count)
    assert due.weekday() < 5 and (due - day).days >= count
    assert sum(1 for i in range(1, (due - day).days + 1) if (day + dt.timedelta(days=i)).weekday() < 5) == count
