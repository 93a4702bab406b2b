"""The order loop through its pages and its API: staff, volunteer and requester, each on their own client."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from tests.conftest import NOW, send, signed_in, text
from tests.needs.order_world import WINDOW_END, WINDOW_START, World, world  # noqa: F401
from timebank import ledger
from timebank.ledger import rules
from timebank.needs import cards, orders
from timebank.needs.models import Assignment, Order
from timebank.localtime import local


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch):
    """The requests' clock, set by the test."""
    moment = {"now": NOW}
    monkeypatch.setattr("timebank.auth.login.utcnow", lambda: moment["now"])
    return moment


def form_time(moment: dt.datetime) -> str:
    return local(moment).strftime("%Y-%m-%dT%H:%M")


def test_an_order_goes_round_the_loop_through_the_pages(app, session, world: World, clock):
    staff = signed_in(app, world.social_worker)
    made = send(staff, f"/needs/{world.need.id}/orders/new", category="elderly", slots="1", window_start=form_time(WINDOW_START),
                window_end=form_time(WINDOW_END), expected_minutes="90", payer="none", skills="陪诊")
    assert made.status_code == 302, text(made)[:800]
    order = session.scalar(select(Order))
    session.commit()  # the test's session holds SQLite's write lock while its transaction is open
    page = text(staff.get(f"/orders/{order.id}"))
    assert "东城社区3号楼2单元401" in page and world.volunteers[0].real_name in page  # staff see the address and suggestions
    assert send(staff, f"/orders/{order.id}/dispatch", volunteer_ids=str(world.volunteers[0].id)).status_code == 302

    volunteer = signed_in(app, world.volunteers[0])
    offer = session.scalar(select(Assignment))
    session.commit()
    before = text(volunteer.get(f"/me/orders/{offer.id}"))
    assert "401" not in before  # no address before accepting
    assert send(volunteer, f"/me/orders/{offer.id}/accept").status_code == 302
    assert "东城社区3号楼2单元401" in text(volunteer.get(f"/me/orders/{offer.id}"))

    clock["now"] = WINDOW_START + dt.timedelta(minutes=5)
    card = cards.card_code(world.resident, app.config["SECRET_KEY"])
    assert send(volunteer, f"/me/orders/{offer.id}/confirm", step="start", method="card", code=card).status_code == 302
    clock["now"] = WINDOW_START + dt.timedelta(minutes=95)
    assert send(volunteer, f"/me/orders/{offer.id}/confirm", step="end", method="card", code=card).status_code == 302
    session.expire_all()
    offer = session.get(Assignment, offer.id)
    assert offer.status == "ended" and offer.attendance_id
    session.commit()

    clock["now"] += dt.timedelta(hours=1)
    assert send(staff, f"/review/attendances/{offer.attendance_id}/approve").status_code == 302
    assert send(staff, f"/orders/assignments/{offer.id}/rate", stars="5", comment="很好").status_code == 302
    session.expire_all()
    assert session.get(Order, order.id).status == "completed"
    assert session.get(Order, order.id).need.status == "closed"
    assert ledger.balance(session, rules.volunteer_code(world.volunteers[0].id, ledger.Commodity.HOUR)).posted == 90


def test_a_wrong_card_shows_the_visit_page_again_with_the_reason(app, session, world: World, clock):
    order = world.make_order()
    [offer] = orders.dispatch(session, order.id, {"volunteer_ids": [world.volunteers[0].id]}, actor=world.staff, now=NOW)
    orders.accept(session, offer.id, volunteer=world.volunteers[0], now=NOW)
    session.commit()
    clock["now"] = WINDOW_START
    answer = send(signed_in(app, world.volunteers[0]), f"/me/orders/{offer.id}/confirm", step="start", method="card", code="R.forged")
    assert answer.status_code == 422
    assert "不是" in text(answer) or "not the resident" in text(answer)
    session.expire_all()
    assert session.get(Assignment, offer.id).status == "accepted"


