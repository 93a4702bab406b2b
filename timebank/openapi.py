"""The JSON API's common ground: JSON-only bodies, and the OpenAPI document built from the routes' own schemas.

Each API view declares its schemas with `documented(...)`; the document reads
them, the view's one-line docstring and the roles `requires` guards it with,
so what is served and what is described cannot drift apart.
"""

from __future__ import annotations

import inspect
import re
from http import HTTPStatus
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Flask, g, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from marshmallow import Schema, fields
from werkzeug.exceptions import RequestEntityTooLarge

from timebank import __version__
from timebank.app import csrf
from timebank.errors import error_response
from timebank.inputs import INT64_MAX, INT64_MIN
from timebank.jsonbody import MAX_BYTES, BodyRefused, loads_object
from timebank.web import translated_errors

API_PREFIX = "/api/v1"
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: The errors an operation may answer with: status -> (response component, description).
PROBLEMS = {
    400: ("MalformedJson", "The body is not a JSON object."),
    401: ("Unauthorized", "Not signed in (or the device token is unknown or revoked)."),
    403: ("Forbidden", "The actor's roles do not allow this here (`password_change_required`: choose one's own password first)."),
    404: ("NotFound", "No such record, or none the actor may see."),
    409: ("Conflict", "The change clashes with what is already recorded."),
    413: ("TooLarge", "The body is larger than the API takes (256 KB)."),
    415: ("NotJson", "A body was sent that is not JSON (Content-Type: application/json); an action without a body needs none."),
    422: ("InvalidInput", "The input was refused; `errors` says which field and why."),
    429: ("TooManyRequests", "Too many requests from this address or for this account; `Retry-After` says when to try again."),
}
#: An id in a path: what the <int:...> converter matches (anything else is a 404).
PATH_ID = {"type": "integer", "minimum": 0, "maximum": INT64_MAX}
RULE_ARGUMENT = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")


class ErrorSchema(Schema):
    """Every error: a stable code, the HTTP status, a message in the user's language, and per-field problems."""

    code = fields.String()
    status = fields.Integer()
    message = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


@dataclass(frozen=True)
class Operation:
    """What the document says about one view beyond its docstring."""

    body: type[Schema] | None = None
    query: type[Schema] | None = None
    response: type[Schema] | None = None
    many: bool = False
    status: int = 200
    device: bool = False
    problems: tuple[int, ...] = ()  # answers beyond those the view's guard and method imply
    media: str | None = None  # a file of this type instead of JSON (a download)
    location: bool = False  # the answer's Location header names where to follow it (202 Accepted)
    accepted: type[Schema] | None = None  # besides `status`, it may answer 202 with this and a Location to follow (work left to a job)


def documented(**details: Any) -> Callable:
    """Attach the request and response schemas of an API view (see Operation)."""

    def mark(view: Callable) -> Callable:
        view.openapi = Operation(**details)
        return view

    return mark


def api_blueprint(name: str, import_name: str) -> Blueprint:
    """A blueprint under /api/v1: no form token, but every change must come as JSON."""
    bp = Blueprint(name, import_name, url_prefix=API_PREFIX)
    # Browsers send JSON cross-site only after a CORS preflight, which is never granted.
    csrf.exempt(bp)
    bp.before_request(require_json)
    return bp


def require_json() -> ResponseReturnValue | None:
    """Read a change's body once: nothing, or a JSON object (415 for another content type, 400 or 422 for a bad one).

    An action without a body (approve, publish, ...) needs no Content-Type. The
    size limit holds whether or not the client says how long the body is.
    """
    if request.method not in MUTATING:
        return None
    if (request.content_length or 0) > MAX_BYTES:
        raise RequestEntityTooLarge()
    raw = request.stream.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:  # a chunked body states no length: it is cut off here, unread
        raise RequestEntityTooLarge()
    if not raw.strip():
        g.json_body = {}
        return None
    if not request.is_json:
        message = gettext("Send the request body as JSON, with Content-Type: application/json.")
        return error_response(415, "unsupported_media_type", message)
    try:
        g.json_body = loads_object(raw)
    except BodyRefused as exc:
        if exc.malformed:
            return error_response(400, "malformed_json", gettext(exc.message))
        return error_response(422, "invalid_input", gettext(exc.message), translated_errors(exc.errors))
    return None


