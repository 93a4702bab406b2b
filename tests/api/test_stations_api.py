"""Stations through the API: open one, set its hours, list them; a volunteer's balances and printed card code
for the coordinator over them."""

from __future__ import annotations

from timebank.auth.codes import resolve
from timebank.ledger import post, rules
from timebank.redeem.models import Station
from tests.api.conftest import ZH
from tests.conftest import ACTOR, NOW, signed_in


def test_a_coordinator_opens_a_station_sets_its_hours_and_finds_it_listed_with_its_id(app, org_tree, make_person, count):
    coordinator = signed_in(app, make_person("coordinator", name="陈志强"))
    opened = coordinator.post("/api/v1/stations", json={"organisation_id": org_tree["east"].id, "name": "东城爱心超市", "address": "人民路 8 号"})
    assert opened.status_code == 201, opened.json
    station_id = opened.json["id"]
    hours = coordinator.patch(f"/api/v1/stations/{station_id}/hours", json={"open_days": "12345", "opens_at": "08:30", "closes_at": "17:00"})
    assert hours.status_code == 200, hours.json
    assert (hours.json["open_days"], hours.json["opens_at"], hours.json["closes_at"], hours.json["address"]) == ("12345", "08:30", "17:00", "人民路 8 号")
    listed = coordinator.get("/api/v1/stations").json
    assert [(s["id"], s["name"], s["opens_at"]) for s in listed] == [(station_id, "东城爱心超市", "08:30")]

    clerk = signed_in(app, make_person("station_staff", name="吴桂英", station_id=station_id))
    assert [s["id"] for s in clerk.get("/api/v1/stations").json] == [station_id]
    assert signed_in(app, make_person("coordinator", org="west")).get("/api/v1/stations").json == []


def test_stations_are_opened_and_timed_only_where_one_manages_and_with_sound_input(app, org_tree, make_person, count):
    station = signed_in(app, make_person("coordinator")).post("/api/v1/stations", json={"organisation_id": org_tree["east"].id, "name": "东城驿站"}).json
    elsewhere = signed_in(app, make_person("coordinator", org="west"))
    assert elsewhere.post("/api/v1/stations", json={"organisation_id": org_tree["east"].id, "name": "越界驿站"}).status_code == 404
    assert elsewhere.patch(f"/api/v1/stations/{station['id']}/hours", json={"opens_at": "06:00", "closes_at": "07:00"}).status_code == 404
    clerk = signed_in(app, make_person("station_staff", station_id=station["id"]))
    assert clerk.post("/api/v1/stations", json={"organisation_id": org_tree["east"].id, "name": "x"}).status_code == 403
    coordinator = signed_in(app, make_person("coordinator"))
    nameless = coordinator.post("/api/v1/stations", json={"organisation_id": org_tree["east"].id}, headers=ZH)
    assert nameless.status_code == 422 and "name" in nameless.json["errors"]
    backwards = coordinator.patch(f"/api/v1/stations/{station['id']}/hours", json={"opens_at": "18:00"}, headers=ZH)
    assert backwards.status_code == 422 and backwards.json["errors"]
    assert count(Station) == 1


def test_a_coordinator_reads_a_volunteers_balances_and_card_code_but_not_outside_their_organisation(app, session, make_person):
    volunteer = make_person(name="张秀英")
    rules.open_system_accounts(session, now=NOW)
    rules.open_volunteer_accounts(session, volunteer.id, categories=("elderly",), now=NOW)
    post(session, rules.service_credit_legs(volunteer.id, minutes=90, category="elderly", points=15),
         kind="service_credit", idempotency_key="balances-api", actor=ACTOR, now=NOW)
    session.commit()
    coordinator = signed_in(app, make_person("coordinator"))
    balances = coordinator.get(f"/api/v1/people/{volunteer.id}/balances")
    assert balances.status_code == 200, balances.json
    assert balances.json["points"]["available"] == 15 and balances.json["hours"]["available"] == 90
    card = coordinator.get(f"/api/v1/people/{volunteer.id}/card")
    assert card.status_code == 200 and card.json["card_version"] == 1
    assert resolve(session, card.json["code"], app.config["SECRET_KEY"], now=NOW).id == volunteer.id
    session.commit()
    own = signed_in(app, volunteer).get("/api/v1/me/card")
    assert own.json == card.json and own.headers["Cache-Control"] == "no-store"
    elsewhere = signed_in(app, make_person("coordinator", org="west"))
    for url in (f"/api/v1/people/{volunteer.id}/balances", f"/api/v1/people/{volunteer.id}/card"):
        assert elsewhere.get(url).status_code in (403, 404)
        assert signed_in(app, make_person()).get(url).status_code == 403
