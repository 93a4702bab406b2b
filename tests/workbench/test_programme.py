"""The coordinator's figures, against a programme worked out by hand (tests/workbench/conftest.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from timebank.domain import InvalidInput, NotFound
from timebank.people.access import actor_for
from timebank.workbench import programme as figures, tallies
from tests.conftest import NOW


def scope_for(session, person, **filters):
    return figures.programme_scope(session, actor=actor_for(session, person), now=NOW, **filters)


def test_the_coordinators_figures_are_those_worked_out_by_hand(session, programme_world, org_tree):
    found = figures.programme(session, scope_for(session, programme_world["people"]["coordinator"]))
    assert found.months[0] == "2025-12" and found.months[-1] == "2026-11" and len(found.months) == 12
    assert found.hours_by_month["2026-10"] == {"elderly": 210}
    # The talk began at 01:00 on 1 November in Shanghai (31 October in UTC): a November hour.
    assert found.hours_by_month["2026-11"] == {"elderly": 120, "civility": 60}
    assert found.hours_by_month["2026-09"] == {}
    assert found.total_minutes == 390
    assert found.active_volunteers == 2
    assert found.registered_volunteers == 5 and found.new_volunteers == 5 and found.new_by_month["2026-11"] == 5
    assert found.needs["red"] == {"ordered": 1, "closed": 1}
    assert found.needs["blue"] == {"referred": 1} and found.needs["yellow"] == {"recorded": 1} and found.needs["green"] == {}
    times = {r.colour: r for r in found.response_times}
    assert (times["red"].triaged, times["red"].median_hours, round(times["red"].p90_hours, 6)) == (2, 3.0, 3.8)
    assert (times["blue"].median_hours, times["blue"].p90_hours) == (10.0, 10.0)
    assert times["yellow"].triaged == 0 and times["yellow"].median_hours is None
    assert found.grades == {"green": 1, "blue": 0, "yellow": 0, "red": 1}
    assert found.redemptions_by_month["2026-11"] == (1, 15) and found.redemptions_by_month["2026-10"] == (0, 0)
    assert found.points_outstanding == 40 + 25
    assert found.certificates == {"service_record": 1, "programme": 0}


def test_a_street_coordinator_sees_both_communities_and_may_narrow_to_one(session, programme_world, org_tree):
    street = programme_world["people"]["street_coordinator"]
    everything = figures.programme(session, scope_for(session, street))
    assert everything.hours_by_month["2026-11"] == {"elderly": 120 + 500, "civility": 60}
    assert everything.points_outstanding == 40 + 25 + 1000
    assert everything.grades["blue"] == 1
    west = figures.programme(session, scope_for(session, street, organisation_id=org_tree["west"].id))
    assert west.hours_by_month["2026-11"] == {"elderly": 500} and west.points_outstanding == 1000
    assert west.needs["red"] == {"recorded": 1}


def test_points_outstanding_are_the_same_kept_or_folded(session, programme_world):
    scope = scope_for(session, programme_world["people"]["street_coordinator"])
    kept = figures.points_outstanding(session, scope)
    tallies.fold(session)
    assert kept == figures.points_outstanding(session, scope) == 40 + 25 + 1000


def test_the_date_range_limits_every_dated_figure(session, programme_world):
    found = figures.programme(session, scope_for(session, programme_world["people"]["coordinator"],
                                                 start=dt.date(2026, 10, 1), end=dt.date(2026, 10, 31)))
    assert found.months == ["2026-10"]
    assert found.hours_by_month == {"2026-10": {"elderly": 210}}
    assert found.needs["red"] == {"ordered": 1} and found.needs["blue"] == {}
    assert found.redemptions_by_month == {"2026-10": (0, 0)}
    assert found.certificates["service_record"] == 0
    assert found.points_outstanding == 65  # a balance now, whatever the range


def test_a_coordinator_cannot_look_into_another_subtree(session, programme_world, org_tree):
    with pytest.raises(NotFound):
        scope_for(session, programme_world["people"]["coordinator_west"], organisation_id=org_tree["east"].id)


def test_a_range_ending_before_it_starts_is_refused(session, programme_world):
    with pytest.raises(InvalidInput):
        scope_for(session, programme_world["people"]["coordinator"], start=dt.date(2026, 11, 1), end=dt.date(2026, 10, 1))


def test_percentile_interpolates_between_ranks():
    assert figures.percentile([], 0.5) is None
    assert figures.percentile([5.0], 0.9) == 5.0
    assert figures.percentile([1.0, 2.0, 3.0, 4.0, 5.0], 0.9) == pytest.approx(4.6)
