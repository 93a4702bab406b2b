"""Verify ties every redemption and void to its transaction: a deleted one or a rewritten amount is named."""

from __future__ import annotations

import pytest

from timebank.ledger import Breach, Transaction
from timebank.redeem import counter
from timebank.redeem.ties import check_redemptions
from tests.conftest import NOW, SECRET
from tests.ledger.tampering import breaches, deletion_of, tamper
from tests.redeem.conftest import basket, visit_ticket


@pytest.fixture
def redeemed(session, shop, make_person, fund):
    """Two redemptions of a haircut (20 points each) by one volunteer, the second voided; committed."""
    volunteer = make_person()
    fund(volunteer, points=100)
    made = [
        counter.redeem(session, shop.counter(session), basket(visit_ticket(session, shop, volunteer), (shop.haircut, 1)), SECRET, now=NOW)[0]
        for _ in range(2)
    ]
    counter.void_redemption(session, made[1], shop.counter(session), {"reason": "按错了"}, now=NOW)
    session.commit()
    return made


def test_redemptions_and_voids_tie_to_the_ledger(session, redeemed):
    assert breaches(session, checks=[check_redemptions]) == []


def test_a_whole_deleted_redemption_transaction_is_named(session, redeemed):
    """Both legs, the row and the balances made to agree: the redemption still points at what is gone."""
    first = redeemed[0]
    txn = first.transaction_id
    tamper(session, *deletion_of(txn))

    found = breaches(session, checks=[check_redemptions])

    assert Breach("redemption_transaction", f"redemption {first.id} ({first.number}) has no redemption transaction of its own (transaction {txn})") in found
    assert Breach("redemption_amounts", f"redemption {first.id} ({first.number}) moves -20 points and 0 min, but its transactions move 0 and 0 on the volunteer's accounts") in found


def test_a_void_without_its_reversal_and_a_redemption_transaction_without_a_redemption_are_named(session, redeemed):
    first, voided = redeemed
    session.execute(
        first.__table__.update().where(first.__table__.c.id == voided.id).values(void_transaction_id=first.transaction_id, transaction_id=first.transaction_id)
    )
    session.commit()
    orphan = voided.transaction_id

    found = breaches(session, checks=[check_redemptions])

    assert Breach("redemption_void", f"redemption {voided.id} ({voided.number}) is voided but its reversal {first.transaction_id} is missing or reverses something else") in found
    assert Breach("redemption_orphan", f"redemption transaction {orphan} belongs to no redemption") in found
    assert session.get(Transaction, orphan).kind == "redemption"
