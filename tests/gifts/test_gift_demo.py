"""The demo's gifts, donations and pool allocations, made through the services."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from sqlalchemy import select

from timebank import ledger
from timebank.gifts.demo import ALLOCATION_MINUTES, build_gifts
from timebank.ledger import Transaction
from timebank.needs.models import PoolAllocation
from tests.conftest import NOW
from tests.gifts.factories import fill_pool, fund, link_family, make_need, make_resident


def test_the_demo_has_gifts_along_family_links_and_donations_to_pools(demo_db):
    database, summary = demo_db
    assert "gifts: " in summary and "to family" in summary
    with database.session(write=False) as session:
        gifts = session.scalars(select(Transaction).where(Transaction.ref_type == "family_link")).all()
        donations = session.scalars(select(Transaction).where(Transaction.kind == "donation", Transaction.ref_type == "organisation")).all()
        assert gifts and donations
        assert all(t.actor_id == t.postings[0].account.owner_id for t in gifts + donations)
        assert list(ledger.verify(session)) == []


def test_the_demo_sets_pool_hours_aside_for_those_over_80_living_alone_first(session, org_tree, make_person):
    coordinator = make_person("coordinator", name="王协调")
    mother, son = make_person(name="张奶奶"), make_person(name="张小明")
    fund(session, mother, 300)
    link_family(session, son, mother)
    fill_pool(session, org_tree["east"].id, 150, donor=make_person(name="捐赠人"))
    east = org_tree["east"].id
    alone = make_need(session, make_resident(session, east, name="独居", born=dt.date(1938, 1, 1), groups="living_alone"))
    make_need(session, make_resident(session, east, name="其他"))
    cast = SimpleNamespace(families=[(son.id, mother.id, "parent")], volunteers=[mother], managers={"east": coordinator},
                           organisations=org_tree)
    line = build_gifts(session, cast=cast, now=NOW)
    session.commit()
    assert line == "gifts: 1 to family, 1 donations to community pools, 1 pool allocations to needs"
    allocation = session.scalars(select(PoolAllocation)).one()
    assert (allocation.need_id, allocation.minutes) == (alone.id, ALLOCATION_MINUTES)
