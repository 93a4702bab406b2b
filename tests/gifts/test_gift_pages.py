"""Gifts and donations through the pages and the API, as a volunteer's phone sends them."""

from __future__ import annotations

import re

from timebank import ledger
from timebank.ledger import rules
from timebank.ledger.models import Commodity
from timebank.orgs.services import set_policies
from tests.conftest import NOW, SYSTEM, send, text


def posted(db, person):
    """The person's time credit, read in a session of its own (the test's session must not hold SQLite's write lock)."""
    with db.session(write=False) as reader:
        return ledger.balance(reader, rules.volunteer_code(person.id, Commodity.HOUR)).posted


def form_key(page: str) -> str:
    return re.search(r'name="key" value="([^"]+)"', page).group(1)


def test_the_family_page_offers_a_gift_to_each_confirmed_member(sign_in, family):
    page = text(sign_in(family.mother).get("/me/family"))
    assert f"/gifts/give?to={family.son.id}" in page and "赠送时间" in page


def test_a_gift_from_the_page_moves_the_hours_once_even_if_the_form_is_sent_twice(db, sign_in, family):
    client = sign_in(family.mother)
    page = text(client.get(f"/gifts/give?to={family.son.id}"))
    assert "张小明" in page and "3 小时" in page
    key = form_key(page)
    first = send(client, "/gifts/give", receiver_id=family.son.id, hours="1.5", key=key)
    assert first.status_code == 302 and first.location.endswith("/me/balances")
    again = send(client, "/gifts/give", receiver_id=family.son.id, hours="1.5", key=key)
    assert again.status_code == 302
    assert posted(db, family.mother) == 90 and posted(db, family.son) == 120
    balances = text(client.get("/me/balances"))
    assert "你赠送了 1.5 小时时间给张小明" in balances and "赠送给家人 张小明" in balances
    assert "收到家人 张奶奶 赠送" in text(sign_in(family.son).get("/me/balances"))


def test_a_refused_gift_shows_the_reason_on_the_page_and_keeps_the_form_key(db, sign_in, family):
    client = sign_in(family.son)
    key = form_key(text(client.get("/gifts/give")))
    answer = send(client, "/gifts/give", receiver_id=family.mother.id, hours="2", key=key)
    assert answer.status_code == 409
    assert "张小明 的可用时间为 0.5 小时，需要 2 小时，还差 1.5 小时。" in text(answer)
    assert form_key(text(answer)) == key
    assert posted(db, family.son) == 30


def test_a_gift_to_someone_not_linked_is_refused_on_the_page(sign_in, family):
    client = sign_in(family.mother)
    answer = send(client, "/gifts/give", receiver_id=family.stranger.id, hours="1", key="k" * 16)
    assert answer.status_code == 409 and "张奶奶 和 陌生人 还不是已关联的家人" in text(answer)


def test_a_gift_with_a_bad_amount_marks_the_field(sign_in, family):
    client = sign_in(family.mother)
    answer = send(client, "/gifts/give", receiver_id=family.son.id, hours="abc", key="k" * 16)
    assert answer.status_code == 422 and "请输入小时数，例如 1.5。" in text(answer)


def test_a_volunteer_without_family_is_sent_to_link_one(sign_in, family):
    page = text(sign_in(family.stranger).get("/gifts/give"))
    assert "还没有已确认的家人" in page and "/me/family" in page


def test_a_donation_from_the_page_reaches_the_pool_once(db, sign_in, family, org_tree):
    client = sign_in(family.mother)
    page = text(client.get("/gifts/donate"))
    assert "东城社区" in page
    key = form_key(page)
    for _ in range(2):
        assert send(client, "/gifts/donate", hours="1", key=key).status_code == 302
    assert posted(db, family.mother) == 120
    assert "捐入东城社区公益时间池" in text(client.get("/me/balances"))


def test_a_donation_switched_off_is_refused_on_the_page(session, sign_in, family, org_tree):
    set_policies(session, org_tree["east"].id, {"donations": False}, actor=SYSTEM, now=NOW)
    session.commit()
    answer = send(sign_in(family.mother), "/gifts/donate", hours="1", key="k" * 16)
    assert answer.status_code == 409 and "东城社区 的项目不接受向公益时间池捐赠时间" in text(answer)


def test_the_api_gives_once_per_key_and_says_what_is_left(db, sign_in, family):
    client = sign_in(family.mother)
    assert client.get("/api/v1/gifts/relatives").get_json() == [{"person_id": family.son.id, "real_name": "张小明", "relation": "child"}]
    body = {"receiver_id": family.son.id, "minutes": 60, "idempotency_key": "phone-app-0001"}
    first = client.post("/api/v1/gifts", json=body)
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["available_minutes"] == 120 and first.get_json()["kind"] == "transfer"
    again = client.post("/api/v1/gifts", json=body)
    assert again.get_json()["transaction_id"] == first.get_json()["transaction_id"]
    clash = client.post("/api/v1/gifts", json=body | {"minutes": 30})
    assert clash.status_code == 409 and clash.get_json()["code"] == "conflict"
    assert posted(db, family.mother) == 120


def test_the_api_refuses_in_words_with_the_project_s_error_shape(sign_in, family, org_tree):
    client = sign_in(family.mother)
    answer = client.post("/api/v1/gifts", json={"receiver_id": family.stranger.id, "minutes": 60, "idempotency_key": "phone-app-0002"})
    assert answer.status_code == 409
    assert set(answer.get_json()) == {"code", "status", "message", "errors"}
    assert "不是已关联的家人" in answer.get_json()["message"]
    missing = client.post("/api/v1/gifts", json={"receiver_id": family.son.id, "minutes": 0, "idempotency_key": "phone-app-0003"})
    assert missing.status_code == 422 and "minutes" in missing.get_json()["errors"]


def test_the_api_donates_to_the_donor_s_pool(session, sign_in, family, org_tree):
    client = sign_in(family.mother)
    answer = client.post("/api/v1/donations", json={"minutes": 45, "idempotency_key": "phone-app-0004"})
    assert answer.status_code == 201 and answer.get_json()["organisation_id"] == org_tree["east"].id
    short = client.post("/api/v1/donations", json={"minutes": 600, "idempotency_key": "phone-app-0005"})
    assert short.status_code == 409 and "还差 7.75 小时" in short.get_json()["message"]
