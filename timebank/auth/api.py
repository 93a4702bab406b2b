"""JSON API for devices and codes: device tokens, member-code resolution at a station, and the OpenAPI document."""

from __future__ import annotations

from flask import current_app, jsonify
from flask.typing import ResponseReturnValue

from timebank.auth import codes, services
from timebank.auth.login import current_actor, current_device, now, requires
from timebank.auth.schemas import (
    DeviceTokenCreatedSchema,
    DeviceTokenInSchema,
    DeviceTokenSchema,
    MemberCodeScanSchema,
    ResolvedMemberSchema,
)
from timebank.domain import NotAllowed
from timebank.openapi import api_blueprint, documented, json_body, openapi_document
from timebank.people.access import MANAGERS
from timebank.people.api import balances_of
from timebank.people.models import Role
from timebank.people.services import load
from timebank.web import db_session

bp = api_blueprint("auth_api", __name__)


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    """This API described as OpenAPI 3."""
    return jsonify(openapi_document(current_app))


@bp.get("/device-tokens")
@documented(response=DeviceTokenSchema, many=True)
@requires(*MANAGERS)
def device_tokens() -> ResponseReturnValue:
    """The device tokens of the organisations the actor manages, newest first."""
    return jsonify(DeviceTokenSchema(many=True).dump(services.device_tokens(db_session(), actor=current_actor())))


@bp.post("/device-tokens")
@documented(body=DeviceTokenInSchema, response=DeviceTokenCreatedSchema, status=201)
@requires(*MANAGERS)
def create_device_token() -> ResponseReturnValue:
    """A token for a station tablet or kiosk; the token itself is shown this once."""
    values = load(DeviceTokenInSchema(), json_body())
    token, plain = services.create_device_token(db_session(), values, actor=current_actor(), now=now())
    db_session().commit()
    return jsonify(DeviceTokenCreatedSchema().dump({"device_token": token, "token": plain})), 201


@bp.post("/device-tokens/<int:token_id>/revoke")
@documented(response=DeviceTokenSchema)
@requires(*MANAGERS)
def revoke_device_token(token_id: int) -> ResponseReturnValue:
    """Stop a device token from working; revoking twice is harmless."""
    token = services.revoke_device_token(db_session(), token_id, actor=current_actor(), now=now())
    db_session().commit()
    return jsonify(DeviceTokenSchema().dump(token))


@bp.post("/member-codes/resolve")
@documented(body=MemberCodeScanSchema, response=ResolvedMemberSchema, device=True)
@requires(Role.STATION_STAFF, *MANAGERS, allow_device=True)
def resolve_member_code() -> ResponseReturnValue:
    """The volunteer a scanned member code names, masked, with the hours and points they can spend."""
    device = current_device()
    if device is not None and device.scope_type != "station":
        raise NotAllowed("This device is not set up for a station.")
    code = load(MemberCodeScanSchema(), json_body())["code"]
    person = codes.resolve(db_session(), code, current_app.config["SECRET_KEY"], now=now())
    member = {"person": person, "balances": balances_of(db_session(), person)}
    db_session().commit()  # the device's last use
    return jsonify(ResolvedMemberSchema().dump(member))
