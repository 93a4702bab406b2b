"""Gifts to family and donations to the pool, as services: each refusal in words, each success, retries."""

from __future__ import annotations

import pytest

from timebank import ledger
from timebank.audit.models import AuditEntry
from timebank.domain import InvalidInput, NotFound
from timebank.gifts import services
from timebank.gifts.eligibility import LinkNotConfirmed, NotEnoughHours, NotLinked, NotYetEligible
from timebank.ledger import rules
from timebank.ledger.models import Commodity, Transaction
from timebank.needs import pool
from timebank.notices.models import Notice
from timebank.orgs.services import set_policies
from tests.conftest import NOW, SYSTEM
from tests.gifts.factories import fund, link_family


def hours_of(session, person):
    return ledger.balance(session, rules.volunteer_code(person.id, Commodity.HOUR)).posted


def give(session, family, giver, receiver, minutes, key="form-1"):
    return services.give(session, receiver.id, minutes, actor=family.actor(session, giver), now=NOW, key=key)


def test_a_gift_moves_hours_to_the_family_member_records_who_and_tells_them(session, family):
    txn = give(session, family, family.mother, family.son, 90)
    session.commit()
    assert (txn.kind, txn.actor_id) == ("transfer", family.mother.id)
    assert hours_of(session, family.mother) == 90 and hours_of(session, family.son) == 120
    entry = session.query(AuditEntry).filter_by(action="give_hours").one()
    assert (entry.actor_id, entry.target_id) == (family.mother.id, family.son.id)
    notice = session.query(Notice).filter_by(person_id=family.son.id, kind="hours_received").one()
    assert "张奶奶" in notice.params_json and "1.5" in notice.params_json


def test_a_retried_gift_form_gives_once(session, family):
    first = give(session, family, family.mother, family.son, 180)
    session.commit()
    # The balance is now 0: the retry must not be refused for it, nor give twice.
    assert give(session, family, family.mother, family.son, 180).id == first.id
    session.commit()
    assert hours_of(session, family.mother) == 0 and hours_of(session, family.son) == 210
    with pytest.raises(services.FormSentTwice):
        give(session, family, family.mother, family.son, 60)


def test_a_gift_to_someone_not_linked_is_refused_in_words(session, family):
    with pytest.raises(NotLinked) as refused:
        give(session, family, family.mother, family.stranger, 60)
    assert str(refused.value) == "张奶奶 and 陌生人 are not linked as family. Link each other on the “My family” page first."


def test_a_gift_along_an_unconfirmed_link_is_refused_in_words(session, family):
    link_family(session, family.stranger, family.mother, confirmed=False)
    with pytest.raises(LinkNotConfirmed, match="between 张奶奶 and 陌生人 is not confirmed yet"):
        give(session, family, family.mother, family.stranger, 60)


def test_a_gift_beyond_the_receiver_s_cap_is_refused_with_the_room_left(session, org_tree, family):
    set_policies(session, org_tree["east"].id, {"hour_cap_minutes": 120}, actor=SYSTEM, now=NOW)
    with pytest.raises(services.ReceiverAtCap) as refused:
        give(session, family, family.mother, family.son, 120)
    assert str(refused.value) == "张小明 can take only 1.5 h more under the storage cap of 2 h; 2 h were offered."
    session.rollback()
    give(session, family, family.mother, family.son, 90)
    session.commit()
    assert hours_of(session, family.son) == 120


def test_the_cap_is_the_receiver_s_own_policy(session, org_tree, make_person, family):
    cousin = make_person(name="西关亲戚", org="west")
    link_family(session, family.mother, cousin)
    set_policies(session, org_tree["west"].id, {"hour_cap_minutes": 60}, actor=SYSTEM, now=NOW)
    with pytest.raises(services.ReceiverAtCap, match="only 1 h more"):
        give(session, family, family.mother, cousin, 90)
    session.rollback()
    give(session, family, family.mother, family.son, 90, key="to-son")  # the son's cap (east) is the default


def test_a_gift_of_more_than_the_balance_is_refused_with_the_balance(session, family):
    with pytest.raises(NotEnoughHours) as refused:
        give(session, family, family.son, family.mother, 60)
    assert str(refused.value) == "张小明 has 0.5 h of time credit available; 1 h are needed, 0.5 h missing."


