"""A refusal that names a time on another day names the day too."""

from __future__ import annotations

import datetime as dt

import pytest

from timebank.events import checkin
from tests.conftest import NOW
from tests.events.test_checkin_rules import scan


def test_check_in_two_days_early_says_the_date_it_opens(session, make_activity, make_person):
    activity = make_activity(starts_at=NOW + dt.timedelta(days=2), ends_at=NOW + dt.timedelta(days=2, hours=2))
    with pytest.raises(checkin.NotStarted) as refused:
        scan(session, activity, make_person())
    assert refused.value.params == {"opens": "2026-11-22 09:00"}


def test_check_in_the_same_morning_says_only_the_time(session, make_activity, make_person):
    activity = make_activity(starts_at=NOW + dt.timedelta(hours=2), ends_at=NOW + dt.timedelta(hours=3))
    with pytest.raises(checkin.NotStarted) as refused:
        scan(session, activity, make_person())
    assert refused.value.params == {"opens": "11:00"}


def test_a_late_scan_on_a_later_day_says_the_date_the_activity_ended(session, make_activity, make_person):
    activity = make_activity(starts_at=NOW - dt.timedelta(days=3), ends_at=NOW - dt.timedelta(days=3) + dt.timedelta(hours=2))
    with pytest.raises(checkin.Ended) as refused:
        scan(session, activity, make_person())
    assert refused.value.params == {"ends": "2026-11-17 12:00"}
