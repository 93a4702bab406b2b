"""JSON API of the order loop: orders, dispatch and suggestions, claims, answers, visits, ratings and follow-ups."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, request
from flask.typing import ResponseReturnValue
from marshmallow import EXCLUDE, Schema, fields, validate

from timebank.auth.login import current_actor, current_person, limiter, now, requires
from timebank.domain import InvalidInput, NotFound
from timebank.needs import services as needs_services
from timebank.needs.residents import can_see_address
from timebank.needs import orders, ratings, suggestions, visits
from timebank.needs.models import Order
from timebank.needs.schemas import NeedEventOutSchema
from timebank.needs.order_schemas import (
    AssignmentOutSchema,
    ConfirmSchema,
    DeclineSchema,
    DispatchSchema,
    RatingFollowUpSchema,
    OneTimeCodeOutSchema,
    OrderOutSchema,
    OrderSchema,
    RatingOutSchema,
    RatingSchema,
    OrderReasonSchema,
    SuggestionOutSchema,
)
from timebank.openapi import api_blueprint, documented, json_body
from timebank.people.services import load
from timebank.web import db_session

bp = api_blueprint("orders_api", __name__)
ORDER_OUT = OrderOutSchema(exclude=("address",))
STAFF = orders.STAFF


class NewOrderSchema(OrderSchema):
    """An order and the need it serves."""

    need_id = fields.Integer(required=True, strict=False, error_messages={"required": "Say which need the order serves."})


class StepSchema(Schema):
    """Which step of a visit the spoken code is for."""

    class Meta:
        unknown = EXCLUDE

    step = fields.String(load_default="start", validate=validate.OneOf(("start", "end"), error="Choose start or end."))


def _order(order: Order) -> dict[str, Any]:
    """An order as the caller may see it: the address only for those who may."""
    session = db_session()
    shown = can_see_address(session, current_actor(), order.need.resident)
    return {**ORDER_OUT.dump(order), "address": orders.address_of(order) if shown else None}


def _seen_order(order_id: int) -> Order:
    """The order, if the caller runs its community, is on it, or speaks for its need."""
    session, actor = db_session(), current_actor()
    order = orders.get_order(session, order_id)
    if orders.manages(session, order, actor=actor) or actor.id in needs_services.requesters(order.need):
        return order
    if any(a.volunteer_id == actor.id for a in order.assignments) or orders.may_claim(session, order, current_person()):
        return order
    if actor.paths(STAFF):
        actor.require(STAFF, orders.organisation_of(session, order))
    raise NotFound("Unknown order.")


def _committed(payload: Any, status: int = 200) -> ResponseReturnValue:
    db_session().commit()
    return jsonify(payload), status


# -- orders (staff) -----------------------------------------------------------------------


@bp.get("/orders")
@documented(response=OrderOutSchema, many=True)
@requires(*STAFF)
def index() -> ResponseReturnValue:
    """Orders in the caller's communities, newest first."""
    return jsonify([_order(o) for o in orders.managed_orders(db_session(), actor=current_actor())])


@bp.post("/orders")
@documented(body=NewOrderSchema, response=OrderOutSchema, status=201)
@requires(*STAFF)
def create() -> ResponseReturnValue:
    """Make an order from a need (the need moves to ordered)."""
    data = json_body()
    need_id = data.get("need_id")
    if not isinstance(need_id, int) or isinstance(need_id, bool) or need_id <= 0:
        raise InvalidInput(errors={"need_id": ["Say which need the order serves."]})
    order = orders.create_order(db_session(), need_id, data, actor=current_actor(), now=now())
    return _committed(_order(order), 201)


@bp.get("/orders/<int:order_id>")
@documented(response=OrderOutSchema)
@requires()
def detail(order_id: int) -> ResponseReturnValue:
    """One order: for staff, its volunteers, whoever placed the need, and volunteers who may claim it."""
    return jsonify(_order(_seen_order(order_id)))


