"""Each 四色分级 rule at its boundary, with the explanation and the next step it gives (pure rules, no database)."""

from __future__ import annotations

import pytest

from timebank.grading import rules
from timebank.orgs.policy import DEFAULTS


def figures(**changes):
    base = {"window": 90, "services": 3, "idle_days": 5, "idle_over": False, "no_shows": 0, "no_shows_year": 0,
            "ratings": 0, "rating_avg": None, "complaints": 0}
    return {**base, **changes}


@pytest.mark.parametrize(("idle", "colour"), [(89, "blue"), (90, "blue"), (91, "yellow"), (180, "yellow"), (181, "red")])
def test_days_without_service_turn_yellow_after_90_and_red_after_180(idle, colour):
    assert rules.volunteer_colour(figures(services=0, idle_days=idle), DEFAULTS) == colour


@pytest.mark.parametrize(("recent", "colour"), [(1, "green"), (2, "yellow")])
def test_two_no_shows_in_the_window_turn_yellow(recent, colour):
    assert rules.volunteer_colour(figures(no_shows=recent, no_shows_year=recent), DEFAULTS) == colour


@pytest.mark.parametrize(("year", "colour"), [(4, "green"), (5, "red")])
def test_five_no_shows_in_a_year_turn_red(year, colour):
    assert rules.volunteer_colour(figures(no_shows_year=year), DEFAULTS) == colour


@pytest.mark.parametrize(("average", "colour"), [(2.99, "yellow"), (3.0, "green")])
def test_an_average_rating_under_three_turns_yellow(average, colour):
    assert rules.volunteer_colour(figures(ratings=4, rating_avg=average), DEFAULTS) == colour


@pytest.mark.parametrize(("services", "colour"), [(2, "blue"), (3, "green")])
def test_green_needs_three_services_in_the_window(services, colour):
    assert rules.volunteer_colour(figures(services=services), DEFAULTS) == colour


def test_an_upheld_complaint_turns_yellow_unless_the_policy_says_never():
    assert rules.volunteer_colour(figures(complaints=1), DEFAULTS) == "yellow"
    assert rules.volunteer_colour(figures(complaints=3), {**DEFAULTS, "grade_yellow_complaints": 0}) == "green"


def test_a_stricter_policy_moves_the_boundary():
    policy = {**DEFAULTS, "grade_yellow_idle_days": 30}
    assert rules.volunteer_colour(figures(services=0, idle_days=31), policy) == "yellow"


def test_the_explanation_states_the_figures():
    text = rules.explain(figures(services=0, idle_days=120, no_shows=2, no_shows_year=3, ratings=2, rating_avg=2.5, complaints=1))
    assert text == ("0 services in 90 days; no service for 120 days; 2 no-shows in 90 days, 3 in a year; "
                    "average rating 2.50 of 2; 1 upheld complaints")


def test_the_explanation_of_a_long_absence_says_over():
    assert "no service for over 365 days" in rules.explain(figures(services=0, idle_days=365, idle_over=True))


@pytest.mark.parametrize(("services", "idle", "colour", "step"), [
    (0, 100, "yellow", "1 more service will make you blue."),
    (1, 3, "blue", "2 more service will make you green."),
    (0, 200, "red", "1 more service will make you blue."),
])
def test_the_next_step_says_how_many_services_lift_the_colour(services, idle, colour, step):
    found = figures(services=services, idle_days=idle)
    assert rules.volunteer_colour(found, DEFAULTS) == colour
    assert rules.next_step(colour, found, DEFAULTS) == step


def test_no_shows_ask_for_coming_or_cancelling_in_time_not_for_more_service():
    step = rules.next_step("yellow", figures(no_shows=2, no_shows_year=2), DEFAULTS)
    assert "cancel at least 24 hours before" in step


def test_green_has_no_next_step():
    assert rules.next_step("green", figures(), DEFAULTS) is None


@pytest.mark.parametrize(("counts", "colour"), [
    ({"green": 5, "blue": 0, "yellow": 0, "red": 5}, "red"),
    ({"green": 5, "blue": 0, "yellow": 3, "red": 2}, "yellow"),
    ({"green": 5, "blue": 1, "yellow": 2, "red": 2}, "green"),
    ({"green": 4, "blue": 3, "yellow": 2, "red": 1}, "blue"),
])
def test_a_team_takes_the_worst_colour_half_its_members_share(counts, colour):
    found = {"members": sum(counts.values()), **counts}
    assert rules.team_colour(found, DEFAULTS) == colour
    assert rules.explain(found).startswith(f"{found['members']} members: {counts['green']} green")
