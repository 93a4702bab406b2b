"""The OpenAPI document: generated from the routes' own schemas, covering every /api/v1 route."""

from __future__ import annotations

import pytest
from flask import Flask

from timebank.openapi import API_PREFIX


@pytest.fixture
def document(client):
    answer = client.get("/api/v1/openapi.json")
    assert answer.status_code == 200 and answer.mimetype == "application/json"
    return answer.json


def api_routes(app: Flask):
    """(OpenAPI path, method) of every /api/v1 route the app serves."""
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(API_PREFIX):
            path = rule.rule
            for argument in rule.arguments:
                path = path.replace(f"<int:{argument}>", "{%s}" % argument).replace(f"<{argument}>", "{%s}" % argument)
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                yield path, method.lower(), app.view_functions[rule.endpoint]


def references(node):
    """Every $ref in a piece of the document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from references(value)
    elif isinstance(node, list):
        for item in node:
            yield from references(item)


def test_the_document_is_openapi_3_with_info_paths_and_both_ways_to_sign_in(document):
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] and document["info"]["version"]
    assert document["paths"]
    assert document["components"]["securitySchemes"]["cookie"]["in"] == "cookie"
    assert document["components"]["securitySchemes"]["device"] == {
        "type": "http", "scheme": "bearer", "description": "A device token of a station tablet or kiosk."
    }


def test_every_api_route_is_documented_with_its_docstring_as_summary(app, document):
    routes = list(api_routes(app))
    assert len(routes) >= 24
    for path, method, view in routes:
        operation = document["paths"][path][method]
        assert operation["summary"] == view.__doc__.strip().splitlines()[0]
        assert operation["responses"]


def test_the_schemas_the_routes_use_are_in_the_document(app, document):
    schemas = document["components"]["schemas"]
    for path, method, view in api_routes(app):
        details = getattr(view, "openapi", None)
        for schema in filter(None, (details.body, details.response) if details else ()):
            assert schema.__name__.removesuffix("Schema") in schemas, (path, method, schema)
    for ref in references(document):
        section, name = ref.split("/")[-2:]
        assert name in document["components"][section], ref


def test_the_request_and_answer_shapes_come_from_the_validating_schemas(document):
    registration = document["components"]["schemas"]["Registration"]
    assert {"phone", "real_name", "home_organisation_id"} <= set(registration["required"])
    assert registration["properties"]["real_name"]["maxLength"] == 50
    resolve = document["paths"]["/api/v1/member-codes/resolve"]["post"]
    assert resolve["security"] == [{"cookie": []}, {"device": []}]
    assert resolve["responses"]["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ResolvedMember"}
    search = document["paths"]["/api/v1/people"]["get"]
    assert {p["name"] for p in search["parameters"]} == {"q", "status", "page"}
    assert document["paths"]["/api/v1/registrations"]["post"]["security"] == []
    assert document["paths"]["/api/v1/people/{person_id}"]["get"]["parameters"][0] == {
        "in": "path", "name": "person_id", "required": True, "schema": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1}
    }
    assert document["paths"]["/api/v1/people/{person_id}/approve"]["post"]["responses"]["415"] == {"$ref": "#/components/responses/NotJson"}


def test_the_document_declares_what_the_server_answers(document):
    person = document["components"]["schemas"]["PersonOut"]["properties"]
    assert person["birth_date"]["nullable"] and person["id_number_masked"]["nullable"] and "nullable" not in person["phone"]
    assert person["id"]["maximum"] == 2**63 - 1
    approve = document["paths"]["/api/v1/people/{person_id}/approve"]["post"]
    assert "requestBody" not in approve and {"404", "413", "429"} <= set(approve["responses"])
    assert "404" in document["paths"]["/api/v1/certificate-batches"]["post"]["responses"]
