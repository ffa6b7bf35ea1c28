"""The OpenAPI 3.1 document of the HTTP API, made from the functions the app registers and the models
they read and answer: no second list of routes, no hand-written schema.

Every HTTP function declares its contract with ``@operation(...)`` (next to its route); the document
walks the registered functions, so a route without a declared operation cannot be published, and an
operation without a route does not exist.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, models_json_schema

from shared.api.models import Problem

ATTRIBUTE = "__simgate_operation__"
PROBLEM_JSON = "application/problem+json"
ERROR_TEXT = {
    400: "the request is malformed (not JSON, too deep, a bad parameter or continuation token)",
    401: "no signed-in user (or, for the webhook, not the job's token)",
    403: "the caller may not do this",
    404: "no such resource (someone else's job is not found either)",
    405: "the path exists but not with this method",
    409: "the resource's state does not allow it",
    412: "If-Match no longer matches",
    413: "the body is too large",
    415: "the body is not JSON",
    422: "the content breaks a rule; errors[] names each field",
    503: "a dependency is unavailable; try again (Retry-After)",
}
SECURITY = {
    "user": [{"signedIn": []}, {"developmentUser": []}],
    "agent": [{"jobToken": []}],
    "none": [],
}


@dataclass(frozen=True)
class Operation:
    operation_id: str
    summary: str
    tag: str
    answers: dict[int, Any]  # status -> the answer's type (a model, list[model], str for HTML), or None
    query: type[BaseModel] | None = None
    body: type[BaseModel] | dict | None = None  # a model, or a JSON schema for a free-form document
    security: str = "user"
    errors: tuple[int, ...] = ()
    request_headers: dict[str, str] = field(default_factory=dict)  # name -> description
    answer_headers: dict[str, str] = field(default_factory=dict)  # name -> description (on the success)
    description: str = ""
    listed: bool = True  # False: a route that is not part of the API (the catch-all that answers misses)
    links: dict[str, str] = field(default_factory=dict)  # link name -> operationId taking job_id from the answer


def operation(**declared: Any) -> Callable[[Callable], Callable]:
    """Declare an HTTP function's contract for the OpenAPI document."""
    described = Operation(**declared)

    def mark(function: Callable) -> Callable:
        setattr(function, ATTRIBUTE, described)
        return function

    return mark


def declared(function: Callable) -> Operation | None:
    return getattr(function, ATTRIBUTE, None)


@dataclass(frozen=True)
class Route:
    path: str  # /api/job/{job_id}
    method: str  # GET, POST, ...
    function_name: str
    operation: Operation | None


def registered_functions(app: Any) -> list:
    """The Function app's functions; ``app.get_functions()`` may be called only once otherwise."""
    # get_functions() remembers the names it has built to refuse duplicates, so a second call (the
    # host made the first) would refuse every name: start its record afresh.
    app.functions_bindings = {}
    return app.get_functions()


def http_routes(app: Any, route_prefix: str) -> list[Route]:
    """Every HTTP route the Function app registers, with its declared operation."""
    routes = []
    for function in registered_functions(app):
        trigger = function.get_trigger()
        binding = trigger.get_dict_repr()
        if binding.get("type") != "httpTrigger":
            continue
        template = binding.get("route") or function.get_function_name()
        path = "/" + "/".join(p for p in (route_prefix.strip("/"), template.strip("/")) if p)
        for method in binding.get("methods") or []:
            name = getattr(method, "value", method)
            routes.append(Route(path, str(name).upper(), function.get_function_name(),
                                declared(function.get_user_function())))
    return routes


def document(app: Any, route_prefix: str, *, version: str, server: str = "/") -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``app``'s HTTP functions."""
    routes = http_routes(app, route_prefix)
    undeclared = [f"{r.method} {r.path} ({r.function_name})" for r in routes if r.operation is None]
    if undeclared:
        raise ValueError(f"HTTP functions without a declared operation: {', '.join(undeclared)}")
    routes = [r for r in routes if r.operation.listed]
    schemas = _Schemas(routes)
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "simgate API",
            "version": version,
            "description": "Run simulation cases as jobs on remote simulators: the case catalogue, jobs "
                           "and their status, the agents' status webhook, and short-lived links to "
                           "outputs in Blob storage. Errors are RFC 9457 problem documents.",
        },
        "servers": [{"url": server}],
        "tags": [{"name": t} for t in sorted({r.operation.tag for r in routes})],
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": schemas.definitions(), "securitySchemes": {
            "signedIn": {"type": "http", "scheme": "bearer", "description":
                         "The signed-in user: an Entra ID access token for the app (App Service "
                         "Authentication validates it), or the Static Web App's session, which passes the "
                         "user on in X-MS-CLIENT-PRINCIPAL."},
            "developmentUser": {"type": "apiKey", "in": "header", "name": "X-Simgate-User", "description":
                                "Local development only (AUTH_DEV_MODE): the user's id; roles in "
                                "X-Simgate-Roles. Never accepted in Azure."},
            "jobToken": {"type": "http", "scheme": "bearer", "description":
                         "The job's own secret, given to its agent: valid for that job until it ends."},
        }},
    }


