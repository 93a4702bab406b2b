"""The service-purchase rule and a hold captured to several accounts (the storage cap's share to the pool)."""

from __future__ import annotations

import datetime as dt

import pytest

from timebank import ledger
from timebank.ledger import rules
from timebank.ledger.posting import Leg
from tests.conftest import ACTOR, NOW

LATER = NOW + dt.timedelta(days=1)


def test_a_purchase_pays_the_volunteer_in_full_by_default():
    assert rules.service_purchase_legs("vol:1:HOUR", 2, 60) == [Leg("vol:1:HOUR", -60), Leg("vol:2:HOUR", 60)]


def test_above_the_cap_the_rest_goes_to_the_pool_or_stays_with_the_payer():
    assert rules.service_purchase_legs("vol:1:HOUR", 2, 60, deposit=20, pool=3) == [
        Leg("vol:1:HOUR", -60), Leg("vol:2:HOUR", 20), Leg("org:3:pool:HOUR", 40)]
    assert rules.service_purchase_legs("vol:1:HOUR", 2, 60, deposit=20) == [Leg("vol:1:HOUR", -20), Leg("vol:2:HOUR", 20)]
    # A pool paying never pays itself its own minutes back.
    assert rules.service_purchase_legs("org:3:pool:HOUR", 2, 60, deposit=20, pool=3) == [
        Leg("org:3:pool:HOUR", -20), Leg("vol:2:HOUR", 20)]


@pytest.mark.parametrize("minutes, deposit", [(0, None), (-5, None), (60, -1), (60, 0)])
def test_a_purchase_of_nothing_or_backwards_is_refused(minutes, deposit):
    with pytest.raises(ledger.InvalidAmount):
        rules.service_purchase_legs("vol:1:HOUR", 2, minutes, deposit=deposit)


def test_a_hold_captured_to_several_accounts_posts_once_and_frees_the_rest(session, ledger_setup, credit):
    ledger_setup(volunteers=(1, 2))
    credit(1, minutes=120)
    rules.open_pool_account(session, 3, now=NOW)
    held = ledger.hold(session, "vol:1:HOUR", 90, actor=ACTOR, now=NOW, expires_at=LATER, idempotency_key="visit")
    legs = rules.service_purchase_legs("vol:1:HOUR", 2, 60, deposit=20, pool=3)
    txn = ledger.capture(session, held, legs=legs, amount=60, kind="service_purchase", actor=ACTOR, now=NOW)
    assert ledger.capture(session, held, legs=legs, amount=60, kind="service_purchase", actor=ACTOR, now=NOW).id == txn.id
    session.commit()
    assert ledger.balance(session, "vol:1:HOUR") == ledger.Balance(posted=60, held=0)
    assert ledger.balance(session, "vol:2:HOUR").posted == 20
    assert ledger.balance(session, "org:3:pool:HOUR").posted == 40
    assert list(ledger.verify(session)) == []


def test_capture_legs_that_do_not_take_the_captured_amount_are_refused(session, ledger_setup, credit):
    ledger_setup(volunteers=(1, 2))
    credit(1, minutes=120)
    held = ledger.hold(session, "vol:1:HOUR", 90, actor=ACTOR, now=NOW, expires_at=LATER, idempotency_key="visit")
    with pytest.raises(ledger.LedgerError, match="must take 60"):
        ledger.capture(session, held, legs=[Leg("vol:1:HOUR", -30), Leg("vol:2:HOUR", 30)], amount=60,
                       kind="service_purchase", actor=ACTOR, now=NOW)
    assert held.status == "open"
