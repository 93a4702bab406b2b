"""JSON API for gifts of hours to family and donations to the community pool."""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue
from marshmallow import Schema, fields

from timebank.auth.login import current_actor, now, requires
from timebank.gifts import services
from timebank.gifts.eligibility import available_minutes
from timebank.gifts.schemas import DonationSchema, GiftSchema, MovedSchema
from timebank.ledger.models import Transaction
from timebank.openapi import api_blueprint, documented, json_body
from timebank.people.services import load
from timebank.web import db_session

bp = api_blueprint("gifts_api", __name__)


class RelativeSchema(Schema):
    """A confirmed family member one may give hours to."""

    person_id = fields.Integer(attribute="person.id")
    real_name = fields.String(attribute="person.real_name")
    relation = fields.String(metadata={"description": "What they are to you: spouse, parent or child."})


def moved(txn: Transaction, minutes: int, giver_id: int, **sides: int | None) -> ResponseReturnValue:
    """A gift's or donation's answer: what was posted and what the giver has left."""
    body = {"transaction_id": txn.id, "kind": txn.kind, "minutes": minutes, "created_at": txn.created_at,
            "available_minutes": available_minutes(db_session(), giver_id), **sides}
    return jsonify(MovedSchema().dump(body)), 201


@bp.get("/gifts/relatives")
@documented(response=RelativeSchema, many=True)
@requires()
def relatives() -> ResponseReturnValue:
    """The confirmed family members the signed-in person may give hours to."""
    return jsonify(RelativeSchema(many=True).dump(services.relatives(db_session(), current_actor().id)))


@bp.post("/gifts")
@documented(body=GiftSchema, response=MovedSchema, status=201, problems=(404, 409))
@requires()
def give() -> ResponseReturnValue:
    """Give some of one's time credit to a confirmed family member; a retry with the same key gives once."""
    values = load(GiftSchema(), json_body())
    actor = current_actor()
    txn = services.give(db_session(), values["receiver_id"], values["minutes"], actor=actor, now=now(), key=values["idempotency_key"])
    db_session().commit()
    return moved(txn, values["minutes"], actor.id, receiver_id=values["receiver_id"])


@bp.post("/donations")
@documented(body=DonationSchema, response=MovedSchema, status=201, problems=(409,))
@requires()
def donate() -> ResponseReturnValue:
    """Donate some of one's time credit to one's community pool; a retry with the same key donates once."""
    values = load(DonationSchema(), json_body())
    actor = current_actor()
    txn = services.donate(db_session(), values["minutes"], actor=actor, now=now(), key=values["idempotency_key"])
    db_session().commit()
    return moved(txn, values["minutes"], actor.id, organisation_id=txn.ref_id)