def _operation(route: Route, schemas: "_Schemas") -> dict[str, Any]:
    op = route.operation
    described: dict[str, Any] = {"operationId": op.operation_id, "summary": op.summary, "tags": [op.tag],
                                 "security": SECURITY[op.security]}
    if op.description:
        described["description"] = op.description
    parameters = [{"name": name, "in": "path", "required": True, "schema": {"type": "string", "maxLength": 200}}
                  for name in re.findall(r"\{(\w+)[^}]*\}", route.path)]
    if op.query is not None:
        parameters += _query_parameters(op.query)
    parameters += [{"name": name, "in": "header", "required": False, "description": text,
                    "schema": {"type": "string", "minLength": 1, "maxLength": 200}}
                   for name, text in op.request_headers.items()]
    if parameters:
        described["parameters"] = parameters
    if op.body is not None:
        schema = op.body if isinstance(op.body, dict) else schemas.ref(op.body, "validation")
        described["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema}}}
    responses: dict[str, Any] = {}
    for status, answer in op.answers.items():
        responses[str(status)] = _answer(status, answer, op.answer_headers, schemas)
        if op.links and 200 <= status < 300:
            responses[str(status)]["links"] = {name: {"operationId": target,
                                                      "parameters": {"job_id": "$response.body#/job_id"}}
                                               for name, target in op.links.items()}
    errors = set(op.errors) | {503}
    if op.security != "none":
        errors.add(401)
    if op.query is not None or op.body is not None:
        errors.add(400)
    if op.body is not None:
        errors |= {413, 415, 422}
    for status in sorted(errors - set(op.answers)):
        responses[str(status)] = {"description": ERROR_TEXT[status],
                                  "content": {PROBLEM_JSON: {"schema": schemas.ref(Problem, "serialization")}}}
    described["responses"] = responses
    return described


def _answer(status: int, answer: Any, headers: dict[str, str], schemas: "_Schemas") -> dict[str, Any]:
    described: dict[str, Any] = {"description": _STATUS_TEXT.get(status, "success")}
    if headers and (200 <= status < 300 or status == 304):
        described["headers"] = {name: {"description": text, "schema": {"type": "string"}}
                                for name, text in headers.items()}
    if status == 302:
        described["headers"] = {"Location": {"description": "the link", "schema": {"type": "string"}}}
    if answer is str:
        described["content"] = {"text/html": {"schema": {"type": "string"}}}
    elif answer is dict:
        described["content"] = {"application/json": {"schema": {"type": "object"}}}
    elif answer is not None:
        described["content"] = {"application/json": {"schema": schemas.ref(answer, "serialization")}}
    return described


_STATUS_TEXT = {200: "success", 201: "created", 202: "accepted", 204: "done; no content", 302: "a redirect",
                304: "not modified: the caller's copy (If-None-Match) is current"}


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(mode="validation")
    required = set(schema.get("required", []))
    parameters = []
    for name, prop in schema.get("properties", {}).items():
        prop = dict(prop)
        prop.pop("title", None)
        if "$ref" in prop or "anyOf" in prop:
            prop = _inline(prop, schema.get("$defs", {}))
        if "anyOf" in prop:  # a query string has no null: an optional parameter is simply left out
            branches = [b for b in prop.pop("anyOf") if b.get("type") != "null"]
            prop = {**(branches[0] if len(branches) == 1 else {"anyOf": branches}), **prop}
        if prop.get("default", ...) is None:
            del prop["default"]
        parameters.append({"name": name, "in": "query", "required": name in required,
                           **({"description": prop.pop("description")} if "description" in prop else {}),
                           "schema": prop})
    return parameters


def _inline(prop: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """A query parameter's schema without references (enums are inlined)."""
    if "$ref" in prop:
        return {**defs[prop["$ref"].rsplit("/", 1)[1]], **{k: v for k, v in prop.items() if k != "$ref"}}
    if "anyOf" in prop:
        prop["anyOf"] = [_inline(dict(p), defs) for p in prop["anyOf"]]
    return prop


class _AnswerSchemas(GenerateJsonSchema):
    """Answers carry every field (defaults included) unless a field is left out when empty
    (``exclude_if``), so in answers those fields are required: clients need not guess."""

    def field_is_required(self, field, total: bool) -> bool:
        if self.mode == "serialization":
            return field.get("serialization_exclude_if") is None
        return super().field_is_required(field, total)


class _Schemas:
    """The models the document refers to, made into components/schemas in one go (pydantic names a
    model "<Model>-Input" and "<Model>-Output" where reading and answering it differ)."""

    def __init__(self, routes: list[Route]) -> None:
        wanted = {(Problem, "serialization"): None}
        for route in routes:
            op = route.operation
            if isinstance(op.body, type):
                wanted[(op.body, "validation")] = None
            for answer in op.answers.values():
                model = _model_of(answer)
                if model is not None:
                    wanted[(model, "serialization")] = None
        self._refs, definitions = models_json_schema(list(wanted), ref_template="#/components/schemas/{model}",
                                                       schema_generator=_AnswerSchemas)
        self._definitions = definitions.get("$defs", {})

    def ref(self, answer: Any, mode: str) -> dict[str, Any]:
        if typing.get_origin(answer) is list:
            (item,) = typing.get_args(answer)
            return {"type": "array", "items": self.ref(item, mode)}
        return dict(self._refs[(answer, mode)])

    def definitions(self) -> dict[str, Any]:
        return dict(sorted(self._definitions.items()))


def _model_of(answer: Any) -> type[BaseModel] | None:
    if typing.get_origin(answer) is list:
        (answer,) = typing.get_args(answer)
    return answer if isinstance(answer, type) and issubclass(answer, BaseModel) else None
