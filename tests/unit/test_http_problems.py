import json

import azure.functions as func
import pytest
from pydantic import BaseModel, Field

from shared.api.openapi import Security
from shared.errors import (
    AgentTokenInvalid,
    AgentTokenMissing,
    BadRequest,
    NotFound,
    SimulatorUnreachable,
    StaleWrite,
    Unauthorized,
    ValidationFailed,
)
from shared.http import PROBLEM_JSON, ApiBlueprint, problem_kind, read_json, read_query


def endpoint(handler):
    """``handler`` registered as an operation anyone may call."""
    return ApiBlueprint().endpoint("things/{thing_id}", "POST", security=Security.NONE, operation_id="thing",
                                   summary="a thing", tag="things", answers={200: None})(handler)


def request(body: bytes = b"", headers=None, params=None, method="POST") -> func.HttpRequest:
    return func.HttpRequest(method, "http://localhost/api/things/7", headers=headers or {}, params=params or {},
                            body=body)


def problem(response: func.HttpResponse) -> dict:
    assert response.mimetype == PROBLEM_JSON
    return json.loads(response.get_body())


def test_a_typed_error_becomes_its_problem_document():
    @endpoint
    def handler(req):
        raise NotFound("no thing 7")

    response = handler(request())
    assert response.status_code == 404
    assert problem(response) == {
        "type": "urn:simgate:problem:not-found",
        "title": "Not found",
        "status": 404,
        "detail": "no thing 7",
        "instance": "/api/things/7",
    }


def test_validation_errors_list_each_problem():
    @endpoint
    def handler(req):
        raise ValidationFailed("bad", errors=[{"field": "speed", "message": "must be at most 10"}])

    body = problem(handler(request()))
    assert body["status"] == 422 and body["errors"] == [{"field": "speed", "message": "must be at most 10"}]


def test_unexpected_errors_are_500_without_internals(caplog):
    @endpoint
    def handler(req):
        raise RuntimeError("password=hunter2 at /srv/secret")

    response = handler(request())
    body = problem(response)
    assert response.status_code == 500
    assert "hunter2" not in response.get_body().decode() and "Traceback" not in response.get_body().decode()
    assert body["type"] == "urn:simgate:problem:internal-error"
    assert "hunter2" in caplog.text  # the detail goes to the log, for operators


@pytest.mark.parametrize(("error", "status", "header"), [
    (Unauthorized("sign in"), 401, ("WWW-Authenticate", 'Bearer realm="simgate"')),
    (AgentTokenMissing("no token"), 401, ("WWW-Authenticate", 'Bearer realm="simgate-agent"')),
    (AgentTokenInvalid("bad"), 401, ("WWW-Authenticate", 'Bearer realm="simgate-agent", error="invalid_token"')),
    (StaleWrite("changed"), 503, ("Retry-After", "1")),
    (SimulatorUnreachable("down"), 503, ("Retry-After", "5")),
])
def test_the_edge_maps_each_kind_of_error_to_its_status_and_headers(error, status, header):
    @endpoint
    def handler(req):
        raise error

    response = handler(request())
    assert response.status_code == status == problem(response)["status"]
    assert response.headers[header[0]] == header[1]


def test_a_storage_etag_collision_is_never_the_clients_412():
    assert problem_kind(StaleWrite("changed")).status != 412


class Body(BaseModel):
    title: str = Field(min_length=1)
    count: int = Field(ge=1)


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (b"{not json", {}, 400),
        (b'{"title": "x", "count": 1}', {"Content-Type": "text/plain"}, 415),
        (b'{"title": "", "count": 0}', {}, 422),
        (b"x" * 300_000, {}, 413),
    ],
)
def test_bad_bodies_get_the_right_problem(body, headers, status):
    @endpoint
    def handler(req):
        read_json(req, Body)
        return func.HttpResponse("ok")

    response = handler(request(body, headers))
    assert response.status_code == status
    assert problem(response)["status"] == status


def test_validation_problems_name_the_fields():
    with pytest.raises(ValidationFailed) as caught:
        read_json(request(b'{"title": ""}'), Body)
    fields = {e["field"]: e["message"] for e in caught.value.errors}
    assert set(fields) == {"title", "count"} and fields["count"] == "is required"


def test_a_good_body_is_parsed():
    parsed = read_json(request(b'{"title": "Test 1", "count": 2}', {"Content-Type": "application/json; charset=utf-8"}), Body)
    assert parsed == Body(title="Test 1", count=2)


def test_bad_query_parameters_are_400():
    class Page(BaseModel):
        page: int = Field(default=1, ge=1)

    with pytest.raises(BadRequest) as caught:
        read_query(request(params={"page": "0"}), Page)
    assert problem_kind(caught.value).status == 400 and caught.value.errors[0]["field"] == "page"
