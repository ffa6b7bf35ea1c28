"""The OpenAPI document is made from the routes the blueprints declare: every HTTP function the app
registers is declared with its operation and security, and the document lists exactly those."""

import azure.functions as func
import pytest

from functions import BLUEPRINTS, http_routes
from shared.api import API_VERSION
from shared.api.openapi import Security, document
from shared.http import ApiBlueprint

PREFIX = "api"


@pytest.fixture(scope="module")
def registered():
    """(method, path) of every HTTP function, as the Functions runtime sees the app the blueprints make."""
    app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
    for blueprint in BLUEPRINTS:
        app.register_functions(blueprint)
    found = set()
    for function in app.get_functions():
        trigger = function.get_trigger().get_dict_repr()
        if trigger["type"] == "httpTrigger":
            found |= {(getattr(m, "value", m), f"/{PREFIX}/{trigger['route']}") for m in trigger["methods"]}
    return found


@pytest.fixture(scope="module")
def described():
    return document(http_routes(), PREFIX, version=API_VERSION)


def operations(described):
    return {(method.upper(), path): op for path, methods in described["paths"].items()
            for method, op in methods.items()}


def test_every_registered_http_function_is_declared_and_in_the_document(registered, described):
    declared = {pair for route in http_routes() for pair in route.paths(PREFIX)}
    assert registered == declared
    listed = {pair for route in http_routes() if route.operation.listed for pair in route.paths(PREFIX)}
    assert listed == set(operations(described))
    assert ("GET", "/api/job/{job_id}") in listed and ("PATCH", "/api/job/{job_id}/status") in listed


def test_the_catch_all_that_answers_misses_is_not_an_operation(described):
    unlisted = [route for route in http_routes() if not route.operation.listed]
    assert [route.template for route in unlisted] == ["{*path}"]
    assert not any("{*" in path for path in described["paths"])


def test_a_handler_declared_without_its_security_does_not_register():
    blueprint = ApiBlueprint()
    contract = dict(operation_id="getThing", summary="a thing", tag="things", answers={200: None})
    with pytest.raises(TypeError, match="security"):
        blueprint.endpoint("thing", "GET", **contract)
    with pytest.raises(TypeError, match="security"):
        blueprint.endpoint("thing", "GET", security="user", **contract)
    assert blueprint.routes == [] and blueprint._function_builders == []
    blueprint.endpoint("thing", "GET", security=Security.NONE, **contract)(lambda req: func.HttpResponse("ok"))
    assert [route.operation.security for route in blueprint.routes] == [Security.NONE]


def test_operation_ids_are_unique(described):
    ids = [op["operationId"] for op in operations(described).values()]
    assert len(ids) == len(set(ids))


def test_every_error_is_a_problem_document(described):
    """...but the health report, whose 503 is the report itself, saying what is down."""
    for (method, path), op in operations(described).items():
        errors = {status: answer for status, answer in op["responses"].items() if int(status) >= 400}
        assert "503" in errors, f"{method} {path}"
        if path == "/api/health":
            assert list(errors.pop("503")["content"]) == ["application/json"]
        for status, answer in errors.items():
            assert list(answer["content"]) == ["application/problem+json"], f"{method} {path} {status}"
            assert answer["content"]["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}


def test_each_operation_names_how_it_is_authorised(described):
    schemes = set(described["components"]["securitySchemes"])
    by_id = {op["operationId"]: op for op in operations(described).values()}
    assert by_id["getJob"]["security"] == [{"signedIn": []}, {"developmentUser": []}]
    assert by_id["reportStatus"]["security"] == [{"jobToken": []}]
    assert by_id["getHealth"]["security"] == []
    for op in by_id.values():
        assert {name for requirement in op["security"] for name in requirement} <= schemes
        if op["security"]:
            assert "401" in op["responses"], op["operationId"]


def test_every_schema_reference_resolves(described):
    defined = set(described["components"]["schemas"])

    def refs(node):
        if isinstance(node, dict):
            if "$ref" in node:
                yield node["$ref"]
            for value in node.values():
                yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    found = set(refs(described))
    assert found and all(ref.startswith("#/components/schemas/") for ref in found)
    assert {ref.rsplit("/", 1)[1] for ref in found} <= defined


def test_requests_carry_examples_that_lead_to_a_demo_job(described):
    create = operations(described)[("POST", "/api/job")]
    body = create["requestBody"]["content"]["application/json"]["schema"]
    schema = described["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
    assert schema["examples"][0]["case_id"] == "heat-rod"
    assert set(create["responses"]["201"]["links"]) >= {"SetFields", "RunJob", "GetJobStatus"}


def test_the_web_apps_copy_of_the_document_is_current():
    """The web app's types are generated from web/src/api/openapi.json: `make api` refreshes it."""
    from commands.openapi import WEB_COPY, current_document

    assert WEB_COPY.read_text() == current_document(), "web/src/api/openapi.json is stale: run `make api`"


def test_answers_with_attributes_a_later_api_adds_still_parse():
    """Clients (the CLI) parse answers with these models: a newer server must not break them."""
    from shared.api.models import CaseDetails

    later = {"id": "smoothie", "title": "Smoothie", "summary": "s", "tags": [], "version": 2,
             "updated": "2026-01-01T00:00:00Z", "latest_version": 2, "description": "", "entry_point": "run.sh",
             "scripts": [{"name": "run.sh", "entry_point": True, "size": 10}], "simulators": [], "owner_team": "x",
             "fields": [{"name": "speed", "label": "Speed", "type": "number", "widget": "slider"}],
             "outputs": [{"pattern": "*.csv", "description": "", "kind": "table"}],
             "resources": {"cores": 1, "memory_mb": 128, "wall_time_minutes": 5, "gpus": 0}}
    details = CaseDetails.model_validate(later)
    assert details.fields[0].name == "speed" and details.resources.cores == 1


def test_the_job_statuses_and_their_sets_are_published_as_values():
    """The web app takes its status lists from the document, not from a copy of its own."""
    from shared.domain.jobs import JobStatus

    schemas = document(http_routes(), PREFIX, version=API_VERSION)["components"]["schemas"]
    assert schemas["JobStatus"]["enum"] == [s.value for s in JobStatus]
    assert schemas["ActiveJobStatus"]["enum"] == [s.value for s in JobStatus if s.active]
    assert schemas["TerminalJobStatus"]["enum"] == [s.value for s in JobStatus if s.terminal]


def test_the_case_definition_body_is_the_definitions_own_schema(described):
    publish = operations(described)[("PUT", "/api/case/{case_id}")]
    body = publish["requestBody"]["content"]["application/json"]["schema"]
    definition = described["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
    assert {"id", "title", "fields", "scripts", "entry_point"} <= set(definition["properties"])
    assert definition["additionalProperties"] is False
