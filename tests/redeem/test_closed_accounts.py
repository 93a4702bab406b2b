"""A closed ledger account at the counter is said as the clerk knows it, never by its ledger code."""

from __future__ import annotations

import pytest

from timebank import ledger
from timebank.ledger import rules
from timebank.ledger.models import Commodity
from timebank.redeem import counter
from tests.conftest import NOW, SECRET
from tests.redeem.conftest import basket, visit_ticket


def test_a_closed_account_at_the_counter_is_said_as_the_clerk_knows_it(session, shop, make_person, fund):
    volunteer = make_person(name="张秀英")
    fund(volunteer, points=0, minutes=60)
    ledger.close_account(session, rules.volunteer_code(volunteer.id, Commodity.PTS), now=NOW)
    session.commit()
    with pytest.raises(counter.RedemptionRefused) as refused:
        counter.redeem(session, shop.counter(session), basket(visit_ticket(session, shop, volunteer), (shop.haircut, 1)), SECRET, now=NOW)
    assert refused.value.template == "This volunteer's accounts are closed; nothing can be redeemed or given back."