@bp.get("/orders/<int:order_id>/history")
@documented(response=NeedEventOutSchema, many=True)
@requires(*STAFF)
def history(order_id: int) -> ResponseReturnValue:
    """The need's dated, attributed history."""
    order = orders.managed_order(db_session(), order_id, actor=current_actor())
    return jsonify(NeedEventOutSchema(many=True).dump(needs_services.history(db_session(), order.need_id)))


@bp.get("/orders/<int:order_id>/suggestions")
@documented(response=SuggestionOutSchema, many=True)
@requires(*STAFF)
def suggest(order_id: int) -> ResponseReturnValue:
    """Volunteers ranked for the order, each with the reasons for their place."""
    order = orders.managed_order(db_session(), order_id, actor=current_actor())
    return jsonify(SuggestionOutSchema(many=True).dump(suggestions.suggest(db_session(), order, now=now())))


@bp.post("/orders/<int:order_id>/dispatch")
@documented(body=DispatchSchema, response=AssignmentOutSchema, many=True, status=201)
@requires(*STAFF)
def dispatch(order_id: int) -> ResponseReturnValue:
    """Offer the order's free places to named volunteers."""
    offered = orders.dispatch(db_session(), order_id, json_body(), actor=current_actor(), now=now())
    return _committed(AssignmentOutSchema(many=True).dump(offered), 201)


@bp.post("/orders/<int:order_id>/cancel")
@documented(body=OrderReasonSchema, response=OrderOutSchema)
@requires()
def cancel(order_id: int) -> ResponseReturnValue:
    """Cancel the order before any visit, with a reason (staff, the resident, or whoever placed the need)."""
    order = orders.cancel_order(db_session(), order_id, json_body(), actor=current_actor(), now=now())
    return _committed(_order(order))


# -- volunteers --------------------------------------------------------------------------------


@bp.get("/orders/claimable")
@documented(response=OrderOutSchema, many=True)
@requires()
def claimable() -> ResponseReturnValue:
    """Open orders the caller may claim."""
    return jsonify([_order(o) for o in orders.claimable(db_session(), current_person(), now=now())])


@bp.post("/orders/<int:order_id>/claim")
@documented(response=AssignmentOutSchema, status=201)
@requires()
def claim(order_id: int) -> ResponseReturnValue:
    """Claim a free place on an open order (the first claims win)."""
    assignment = orders.claim(db_session(), order_id, volunteer=current_person(), now=now())
    return _committed(AssignmentOutSchema().dump(assignment), 201)


@bp.get("/orders/mine")
@documented(response=AssignmentOutSchema, many=True)
@requires()
def mine() -> ResponseReturnValue:
    """The caller's assignments, those waiting for them first."""
    return jsonify(AssignmentOutSchema(many=True).dump(orders.my_assignments(db_session(), current_person().id)))


@bp.post("/orders/assignments/<int:assignment_id>/accept")
@documented(response=AssignmentOutSchema)
@requires()
def accept(assignment_id: int) -> ResponseReturnValue:
    """Accept an offer before its deadline."""
    return _committed(AssignmentOutSchema().dump(orders.accept(db_session(), assignment_id, volunteer=current_person(), now=now())))


@bp.post("/orders/assignments/<int:assignment_id>/decline")
@documented(body=DeclineSchema, response=AssignmentOutSchema)
@requires()
def decline(assignment_id: int) -> ResponseReturnValue:
    """Decline an offer; the place goes back for dispatch."""
    return _committed(AssignmentOutSchema().dump(orders.decline(db_session(), assignment_id, json_body(), volunteer=current_person(), now=now())))


def _step(assignment_id: int, step: str) -> ResponseReturnValue:
    secret = current_app.config["SECRET_KEY"]
    assignment = visits.confirm_step(db_session(), assignment_id, step, json_body(), actor=current_actor(), secret_key=secret, now=now())
    return _committed(AssignmentOutSchema().dump(assignment))


