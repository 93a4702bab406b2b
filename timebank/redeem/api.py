"""JSON API of the station counter: look up a member code, redeem a basket, void, stock, the station's day.

A station tablet signs its calls with its device token (bound to that station);
staff and coordinators use their session.
"""

from __future__ import annotations

from flask import current_app, g, jsonify, request
from flask.typing import ResponseReturnValue

from timebank.auth.device_mode import current_clerk, duty_ticket
from timebank.auth.login import current_actor, current_device, limiter, now, requires
from timebank.auth.schemas import masked_name
from timebank.db import utcnow
from timebank.domain import NotAllowed
from timebank.localtime import local_day
from timebank.openapi import api_blueprint, documented, json_body
from timebank.people.access import MANAGERS
from timebank.people.models import Person, Role
from timebank.people.services import load
from timebank.redeem import catalogue, counter, reports
from timebank.redeem.duty import start_duty
from timebank.redeem.models import ItemKind
from timebank.redeem.schemas import (
    DayQuerySchema,
    DutyInSchema,
    DutyOutSchema,
    ItemSchema,
    MemberScanSchema,
    OfferSchema,
    RedemptionOutSchema,
    RedemptionRequestSchema,
    StationHoursSchema,
    StationOutSchema,
    StationSchema,
    StationDaySchema,
    StockChangeSchema,
    StockMovementOutSchema,
    VisitSchema,
    VoidSchema,
)
from timebank.redeem.services import create_station
from timebank.web import db_session, reads_first

bp = api_blueprint("redeem_api", __name__)
COUNTER_ROLES = (Role.STATION_STAFF, Role.COORDINATOR, Role.ADMIN)
#: Built once: a schema's fields are copied each time one is made.
RECEIPT = RedemptionOutSchema()


def counter_here(station_id: int) -> counter.Counter:
    """The station's counter as the caller may work it: its own device (with the clerk on duty), its staff, or a
    coordinator above it."""
    device = current_device()
    if device is None:
        return counter.open_counter(db_session(), station_id, actor=current_actor())
    if "clerk" in g:  # already read for this request (a tablet's page)
        return counter.open_counter(db_session(), station_id, device=device, clerk=current_clerk())
    # Otherwise the clerk on duty is read with the station, and kept for the rest of the request.
    here = counter.open_device_counter(db_session(), station_id, device, duty_ticket(), current_app.config["SECRET_KEY"], now=utcnow())
    g.clerk = here.actor
    return here


@bp.post("/stations/<int:station_id>/duty")
@documented(body=DutyInSchema, response=DutyOutSchema, status=201, device=True)
@requires(allow_device=True)  # the station's own device; a person signed in gets 403 from the view
@limiter.limit("20 per minute")
def duty(station_id: int) -> ResponseReturnValue:
    """The clerk at the counter signs in on the station's device; each visit, redemption and void then names them."""
    device = current_device()
    if device is None:
        raise NotAllowed("Only the station's own device signs a clerk in; a person signed in serves as themself.")
    counter.open_counter(db_session(), station_id, device=device)
    values = load(DutyInSchema(), json_body())
    # A shift runs by the wall clock, as the duty ticket is checked (device_mode), not by a business time.
    clerk, ticket = start_duty(db_session(), device, values["phone"], values["password"], current_app.config["SECRET_KEY"], now=utcnow())
    db_session().commit()
    person = db_session().get(Person, clerk.id)
    return jsonify(DutyOutSchema().dump({"duty": ticket, "clerk": {"id": clerk.id, "masked_name": masked_name(person.real_name)}})), 201


@bp.get("/stations")
@documented(response=StationOutSchema, many=True)
@requires(*COUNTER_ROLES)
def stations() -> ResponseReturnValue:
    """The open stations the actor works at or manages, with their ids and hours."""
    return jsonify(StationOutSchema(many=True).dump(catalogue.stations_staffed(db_session(), current_actor())))


@bp.post("/stations")
@documented(body=StationSchema, response=StationOutSchema, status=201)
@requires(*MANAGERS)
def open_station() -> ResponseReturnValue:
    """Open a station in an organisation the actor manages."""
    values = load(StationSchema(), json_body())
    station = create_station(db_session(), values["organisation_id"], values, actor=current_actor(), now=now())
    db_session().commit()
    return jsonify(StationOutSchema().dump(station)), 201


@bp.patch("/stations/<int:station_id>/hours")
@documented(body=StationHoursSchema, response=StationOutSchema)
@requires(*MANAGERS)
def station_hours(station_id: int) -> ResponseReturnValue:
    """Set when the counter opens (weekdays, from, until, and the hours in words); fields not sent stay as they were."""
    station = catalogue.set_station_hours(db_session(), station_id, json_body(), actor=current_actor(), now=now())
    db_session().commit()
    return jsonify(StationOutSchema().dump(station))


