"""A quantity, a price or an id is a whole number: 1.5 is refused, never quietly read as 1."""

from __future__ import annotations

import pytest

from timebank.domain import InvalidInput
from timebank.redeem import counter
from tests.conftest import NOW, SECRET
from tests.redeem.conftest import basket, visit_ticket


@pytest.mark.parametrize("quantity", [1.5, True, 2**63])
def test_a_quantity_that_is_not_a_whole_number_is_refused_and_nothing_is_redeemed(session, shop, make_person, fund, quantity):
    volunteer = make_person()
    fund(volunteer, points=200)
    request = basket(visit_ticket(session, shop, volunteer), (shop.rice, 1))
    request["lines"][0]["quantity"] = quantity
    with pytest.raises(InvalidInput) as refused:
        counter.redeem(session, shop.counter(session), request, SECRET, now=NOW)
    assert list(refused.value.errors) == ["lines"]


def test_a_whole_number_written_as_2_0_is_still_taken(session, shop, make_person, fund):
    volunteer = make_person()
    fund(volunteer, points=200)
    request = basket(visit_ticket(session, shop, volunteer), (shop.rice, 1))
    request["lines"][0]["quantity"] = 2.0
    redemption, _ = counter.redeem(session, shop.counter(session), request, SECRET, now=NOW)
    assert [line.quantity for line in redemption.lines] == [2]