@bp.post("/orders/assignments/<int:assignment_id>/start")
@documented(body=ConfirmSchema, response=AssignmentOutSchema)
@requires()
@limiter.limit("20 per minute;60 per hour")  # spoken codes are six digits: guessing must stay slow
def start(assignment_id: int) -> ResponseReturnValue:
    """Start the visit, confirmed by the resident's card, member code or spoken code (or by staff, method `staff`)."""
    return _step(assignment_id, "start")


@bp.post("/orders/assignments/<int:assignment_id>/end")
@documented(body=ConfirmSchema, response=AssignmentOutSchema)
@requires()
@limiter.limit("20 per minute;60 per hour")  # spoken codes are six digits: guessing must stay slow
def end(assignment_id: int) -> ResponseReturnValue:
    """End the visit, confirmed as at the start; the visit becomes an attendance for review."""
    return _step(assignment_id, "end")


@bp.get("/orders/assignments/<int:assignment_id>/visit-code")
@documented(query=StepSchema, response=OneTimeCodeOutSchema)
@requires()
def visit_code(assignment_id: int) -> ResponseReturnValue:
    """The six-digit code the resident reads out for a step (for the resident, whoever placed the need, or staff)."""
    step = load(StepSchema(), request.args)["step"]
    assignment, code, until = visits.visit_code_for(db_session(), assignment_id, step, actor=current_actor(),
                                                    secret_key=current_app.config["SECRET_KEY"], now=now())
    return jsonify(OneTimeCodeOutSchema().dump({"assignment_id": assignment.id, "step": step, "code": code, "valid_until": until}))


# -- staff on a slot -------------------------------------------------------------------------------


@bp.post("/orders/assignments/<int:assignment_id>/withdraw")
@documented(body=OrderReasonSchema, response=AssignmentOutSchema)
@requires(*STAFF)
def withdraw(assignment_id: int) -> ResponseReturnValue:
    """Take a volunteer off the order before the visit, with a reason."""
    return _committed(AssignmentOutSchema().dump(orders.withdraw(db_session(), assignment_id, json_body(), actor=current_actor(), now=now())))


@bp.post("/orders/assignments/<int:assignment_id>/no-show")
@documented(body=OrderReasonSchema, response=AssignmentOutSchema)
@requires(*STAFF)
def no_show(assignment_id: int) -> ResponseReturnValue:
    """Record that an accepted volunteer did not come; the hold is released."""
    return _committed(AssignmentOutSchema().dump(orders.record_no_show(db_session(), assignment_id, json_body(), actor=current_actor(), now=now())))


# -- reviews ---------------------------------------------------------------------------------------


@bp.post("/orders/assignments/<int:assignment_id>/rate")
@documented(body=RatingSchema, response=RatingOutSchema, status=201)
@requires()
def rate(assignment_id: int) -> ResponseReturnValue:
    """Rate a visit 1–5 (the resident, whoever placed the need, or staff by phone)."""
    return _committed(RatingOutSchema().dump(ratings.rate(db_session(), assignment_id, json_body(), actor=current_actor(), now=now())), 201)


@bp.get("/orders/follow-ups")
@documented(response=RatingOutSchema, many=True)
@requires(*STAFF)
def follow_ups() -> ResponseReturnValue:
    """Low ratings in the caller's communities waiting for a call."""
    return jsonify(RatingOutSchema(many=True).dump(ratings.follow_ups(db_session(), actor=current_actor())))


@bp.post("/orders/ratings/<int:rating_id>/follow-up")
@documented(body=RatingFollowUpSchema, response=RatingOutSchema)
@requires(*STAFF)
def follow_up(rating_id: int) -> ResponseReturnValue:
    """Record the call after a low rating."""
    return _committed(RatingOutSchema().dump(ratings.follow_up(db_session(), rating_id, json_body(), actor=current_actor(), now=now())))