def json_body() -> dict[str, Any]:
    """The request's JSON object ({} for an empty body), as `require_json` read it."""
    return g.get("json_body", {})


def openapi_document(app: Flask) -> dict[str, Any]:
    """The app's OpenAPI 3 document (built once per app)."""
    if "timebank.openapi" not in app.extensions:
        app.extensions["timebank.openapi"] = build_spec(app).to_dict()
    return app.extensions["timebank.openapi"]


def build_spec(app: Flask) -> APISpec:
    """Every /api/v1 route of the app, with its schemas, roles and possible errors."""
    spec = APISpec(
        title="Time Bank API",
        version=__version__,
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={"description": "Volunteers, organisations, activities and check-in, review of attendances, device tokens, member codes and the audit log of 时间银行."},
    )
    spec.plugins[0].converter.add_attribute_function(_int64_bounds)
    spec.components.security_scheme(
        "cookie", {"type": "apiKey", "in": "cookie", "name": app.config.get("SESSION_COOKIE_NAME", "session")}
    )
    spec.components.security_scheme(
        "device", {"type": "http", "scheme": "bearer", "description": "A device token of a station tablet or kiosk."}
    )
    spec.components.schema("Error", schema=ErrorSchema)
    for name, description in PROBLEMS.values():
        spec.components.response(name, {"description": description, "content": {"application/json": {"schema": "Error"}}})
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith(API_PREFIX):
            continue
        view = app.view_functions[rule.endpoint]
        path = RULE_ARGUMENT.sub(r"{\g<name>}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(view, rule.endpoint, rule.rule, method)
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec


def _int64_bounds(converter: Any, field: fields.Field, ret: dict[str, Any], **_: Any) -> dict[str, Any]:
    """An integer field's bounds where its schema sets none: what a 64-bit column holds (and the server takes)."""
    if not isinstance(field, fields.Integer):
        return {}
    return {key: value for key, value in (("minimum", INT64_MIN), ("maximum", INT64_MAX)) if key not in ret}


def _operation(view: Callable, endpoint: str, rule: str, method: str) -> dict[str, Any]:
    """One operation: summary, parameters, body, responses and who may call it."""
    doc: Operation = getattr(view, "openapi", Operation())
    roles = getattr(view, "required_roles", None)
    operation: dict[str, Any] = {
        "operationId": endpoint.replace(".", "_"),
        "summary": (inspect.getdoc(view) or endpoint).splitlines()[0],
        "tags": [endpoint.split(".", 1)[0]],
        "parameters": [
            {"in": "path", "name": m["name"], "required": True, "schema": PATH_ID if m["converter"] == "int" else {"type": "string"}}
            for m in RULE_ARGUMENT.finditer(rule)
        ],
    }
    if doc.query is not None:
        operation["parameters"].append({"in": "query", "schema": doc.query})
    if doc.body is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": doc.body}}}
    success: dict[str, Any] = {"description": HTTPStatus(doc.status).phrase}
    if doc.response is not None:
        schema = {"type": "array", "items": doc.response} if doc.many else doc.response
        success["content"] = {"application/json": {"schema": schema}}
    if doc.media is not None:
        success["content"] = {doc.media: {"schema": {"type": "string", "format": "binary"}}}
    if doc.location:
        success["headers"] = {"Location": {"description": "Where to follow it.", "schema": {"type": "string"}}}
    problems = set(doc.problems)
    if roles is None:
        operation["security"] = []
    else:
        operation["security"] = [{"cookie": []}] + ([{"device": []}] if doc.device else [])
        problems |= {401, 403}
        if roles:
            operation["description"] = "Roles: " + ", ".join(str(role) for role in roles) + "."
    problems.add(429)  # any address may be throttled
    if "<" in rule or doc.query is not None or method in MUTATING:
        problems.add(404)  # the record in the path, or one the query or body names, may be unknown (or out of reach)
    if doc.query is not None:
        problems.add(422)
    if method in MUTATING:
        problems |= {400, 409, 413, 415, 422}
    operation["responses"] = {str(doc.status): success}
    if doc.accepted is not None:
        operation["responses"]["202"] = {"description": HTTPStatus.ACCEPTED.phrase, "content": {"application/json": {"schema": doc.accepted}},
                                         "headers": {"Location": {"description": "Where to follow it.", "schema": {"type": "string"}}}}
    operation["responses"] |= {str(status): PROBLEMS[status][0] for status in sorted(problems)}
    return operation
