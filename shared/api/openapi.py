"""The OpenAPI 3.1 document of the HTTP API, made from the routes the app's blueprints declare and
the models they read and answer: no second list of routes, no hand-written schema.

Every HTTP function is registered by the one decorator that declares its route, its ``Operation``
and its ``Security`` together (``shared.http.ApiBlueprint.endpoint``), so a route without a declared
operation cannot exist, and an operation without a route is never published.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, models_json_schema

from shared.api.models import VOCABULARIES, Problem

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


class Security(str, Enum):
    """Who may call an operation; the edge authenticates exactly this before the handler runs."""

    USER = "user"  # a signed-in user: the handler gets the Principal
    AGENT = "agent"  # the job's agent with its job token: the handler gets the job it proved itself for
    NONE = "none"  # anyone: the handler gets the request only


SECURITY = {
    Security.USER: [{"signedIn": []}, {"developmentUser": []}],
    Security.AGENT: [{"jobToken": []}],
    Security.NONE: [],
}


@dataclass(frozen=True)
class Operation:
    operation_id: str
    summary: str
    tag: str
    security: Security
    answers: dict[int, Any]  # status -> the answer's type (a model, list[model], str for HTML), or None
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    body_required: bool = True  # False: the body may be left out (its model's defaults apply)
    errors: tuple[int, ...] = ()
    request_headers: dict[str, str] = field(default_factory=dict)  # name -> description
    answer_headers: dict[str, str] = field(default_factory=dict)  # name -> description (on the success)
    description: str = ""
    listed: bool = True  # False: a route that is not part of the API (the catch-all that answers misses)
    links: dict[str, str] = field(default_factory=dict)  # link name -> operationId taking link_parameter from the answer
    link_parameter: str = "job_id"


@dataclass(frozen=True)
class Route:
    template: str  # job/{job_id}, relative to the route prefix
    methods: tuple[str, ...]  # GET, POST, ...
    function_name: str
    operation: Operation

    def paths(self, route_prefix: str) -> list[tuple[str, str]]:
        """(method, /api/job/{job_id}) for each method of the route."""
        path = "/" + "/".join(p for p in (route_prefix.strip("/"), self.template.strip("/")) if p)
        return [(method, path) for method in self.methods]


def document(routes: Iterable[Route], route_prefix: str, *, version: str, server: str = "/") -> dict[str, Any]:
    """The OpenAPI 3.1 document of the declared ``routes``."""
    routes = [r for r in routes if r.operation.listed]
    schemas = _Schemas([r.operation for r in routes])
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        for method, path in route.paths(route_prefix):
            paths.setdefault(path, {})[method.lower()] = _operation(path, route.operation, schemas)
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


def _operation(path: str, op: Operation, schemas: "_Schemas") -> dict[str, Any]:
    described: dict[str, Any] = {"operationId": op.operation_id, "summary": op.summary, "tags": [op.tag],
                                 "security": SECURITY[op.security]}
    if op.description:
        described["description"] = op.description
    parameters = [{"name": name, "in": "path", "required": True, "schema": {"type": "string", "maxLength": 200}}
                  for name in re.findall(r"\{(\w+)[^}]*\}", path)]
    if op.query is not None:
        parameters += _query_parameters(op.query)
    parameters += [{"name": name, "in": "header", "required": False, "description": text,
                    "schema": {"type": "string", "minLength": 1, "maxLength": 200}}
                   for name, text in op.request_headers.items()]
    if parameters:
        described["parameters"] = parameters
    if op.body is not None:
        schema = schemas.ref(op.body, "validation")
        described["requestBody"] = {"required": op.body_required, "content": {"application/json": {"schema": schema}}}
    responses: dict[str, Any] = {}
    for status, answer in op.answers.items():
        responses[str(status)] = _answer(status, answer, op.answer_headers, schemas)
        if op.links and 200 <= status < 300:
            responses[str(status)]["links"] = {name: {"operationId": target,
                                                      "parameters": {op.link_parameter:
                                                                     f"$response.body#/{op.link_parameter}"}}
                                               for name, target in op.links.items()}
    errors = set(op.errors) | {503}
    if op.security != Security.NONE:
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

    def __init__(self, operations: list[Operation]) -> None:
        wanted = {(Problem, "serialization"): None}
        for op in operations:
            if op.body is not None:
                wanted[(op.body, "validation")] = None
            for answer in op.answers.values():
                model = _model_of(answer)
                if model is not None:
                    wanted[(model, "serialization")] = None
        self._refs, definitions = models_json_schema(list(wanted), ref_template="#/components/schemas/{model}",
                                                       schema_generator=_AnswerSchemas)
        self._definitions = {**definitions.get("$defs", {}), **VOCABULARIES}

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