def test_held_hours_cannot_be_given(session, family):
    ledger.hold(session, rules.volunteer_code(family.mother.id, Commodity.HOUR), 150, actor=1, now=NOW,
                expires_at=NOW.replace(year=2027), idempotency_key="order")
    with pytest.raises(NotEnoughHours, match="has 0.5 h"):
        give(session, family, family.mother, family.son, 60)


def test_a_giver_not_yet_eligible_is_told_why(session, org_tree, family):
    set_policies(session, org_tree["east"].id, {"min_age_to_spend_hours": 65}, actor=SYSTEM, now=NOW)
    with pytest.raises(NotYetEligible, match="张小明 may spend hours from the age of 65, and is 46."):
        give(session, family, family.son, family.mother, 30)
    set_policies(session, org_tree["east"].id, {"min_age_to_spend_hours": 0, "min_star_to_spend_hours": 2}, actor=SYSTEM, now=NOW)
    with pytest.raises(NotYetEligible, match="from 2 stars on, and has 0 so far"):
        give(session, family, family.mother, family.son, 30)


def test_a_giver_without_a_birth_date_under_an_age_rule_is_told_to_have_it_added(session, org_tree, family):
    family.son.birth_date = None
    set_policies(session, org_tree["east"].id, {"min_age_to_spend_hours": 65}, actor=SYSTEM, now=NOW)
    with pytest.raises(NotYetEligible, match="no birth date is recorded"):
        give(session, family, family.son, family.mother, 30)


def test_gifts_switched_off_by_policy_are_refused(session, org_tree, family):
    set_policies(session, org_tree["street"].id, {"family_transfers": False}, actor=SYSTEM, now=NOW)
    with pytest.raises(NotYetEligible, match="Gifts of hours to family members are not part of the programme of 东城社区"):
        give(session, family, family.mother, family.son, 30)


@pytest.mark.parametrize("minutes", [0, -30, 1000 * 60 + 1, True])
def test_a_gift_of_nothing_or_too_much_is_refused_as_input(session, family, minutes):
    with pytest.raises(InvalidInput):
        give(session, family, family.mother, family.son, minutes)


def test_a_gift_to_oneself_or_nobody_is_not_found(session, family):
    with pytest.raises(NotFound):
        give(session, family, family.mother, family.mother, 30)
    with pytest.raises(NotFound):
        services.give(session, 999_999, 30, actor=family.actor(session, family.mother), now=NOW, key="x")


def test_a_donation_goes_to_the_donor_s_community_pool_once(session, org_tree, family):
    actor = family.actor(session, family.mother)
    txn = services.donate(session, 60, actor=actor, now=NOW, key="d-1")
    assert services.donate(session, 60, actor=actor, now=NOW, key="d-1").id == txn.id
    session.commit()
    assert txn.kind == "donation" and hours_of(session, family.mother) == 120
    assert pool.figures(session, org_tree["east"].id) == pool.PoolFigures(balance=60, held=0)
    assert session.query(AuditEntry).filter_by(action="donate_hours", target_id=org_tree["east"].id).count() == 1


def test_a_team_member_donates_to_the_community_above_the_team(session, org_tree, make_person):
    member = make_person(name="队员", org="east_team")
    fund(session, member, 60)
    services.donate(session, 60, actor=SYSTEM.__class__(member.id), now=NOW, key="d")
    assert pool.figures(session, org_tree["east"].id).balance == 60


def test_a_donation_beyond_the_balance_or_switched_off_is_refused_in_words(session, org_tree, family):
    actor = family.actor(session, family.son)
    with pytest.raises(NotEnoughHours, match="张小明 has 0.5 h of time credit available; 1 h are needed, 0.5 h missing."):
        services.donate(session, 60, actor=actor, now=NOW, key="d")
    set_policies(session, org_tree["east"].id, {"donations": False}, actor=SYSTEM, now=NOW)
    with pytest.raises(NotYetEligible, match="Donations to the community pool are not part of the programme of 东城社区"):
        services.donate(session, 30, actor=actor, now=NOW, key="d")


def test_the_statement_names_the_other_side_of_gifts_and_donations(session, org_tree, family):
    gift = give(session, family, family.mother, family.son, 30)
    donation = services.donate(session, 30, actor=family.actor(session, family.mother), now=NOW, key="d")
    credit = session.query(Transaction).filter_by(kind="service_credit").first()
    assert services.counterparts(session, [gift.id, donation.id, credit.id], family.mother.id) == {gift.id: "张小明", donation.id: "东城社区"}
    assert services.counterparts(session, [gift.id], family.son.id) == {gift.id: "张奶奶"}
