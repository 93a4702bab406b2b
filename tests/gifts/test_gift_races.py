"""Gifts at the same instant, each in its own connection, on a file SQLite and on PostgreSQL."""

from __future__ import annotations

from timebank import ledger
from timebank.gifts import services
from timebank.gifts.eligibility import SpendingRefused
from timebank.ledger import rules
from timebank.ledger.models import Commodity
from timebank.orgs.services import set_policies
from timebank.people.access import actor_for
from tests.conftest import NOW, SYSTEM
from tests.gifts.factories import fund, link_family
from tests.ledger.test_concurrency import kinds, race


def balance(session, person):
    return ledger.balance(session, rules.volunteer_code(person.id, Commodity.HOUR))


def gift(giver, receiver, minutes):
    def work(s, i):
        return services.give(s, receiver.id, minutes, actor=actor_for(s, giver.id), now=NOW, key=f"race-{i}")
    return work


def test_two_gifts_draining_one_balance_at_once_give_once_and_nobody_goes_below_zero(db, session, family):
    results = race(db, 2, gift(family.mother, family.son, 120), refusals=(SpendingRefused,))
    assert kinds(results) == {"Transaction": 1, "NotEnoughHours": 1}
    session.expire_all()
    assert balance(session, family.mother).posted == 60 and balance(session, family.son).posted == 150
    assert list(ledger.verify(session)) == []


def test_many_gifts_at_once_give_exactly_what_the_balance_allows(db, session, family):
    results = race(db, 8, gift(family.mother, family.son, 60), refusals=(SpendingRefused,))
    assert kinds(results) == {"Transaction": 3, "NotEnoughHours": 5}
    session.expire_all()
    assert balance(session, family.mother).posted == 0
    assert list(ledger.verify(session)) == []


def test_gifts_racing_for_the_last_room_under_the_receiver_s_cap_take_it_once(db, session, org_tree, family, make_person):
    daughter = make_person(name="张小红")
    fund(session, daughter, 120)
    link_family(session, daughter, family.son)
    set_policies(session, org_tree["east"].id, {"hour_cap_minutes": 90}, actor=SYSTEM, now=NOW)
    session.commit()

    def work(s, i):
        giver = (family.mother, daughter)[i % 2]
        return services.give(s, family.son.id, 60, actor=actor_for(s, giver.id), now=NOW, key=f"cap-{i}")

    results = race(db, 4, work, refusals=(SpendingRefused,))
    assert kinds(results) == {"Transaction": 1, "ReceiverAtCap": 3}
    session.expire_all()
    assert balance(session, family.son).posted == 90


def test_opposite_gifts_at_once_do_not_deadlock(db, session, family):
    fund(session, family.son, 300)

    def work(s, i):
        giver, receiver = (family.mother, family.son) if i % 2 else (family.son, family.mother)
        return services.give(s, receiver.id, 10, actor=actor_for(s, giver.id), now=NOW, key=f"both-{i}")

    results = race(db, 10, work, refusals=(SpendingRefused,))
    assert kinds(results) == {"Transaction": 10}
    session.expire_all()
    assert balance(session, family.mother).posted == 180 and balance(session, family.son).posted == 330