@bp.get("/stations/<int:station_id>/catalogue")
@documented(response=OfferSchema, many=True, device=True)
@requires(*COUNTER_ROLES, allow_device=True)
def offers(station_id: int) -> ResponseReturnValue:
    """What the station offers today, with its stock."""
    station = counter_here(station_id).station
    return jsonify(OfferSchema(many=True).dump(catalogue.catalogue(db_session(), station, now=now())))


@bp.post("/stations/<int:station_id>/visits")
@documented(body=MemberScanSchema, response=VisitSchema, device=True)
@requires(*COUNTER_ROLES, allow_device=True)
def visit(station_id: int) -> ResponseReturnValue:
    """Resolve a scanned member code (phone or card) to the volunteer: masked name, what they can spend, a visit ticket."""
    here = counter_here(station_id)  # who may ask comes before what they sent
    values = load(MemberScanSchema(), json_body())
    found = counter.start_visit(db_session(), here, values["member_code"], current_app.config["SECRET_KEY"], now=now())
    return jsonify(VisitSchema().dump({"ticket": found.ticket, "masked_name": masked_name(found.volunteer.real_name), "balances": found.balances}))


@bp.post("/stations/<int:station_id>/redemptions")
@reads_first
@documented(body=RedemptionRequestSchema, response=RedemptionOutSchema, status=201, device=True)
@requires(*COUNTER_ROLES, allow_device=True)
def redeem(station_id: int) -> ResponseReturnValue:
    """Redeem a basket; the same idempotency key again returns the first redemption (200) instead of a second one."""
    session = db_session()
    redemption, new = counter.redeem(session, counter_here(station_id), json_body(), current_app.config["SECRET_KEY"], now=now())
    session.commit()
    return jsonify(RECEIPT.dump(redemption)), 201 if new else 200


@bp.get("/redemptions/<int:redemption_id>")
@documented(response=RedemptionOutSchema, device=True)
@requires(*COUNTER_ROLES, allow_device=True)
def redemption(redemption_id: int) -> ResponseReturnValue:
    """One redemption, for its station's counter."""
    found, _ = counter.get_redemption(db_session(), redemption_id, counter_here)
    return jsonify(RedemptionOutSchema().dump(found))


@bp.post("/redemptions/<int:redemption_id>/void")
@documented(body=VoidSchema, response=RedemptionOutSchema, device=True)
@requires(*COUNTER_ROLES, allow_device=True)
def void(redemption_id: int) -> ResponseReturnValue:
    """Void a redemption with a reason: the station the same day, a coordinator later."""
    session = db_session()
    found, here = counter.get_redemption(session, redemption_id, counter_here, lock=True)
    counter.void_redemption(session, found, here, json_body(), now=now())
    session.commit()
    return jsonify(RedemptionOutSchema().dump(found))


@bp.post("/stations/<int:station_id>/stock")
@documented(body=StockChangeSchema, response=StockMovementOutSchema, status=201)
@requires(*COUNTER_ROLES)
def stock(station_id: int) -> ResponseReturnValue:
    """Record stock received or a counted adjustment (with its reason)."""
    session = db_session()
    movement = catalogue.change_stock(session, station_id, json_body(), actor=current_actor(), now=now())
    session.commit()
    return jsonify(StockMovementOutSchema().dump(movement)), 201


@bp.post("/catalogue/items")
@documented(body=ItemSchema, response=OfferSchema, status=201)
@requires(Role.COORDINATOR, Role.ADMIN)
def create_item() -> ResponseReturnValue:
    """Add an item to one station's catalogue (station_id) or to every station below an organisation (organisation_id)."""
    session = db_session()
    item = catalogue.create_item(session, json_body(), actor=current_actor(), now=now())
    session.commit()
    return jsonify(OfferSchema().dump(catalogue.Offer(item, 0 if item.kind != ItemKind.SERVICE else None))), 201


@bp.patch("/catalogue/items/<int:item_id>")
@documented(body=ItemSchema, response=OfferSchema)
@requires(Role.COORDINATOR, Role.ADMIN)
def update_item(item_id: int) -> ResponseReturnValue:
    """Change an item's name, price, limits or dates; fields not sent stay as they were."""
    session = db_session()
    item = catalogue.update_item(session, item_id, json_body(), actor=current_actor(), now=now())
    session.commit()
    return jsonify(OfferSchema().dump(catalogue.Offer(item, None))), 200


@bp.get("/stations/<int:station_id>/day")
@documented(query=DayQuerySchema, response=StationDaySchema, device=True)
@requires(*COUNTER_ROLES, allow_device=True)
def day(station_id: int) -> ResponseReturnValue:
    """The station's day (today unless ?day=YYYY-MM-DD): redemptions, voids, totals, stock at close, reconciliation."""
    station = counter_here(station_id).station
    chosen = load(DayQuerySchema(), request.args)["day"] or local_day(now())
    return jsonify(StationDaySchema().dump(reports.station_day(db_session(), station, chosen)))
