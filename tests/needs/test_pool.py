"""The community pool: allocations in the policy's priority order, never beyond what is available, returned once."""

from __future__ import annotations

import datetime as dt

import pytest

from timebank import ledger
from timebank.audit.models import AuditEntry
from timebank.domain import InvalidInput, NotFound
from timebank.needs import pool
from timebank.needs.models import PoolAllocation
from timebank.orgs.services import set_policies
from timebank.people.access import actor_for
from tests.conftest import NOW, SYSTEM
from tests.gifts.factories import fill_pool, make_need, make_order, make_resident

EIGHTY_FIVE = dt.date(1941, 6, 1)
SEVENTY = dt.date(1956, 6, 1)


@pytest.fixture
def coordinator(session, make_person):
    return actor_for(session, make_person("coordinator", name="王协调"))


@pytest.fixture
def funded(session, org_tree, make_person):
    """East's pool holds 3 h."""
    fill_pool(session, org_tree["east"].id, 180, donor=make_person(name="捐赠人"))
    return org_tree["east"].id


def need_of(session, org_tree, name, *, born=None, groups="", colour="blue", minutes_ago=0):
    resident = make_resident(session, org_tree["east"].id, name=name, born=born, groups=groups)
    return make_need(session, resident, colour=colour, recorded_at=NOW - dt.timedelta(minutes=minutes_ago))


def names(rows):
    return [row.need.resident.real_name for row in rows]


def test_waiting_needs_come_over_80_living_alone_first_then_hardship_then_others(session, org_tree, coordinator):
    need_of(session, org_tree, "其他", minutes_ago=300)
    need_of(session, org_tree, "困难", groups="hardship", minutes_ago=200)
    need_of(session, org_tree, "独居70岁", born=SEVENTY, groups="living_alone", minutes_ago=250)
    need_of(session, org_tree, "独居85岁", born=EIGHTY_FIVE, groups="old_age,living_alone", minutes_ago=10)
    need_of(session, org_tree, "独居无生日", groups="living_alone", minutes_ago=400)
    rows = pool.waiting_needs(session, org_tree["east"].id, actor=coordinator, now=NOW)
    assert names(rows) == ["独居85岁", "困难", "独居无生日", "其他", "独居70岁"]  # others: the longest waiting first
    assert [row.group for row in rows] == ["living_alone_over_80", "hardship", "others", "others", "others"]


def test_within_a_group_the_urgent_and_the_pool_paid_come_first_then_the_longest_waiting(session, org_tree, coordinator):
    need_of(session, org_tree, "早", minutes_ago=300)
    need_of(session, org_tree, "红", colour="red", minutes_ago=10)
    paid = need_of(session, org_tree, "池付", minutes_ago=5)
    make_order(session, paid, payer="pool")
    assert names(pool.waiting_needs(session, org_tree["east"].id, actor=coordinator, now=NOW)) == ["池付", "红", "早"]


def test_the_priority_order_follows_the_policy(session, org_tree, coordinator):
    set_policies(session, org_tree["east"].id, {"pool_priority": ["hardship", "others", "living_alone_over_80"]}, actor=SYSTEM, now=NOW)
    need_of(session, org_tree, "独居85岁", born=EIGHTY_FIVE, groups="living_alone")
    need_of(session, org_tree, "其他")
    need_of(session, org_tree, "困难", groups="hardship")
    assert names(pool.waiting_needs(session, org_tree["east"].id, actor=coordinator, now=NOW)) == ["困难", "其他", "独居85岁"]


def test_a_priority_policy_must_name_each_group_once(session, org_tree):
    for wrong in (["hardship"], ["hardship", "hardship", "others"], ["a", "b", "c"], "hardship"):
        with pytest.raises(InvalidInput) as refused:
            set_policies(session, org_tree["east"].id, {"pool_priority": wrong}, actor=SYSTEM, now=NOW)
        assert list(refused.value.errors) == ["pool_priority"]


def test_needs_with_hours_set_aside_or_no_longer_waiting_are_not_listed(session, org_tree, coordinator, funded):
    held = need_of(session, org_tree, "已分配")
    need_of(session, org_tree, "已办结").status = "closed"
    waiting = need_of(session, org_tree, "等待")
    pool.allocate(session, held.id, 60, actor=coordinator, now=NOW)
    assert names(pool.waiting_needs(session, org_tree["east"].id, actor=coordinator, now=NOW)) == ["等待"]
    assert waiting.id


