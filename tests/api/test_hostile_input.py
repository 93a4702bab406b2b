"""Input built to break the parser or the database is refused with a 4xx in the usual error shape, never a 500."""

from __future__ import annotations

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from timebank.jsonbody import MAX_BYTES
from timebank.people.models import Person
from tests.api.conftest import ZH
from tests.conftest import send

HUGE = 2**63


def _refused(answer, status: int) -> dict:
    assert answer.status_code == status, answer.get_data(as_text=True)[:300]
    assert set(answer.json) == {"code", "status", "message", "errors"} and answer.json["status"] == status
    return answer.json


def chunked(path: str, body: bytes, content_type: str) -> Request:
    """A POST whose body arrives chunked, as gunicorn passes it on: no Content-Length says how long it is."""
    environ = EnvironBuilder(path=path, method="POST", data=body, content_type=content_type).get_environ()
    del environ["CONTENT_LENGTH"]
    environ["HTTP_TRANSFER_ENCODING"] = "chunked"
    environ["wsgi.input_terminated"] = True
    return Request(environ)


def test_a_json_body_past_the_limit_is_a_413_with_or_without_content_length(client, count):
    body = b'{"real_name": "' + b"x" * MAX_BYTES + b'"}'
    _refused(client.post("/api/v1/registrations", data=body, content_type="application/json"), 413)
    _refused(client.open(chunked("/api/v1/registrations", body, "application/json")), 413)
    assert count(Person) == 0


def test_json_nested_a_thousand_deep_is_refused_with_422(client):
    body = '{"real_name": ' + "[" * 1000 + "]" * 1000 + "}"
    _refused(client.post("/api/v1/registrations", data=body, content_type="application/json"), 422)


def test_a_lone_surrogate_in_a_string_is_refused_with_the_field_named(client, org_tree):
    body = '{"phone": "13912345678", "real_name": "\\ud800", "password": "long enough 1", "home_organisation_id": %d}' % org_tree["east"].id
    refusal = _refused(client.post("/api/v1/registrations", data=body, content_type="application/json", headers=ZH), 422)
    assert list(refusal["errors"]) == ["real_name"]


def test_nan_is_not_json(client):
    _refused(client.post("/api/v1/registrations", data='{"home_organisation_id": NaN}', content_type="application/json"), 400)


@pytest.mark.parametrize("path", ["/api/v1/people/{huge}", "/api/v1/activities/{huge}", "/api/v1/organisations/{huge}/policies",
                                  "/people/{huge}", "/people/{huge}0"])
def test_an_id_past_64_bits_in_the_address_is_a_404(client, make_person, sign_in, path):
    sign_in(make_person("coordinator"))
    answer = client.get(path.format(huge=HUGE), headers={"Accept": "application/json"})
    _refused(answer, 404)
    answer = client.patch(path.format(huge=HUGE), json={}, headers={"Accept": "application/json"})
    _refused(answer, 404)  # not a 405 because the GET rule's pattern matched


def test_a_number_past_64_bits_in_a_body_is_a_422_naming_the_field(client, org_tree, count):
    answer = client.post("/api/v1/registrations", json={"phone": "13912345678", "real_name": "王秀英", "password": "long enough 1",
                                                         "home_organisation_id": HUGE})
    assert _refused(answer, 422)["errors"].keys() == {"home_organisation_id"}
    assert count(Person) == 0


def test_a_boolean_where_an_id_belongs_is_a_422(client, make_person, sign_in, org_tree):
    sign_in(make_person("coordinator"))
    answer = client.post("/api/v1/people", json={"phone": "13912345678", "real_name": "王秀英", "home_organisation_id": True})
    assert "home_organisation_id" in _refused(answer, 422)["errors"]
    answer = client.post("/api/v1/people/1/roles", json={"role": "coordinator", "organisation_id": True})
    assert "organisation_id" in _refused(answer, 422)["errors"]
    answer = client.post("/api/v1/device-tokens", json={"name": "收银平板", "scope_type": "station", "scope_id": True})
    assert "scope_id" in _refused(answer, 422)["errors"]


def test_a_boolean_for_the_person_of_a_certificate_is_a_422(client, make_person, sign_in):
    sign_in(make_person("social_worker"))
    answer = client.post("/api/v1/programmes/1/certificates", json={"person_id": True})
    assert "person_id" in _refused(answer, 422)["errors"]


def test_a_number_past_64_bits_in_a_query_or_a_form_is_refused_not_a_500(client, make_person, sign_in):
    sign_in(make_person("coordinator"))
    assert client.get(f"/api/v1/people?q=V{HUGE}").status_code == 200
    assert client.get(f"/people?q=V{HUGE}").status_code == 200


def test_pages_take_numbers_past_64_bits_in_queries_and_forms_without_a_500(client, make_person, sign_in):
    sign_in(make_person("admin", "coordinator"))
    for url in (f"/audit?type=person&id={HUGE}", f"/audit?before={HUGE}", f"/me/balances?before={HUGE}", f"/people?page={HUGE}",
                "/people?page=²"):
        assert client.get(url).status_code == 200, url
    pending = make_person(status="pending")
    answer = send(client, "/people/registrations/approve", person_ids=[str(HUGE), "²", str(pending.id)])
    assert answer.status_code == 302
