"""At any station's counter a volunteer's star level and right to spend hours are their own policy's (通存通兑)."""

from __future__ import annotations

import pytest

from timebank.orgs.services import set_policies
from timebank.redeem import counter
from tests.conftest import NOW, SECRET, SYSTEM
from tests.redeem.conftest import basket, visit_ticket
from timebank.auth.codes import phone_code

ONE_HOUR_STAR = [1, 300, 600, 1000, 1500]  # one star from a single certified hour


def star_at_counter(session, shop, volunteer) -> int:
    visit = counter.start_visit(session, shop.counter(session), phone_code(volunteer, SECRET, now=NOW), SECRET, now=NOW)
    return visit.balances.star_level


def test_a_star_earned_at_home_shows_at_another_communitys_counter(session, shop, org_tree, make_person, fund):
    set_policies(session, org_tree["west"].id, {"star_thresholds_hours": ONE_HOUR_STAR}, actor=SYSTEM, now=NOW)
    session.commit()
    volunteer = make_person(org="west")  # the shop is in east, under the default thresholds
    fund(volunteer, points=10, minutes=120)
    assert star_at_counter(session, shop, volunteer) == 1


def test_hours_need_the_star_the_volunteers_own_policy_asks_for_wherever_they_spend(session, shop, org_tree, make_person, fund):
    set_policies(session, org_tree["west"].id, {"min_star_to_spend_hours": 1}, actor=SYSTEM, now=NOW)
    set_policies(session, org_tree["east"].id, {"star_thresholds_hours": ONE_HOUR_STAR}, actor=SYSTEM, now=NOW)
    session.commit()
    volunteer = make_person(org="west")  # no star at home: two hours are far from a hundred
    fund(volunteer, points=10, minutes=120)
    assert star_at_counter(session, shop, volunteer) == 0
    with pytest.raises(counter.NotEligible) as refused:
        counter.redeem(session, shop.counter(session), basket(visit_ticket(session, shop, volunteer), (shop.care, 1)), SECRET, now=NOW)
    assert refused.value.params == {"stars": 1, "level": 0}
