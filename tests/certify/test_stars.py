"""Star levels: read from certified service hours, each recorded with the date of the service that reached it."""

from __future__ import annotations

import datetime as dt

from timebank.certify.stars import star_events
from timebank.events.review import adjust_minutes
from timebank.localtime import local_day
from tests.conftest import NOW


def test_each_star_level_is_recorded_with_the_date_of_the_service_that_reached_it(session, make_person, serve, low_stars):
    volunteer = make_person()
    serve(volunteer, minutes=60, days_ago=30)
    second = serve(volunteer, minutes=60, days_ago=20)  # 2 h: one star
    assert [(e.level, e.lost_at) for e in star_events(session, volunteer.id)] == [(1, None)]
    third = serve(volunteer, minutes=150, days_ago=10)  # 4.5 h: two stars
    events = star_events(session, volunteer.id)
    assert [e.level for e in events] == [1, 2]
    assert local_day(events[0].reached_at) == local_day(second.checked_out_at) == local_day(NOW - dt.timedelta(days=20))
    assert local_day(events[1].reached_at) == local_day(third.checked_out_at) == local_day(NOW - dt.timedelta(days=10))


def test_a_correction_that_takes_hours_below_a_threshold_marks_the_level_lost(session, make_person, serve, low_stars, reviewer):
    volunteer = make_person()
    serve(volunteer, minutes=60, days_ago=30)
    second = serve(volunteer, minutes=60, days_ago=20)
    adjust_minutes(session, second.id, {"minutes": 30, "reason": "签退时间记录有误"}, actor=reviewer, now=NOW)
    session.commit()
    [event] = star_events(session, volunteer.id)
    assert event.level == 1 and event.lost_at == NOW


def test_training_hours_count_as_training_and_earn_no_star(session, make_person, serve, low_stars):
    volunteer = make_person()
    serve(volunteer, minutes=600, category="training")
    assert star_events(session, volunteer.id) == []


def test_the_policy_sets_the_thresholds(session, make_person, serve):
    volunteer = make_person()
    serve(volunteer, minutes=600)  # 10 h: no star at the default 100 h
    assert star_events(session, volunteer.id) == []