def test_a_requester_sees_the_need_its_volunteer_and_the_spoken_code_on_one_page_and_rates_there(app, session, world: World, clock, make_person):
    daughter = make_person(name="张女儿")
    world.need.recorded_by, world.need.channel = daughter.id, "online"  # placed by family on a phone
    session.commit()
    order = world.make_order()
    [offer] = orders.dispatch(session, order.id, {"volunteer_ids": [world.volunteers[0].id]}, actor=world.staff, now=NOW)
    orders.accept(session, offer.id, volunteer=world.volunteers[0], now=NOW)
    session.commit()
    clock["now"] = WINDOW_START
    family = signed_in(app, daughter)
    code, _ = cards.visit_code(offer.id, "start", app.config["SECRET_KEY"], now=WINDOW_START)
    page = text(family.get("/needs/mine"))
    assert code in page and "需要有人陪同去医院复诊" in page and world.volunteers[0].real_name in page
    volunteer = signed_in(app, world.volunteers[0])
    assert send(volunteer, f"/me/orders/{offer.id}/confirm", step="start", method="one_time_code", code=code).status_code == 302
    clock["now"] = WINDOW_START + dt.timedelta(hours=1)
    end_code, _ = cards.visit_code(offer.id, "end", app.config["SECRET_KEY"], now=clock["now"])
    assert send(volunteer, f"/me/orders/{offer.id}/confirm", step="end", method="one_time_code", code=end_code).status_code == 302
    rated = send(family, f"/orders/assignments/{offer.id}/rate", stars="2", comment="来晚了")
    assert (rated.status_code, rated.location) == (302, "/needs/mine")
    staff = signed_in(app, world.social_worker)
    assert "来晚了" in text(staff.get("/orders/follow-ups"))


def test_the_old_services_page_sends_the_requester_to_my_requests(app, world: World, clock):
    answer = signed_in(app, world.volunteers[0]).get("/me/requests")
    assert (answer.status_code, answer.location) == (302, "/needs/mine")


def test_a_requester_cancels_the_request_and_its_order_from_my_requests(app, session, world: World, clock, make_person):
    daughter = make_person(name="张女儿")
    world.need.recorded_by, world.need.channel = daughter.id, "online"  # placed by family on a phone
    session.commit()
    order = world.make_order()
    family = signed_in(app, daughter)
    page = text(family.get("/needs/mine"))
    assert "取消这个需求" in page or "Cancel this request" in page
    answer = send(family, f"/needs/{world.need.id}/cancel", reason="家人陪同", back="mine")
    assert (answer.status_code, answer.location) == (302, "/needs/mine")
    session.expire_all()
    assert (session.get(Order, order.id).status, session.get(Order, order.id).need.status) == ("cancelled", "cancelled")


def test_the_api_claims_and_answers_a_late_claim_with_409(app, session, world: World, clock):
    order = world.make_order(open_for_claims=True)
    first, second = (signed_in(app, v) for v in world.volunteers[:2])
    assert [o["id"] for o in first.get("/api/v1/orders/claimable").get_json()] == [order.id]
    won = first.post(f"/api/v1/orders/{order.id}/claim")
    assert won.status_code == 201 and won.get_json()["status"] == "accepted"
    lost = second.post(f"/api/v1/orders/{order.id}/claim")
    assert lost.status_code == 409 and lost.get_json()["code"] == "conflict"
    assert first.get(f"/api/v1/orders/{order.id}").get_json()["address"] == "东城社区3号楼2单元401"


def test_the_api_dispatches_from_suggestions_and_lists_the_history(app, session, world: World, clock):
    staff = signed_in(app, world.social_worker)
    made = staff.post("/api/v1/orders", json={"need_id": world.need.id, "category": "elderly", "window_start": WINDOW_START.isoformat(),
                                              "window_end": WINDOW_END.isoformat(), "expected_minutes": 60})
    assert made.status_code == 201, made.get_json()
    order_id = made.get_json()["id"]
    ranked = staff.get(f"/api/v1/orders/{order_id}/suggestions").get_json()
    assert {s["volunteer_id"] for s in ranked} >= {v.id for v in world.volunteers}
    assert all(s["reasons"] for s in ranked)
    sent = staff.post(f"/api/v1/orders/{order_id}/dispatch", json={"volunteer_ids": [ranked[0]["volunteer_id"]]})
    assert sent.status_code == 201
    assert [e["action"] for e in staff.get(f"/api/v1/orders/{order_id}/history").get_json()] == ["ordered", "dispatched"]
    outsider = signed_in(app, world.volunteers[2])
    assert outsider.get(f"/api/v1/orders/{order_id}").status_code == 404
