"""The coordinator's pool pages and API: the waiting list in priority order with its reasons, allocating, returning."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from tests.conftest import send, signed_in, text
from tests.gifts.factories import fill_pool, make_need, make_resident


@pytest.fixture
def pool_world(session, org_tree, make_person):
    """East's pool holds 2 h; three needs wait: a hardship family, a woman of 86 living alone, another resident."""
    east = org_tree["east"].id
    fill_pool(session, east, 120, donor=make_person(name="捐赠人"))
    needs = {
        name: make_need(session, make_resident(session, east, name=name, born=born, groups=groups))
        for name, born, groups in (("困难户", None, "hardship"), ("独居老人", dt.date(1940, 3, 1), "living_alone"), ("普通居民", None, ""))
    }
    return east, needs, make_person("coordinator", name="王协调")


def test_the_pool_page_lists_waiting_needs_in_priority_order_with_the_reason(app, pool_world):
    east, needs, coordinator = pool_world
    page = text(signed_in(app, coordinator).get(f"/pool/{east}"))
    order = [page.index(name) for name in ("独居老人", "困难户", "普通居民")]
    assert order == sorted(order)
    assert "年满80岁独居" in page and "困难家庭" in page and "其他" in page
    assert 'id="pool-available">2 小时<' in page


def test_allocating_from_the_page_sets_hours_aside_and_takes_the_need_off_the_list(app, session, pool_world):
    east, needs, coordinator = pool_world
    client = signed_in(app, coordinator)
    need = needs["独居老人"]
    answer = send(client, f"/pool/{east}/allocations", need_id=need.id, hours="1.5", note="每周买菜")
    assert answer.status_code == 302
    page = text(client.get(f"/pool/{east}"))
    assert 'id="pool-available">30 分钟<' in page and f'id="need-{need.id}"' not in page
    allocation_id = re.search(r'/pool/allocations/(\d+)/return', page).group(1)
    assert send(client, f"/pool/allocations/{allocation_id}/return").status_code == 302
    assert 'id="pool-available">2 小时<' in text(client.get(f"/pool/{east}"))


def test_allocating_more_than_available_is_refused_on_the_page(app, pool_world):
    east, needs, coordinator = pool_world
    answer = send(signed_in(app, coordinator), f"/pool/{east}/allocations", need_id=needs["困难户"].id, hours="3")
    assert answer.status_code == 409
    assert "东城社区 公益时间池可用 2 小时，申请了 3 小时。" in text(answer)


def test_a_need_of_another_community_cannot_be_allocated_from_this_pool(app, session, org_tree, pool_world):
    east, needs, coordinator = pool_world
    west_need = make_need(session, make_resident(session, org_tree["west"].id, name="西关居民"))
    answer = send(signed_in(app, coordinator), f"/pool/{east}/allocations", need_id=west_need.id, hours="1")
    assert answer.status_code == 404


def test_the_pools_page_lists_the_pools_in_reach(app, pool_world, make_person):
    east, _, coordinator = pool_world
    page = text(signed_in(app, coordinator).get("/pool"))
    assert f"/pool/{east}" in page and "东城社区" in page and "西关社区" not in page
    assert "西关社区" in text(signed_in(app, make_person("coordinator", org="street", name="街道协调")).get("/pool"))


def test_a_volunteer_cannot_open_the_pool_pages(app, pool_world, make_person):
    east = pool_world[0]
    client = signed_in(app, make_person(name="志愿者"))
    assert client.get(f"/pool/{east}").status_code == 403
    assert client.get(f"/api/v1/pools/{east}").status_code == 403


def test_the_api_lists_waiting_needs_allocates_and_returns(app, pool_world):
    east, needs, coordinator = pool_world
    client = signed_in(app, coordinator)
    assert client.get("/api/v1/pools").get_json() == [{"organisation_id": east, "name": "东城社区", "balance": 120, "held": 0, "available": 120}]
    waiting = client.get(f"/api/v1/pools/{east}/waiting-needs").get_json()
    assert [(w["resident_name"], w["group"]) for w in waiting] == [("独居老人", "living_alone_over_80"), ("困难户", "hardship"), ("普通居民", "others")]
    made = client.post("/api/v1/pool-allocations", json={"need_id": needs["独居老人"].id, "minutes": 90})
    assert made.status_code == 201 and made.get_json()["set_aside_minutes"] == 90
    refused = client.post("/api/v1/pool-allocations", json={"need_id": needs["困难户"].id, "minutes": 31})
    assert refused.status_code == 409 and "可用 0.5 小时" in refused.get_json()["message"]
    assert [a["status"] for a in client.get(f"/api/v1/pools/{east}/allocations").get_json()] == ["open"]
    back = client.post(f"/api/v1/pool-allocations/{made.get_json()['id']}/return")
    assert back.status_code == 200 and back.get_json()["status"] == "returned"
    assert client.get(f"/api/v1/pools/{east}").get_json()["available"] == 120


def test_the_policy_editor_offers_the_pool_priority_in_words(app, session, org_tree, pool_world):
    east, _, coordinator = pool_world
    client = signed_in(app, coordinator)
    page = text(client.get(f"/organisations/{east}"))
    assert "公益时间池优先服务的对象" in page and "年满80岁独居 → 困难家庭 → 其他" in page
    answer = send(client, f"/organisations/{east}/policies", pool_priority="hardship, living_alone_over_80, others")
    assert answer.status_code == 302
    assert "困难家庭 → 年满80岁独居 → 其他" in text(client.get(f"/organisations/{east}"))
    waiting = client.get(f"/api/v1/pools/{east}/waiting-needs").get_json()
    assert [w["group"] for w in waiting] == ["hardship", "living_alone_over_80", "others"]
    assert send(client, f"/organisations/{east}/policies", pool_priority="hardship").status_code == 422
    assert client.patch(f"/api/v1/organisations/{east}/policies", json={"pool_priority": ["others"]}).status_code == 422