def test_an_allocation_holds_pool_hours_for_the_need_and_is_audited(session, org_tree, coordinator, funded):
    need = need_of(session, org_tree, "张奶奶")
    allocation = pool.allocate(session, need.id, 120, actor=coordinator, now=NOW, note="每周买菜")
    session.commit()
    assert (allocation.status, allocation.minutes, allocation.organisation_id) == ("open", 120, funded)
    assert pool.figures(session, funded) == pool.PoolFigures(balance=180, held=120)
    assert pool.set_aside(session, need.id) == 120
    assert session.query(AuditEntry).filter_by(action="allocate_pool_hours", target_id=need.id).count() == 1


def test_allocating_more_than_the_pool_has_available_is_refused_in_words(session, org_tree, coordinator, funded):
    first, second = need_of(session, org_tree, "甲"), need_of(session, org_tree, "乙")
    pool.allocate(session, first.id, 120, actor=coordinator, now=NOW)
    with pytest.raises(pool.PoolTooSmall) as refused:
        pool.allocate(session, second.id, 90, actor=coordinator, now=NOW)
    assert str(refused.value) == "The community pool of 东城社区 has 1 h available; 1.5 h were asked."


def test_an_empty_pool_refuses_every_allocation(session, org_tree, coordinator):
    with pytest.raises(pool.PoolTooSmall, match="has 0 h available"):
        pool.allocate(session, need_of(session, org_tree, "甲").id, 30, actor=coordinator, now=NOW)


def test_returning_an_allocation_frees_its_hours_once(session, org_tree, coordinator, funded):
    need = need_of(session, org_tree, "张奶奶")
    allocation = pool.allocate(session, need.id, 120, actor=coordinator, now=NOW)
    pool.return_allocation(session, allocation.id, actor=coordinator, now=NOW)
    assert pool.return_allocation(session, allocation.id, actor=coordinator, now=NOW).status == "returned"
    session.commit()
    assert pool.figures(session, funded) == pool.PoolFigures(balance=180, held=0)
    assert session.query(AuditEntry).filter_by(action="return_pool_allocation").count() == 1


def test_a_returned_need_can_be_allocated_again(session, org_tree, coordinator, funded):
    need = need_of(session, org_tree, "张奶奶")
    allocation = pool.allocate(session, need.id, 120, actor=coordinator, now=NOW)
    pool.return_allocation(session, allocation.id, actor=coordinator, now=NOW)
    again = pool.allocate(session, need.id, 60, actor=coordinator, now=NOW)
    assert again.id == allocation.id and (again.status, again.minutes) == ("open", 60)
    assert pool.figures(session, funded).held == 60
    assert session.query(PoolAllocation).count() == 1


def test_a_repeated_allocation_returns_the_first_and_a_different_one_is_refused(session, org_tree, coordinator, funded):
    need = need_of(session, org_tree, "张奶奶")
    first = pool.allocate(session, need.id, 60, actor=coordinator, now=NOW)
    assert pool.allocate(session, need.id, 60, actor=coordinator, now=NOW).id == first.id
    with pytest.raises(pool.PoolRefused, match="already has 1 h of the pool"):
        pool.allocate(session, need.id, 90, actor=coordinator, now=NOW)
    assert pool.figures(session, funded).held == 60


def test_a_coordinator_elsewhere_cannot_see_or_allocate_this_pool(session, org_tree, make_person, funded):
    west = actor_for(session, make_person("coordinator", org="west"))
    need = need_of(session, org_tree, "张奶奶")
    with pytest.raises(NotFound):
        pool.allocate(session, need.id, 30, actor=west, now=NOW)
    with pytest.raises(NotFound):
        pool.waiting_needs(session, funded, actor=west, now=NOW)


def test_a_need_is_allocated_only_from_its_own_pool(session, org_tree, coordinator, funded):
    need = need_of(session, org_tree, "张奶奶")
    with pytest.raises(NotFound):
        pool.allocate(session, need.id, 30, actor=coordinator, now=NOW, pool_id=org_tree["west"].id)


def test_pools_in_reach_are_the_communities_below_the_coordinator(session, org_tree, make_person, funded):
    street = actor_for(session, make_person("coordinator", org="street"))
    assert [(o.name, f.balance) for o, f in pool.pools(session, actor=street)] == [("东城社区", 180), ("西关社区", 0)]
    assert pool.pools(session, actor=actor_for(session, make_person(name="志愿者"))) == []


def test_an_expired_allocation_hold_leaves_nothing_set_aside(session, org_tree, coordinator, funded):
    need = need_of(session, org_tree, "张奶奶")
    pool.allocate(session, need.id, 60, actor=coordinator, now=NOW)
    ledger.expire_holds(session, actor=0, now=NOW + pool.ALLOCATION_DAYS)
    assert pool.set_aside(session, need.id) == 0 and pool.figures(session, funded).held == 0
