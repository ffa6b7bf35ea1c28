"""The HTTP edge: the only module of ``shared`` that knows ``azure.functions``.

``ApiBlueprint.endpoint`` registers a handler with its route, its operation and its security in one
declaration: it authenticates the caller that the security names and hands the handler its
principal, and it turns every ``SimgateError`` into its RFC 9457 problem and any other exception
into a 500 problem without internals (and a logged stack trace). ``PROBLEMS`` is the one table from
simgate's error kinds to HTTP: status, problem type and headers.
"""

from __future__ import annotations

import inspect
import json
import logging
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit

import azure.functions as func
from pydantic import BaseModel, ValidationError

from shared.api.models import Problem
from shared.api.openapi import Operation, Route, Security
from shared.api.requests import PageQuery
from shared.errors import (
    AgentTokenInvalid,
    AgentTokenMissing,
    BadRequest,
    ConfigurationError,
    Conflict,
    Forbidden,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    RequestTimeout,
    SchedulerUnavailable,
    SimgateError,
    SimulatorError,
    SimulatorUnreachable,
    StaleWrite,
    TransientError,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
    describe_pydantic_errors,
)
from shared.services.ports import Page
from shared.wiring import app

log = logging.getLogger("simgate.http")

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_BASE = "urn:simgate:problem:"
MAX_JSON_BODY_BYTES = 256 * 1024


@dataclass(frozen=True)
class ProblemKind:
    status: int
    slug: str  # the problem type is urn:simgate:problem:<slug>
    headers: tuple[tuple[str, str], ...] = ()


# Looked up along each error's class hierarchy: the most specific kind wins.
PROBLEMS: dict[type[SimgateError], ProblemKind] = {
    SimgateError: ProblemKind(500, "internal-error"),
    BadRequest: ProblemKind(400, "bad-request"),
    Unauthorized: ProblemKind(401, "unauthorized", (("WWW-Authenticate", 'Bearer realm="simgate"'),)),
    AgentTokenMissing: ProblemKind(401, "unauthorized", (("WWW-Authenticate", 'Bearer realm="simgate-agent"'),)),
    AgentTokenInvalid: ProblemKind(401, "unauthorized", (
        ("WWW-Authenticate", 'Bearer realm="simgate-agent", error="invalid_token"'),)),
    Forbidden: ProblemKind(403, "forbidden"),
    NotFound: ProblemKind(404, "not-found"),
    MethodNotAllowed: ProblemKind(405, "method-not-allowed"),
    Conflict: ProblemKind(409, "conflict"),
    PreconditionFailed: ProblemKind(412, "precondition-failed"),
    PayloadTooLarge: ProblemKind(413, "payload-too-large"),
    RequestTimeout: ProblemKind(408, "request-timeout", (("Connection", "close"),)),
    UnsupportedMediaType: ProblemKind(415, "unsupported-media-type"),
    ValidationFailed: ProblemKind(422, "validation-failed"),
    ConfigurationError: ProblemKind(500, "misconfigured"),
    SimulatorError: ProblemKind(502, "simulator-error"),
    TransientError: ProblemKind(503, "service-unavailable", (("Retry-After", "1"),)),
    StaleWrite: ProblemKind(503, "service-unavailable", (("Retry-After", "1"),)),
    SimulatorUnreachable: ProblemKind(503, "simulator-unreachable", (("Retry-After", "5"),)),
    SchedulerUnavailable: ProblemKind(503, "scheduler-unavailable", (("Retry-After", "5"),)),
}


def problem_kind(error: SimgateError) -> ProblemKind:
    return next(PROBLEMS[cls] for cls in type(error).__mro__ if cls in PROBLEMS)


def problem_of(error: SimgateError, instance: str | None = None) -> Problem:
    """The RFC 9457 problem document for ``error``: its detail only when the error is public."""
    return Problem(type=PROBLEM_TYPE_BASE + problem_kind(error).slug, title=error.title,
                   status=problem_kind(error).status, detail=error.detail if error.public else error.title,
                   instance=instance or None, errors=error.errors if error.errors and error.public else None)


Model = TypeVar("Model", bound=BaseModel)
Handler = Callable[..., func.HttpResponse]


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> func.HttpResponse:
    """A JSON answer: a model, a list of models, or plain JSON-ready data."""
    if isinstance(data, BaseModel):
        body = data.model_dump_json()
    elif isinstance(data, list) and all(isinstance(item, BaseModel) for item in data):
        body = "[" + ",".join(item.model_dump_json() for item in data) + "]"
    else:
        body = json.dumps(data, default=str)
    return func.HttpResponse(body, status_code=status, headers=headers, mimetype="application/json")


def json_or_not_modified(req: func.HttpRequest, data: BaseModel, headers: dict[str, str]) -> func.HttpResponse:
    """304 without a body when the request's If-None-Match names the answer's ETag (a watcher's
    poll that finds nothing new); the answer otherwise."""
    wanted = req.headers.get("If-None-Match")
    if wanted and headers.get("ETag") and (wanted.strip() == "*" or headers["ETag"] in _etag_list(wanted)):
        return func.HttpResponse(status_code=304, headers=headers)
    return json_response(data, headers=headers)


def _etag_list(header: str) -> set[str]:
    """The entity tags of an If-None-Match header; Table storage's contain commas only inside quotes."""
    return {tag.strip() for tag in re.findall(r'(?:W/)?"[^"]*"', header)}


def problem_response(error: SimgateError, instance: str | None = None) -> func.HttpResponse:
    kind = problem_kind(error)
    headers = {"Cache-Control": "no-store", **dict(kind.headers)}
    if isinstance(error, MethodNotAllowed):
        headers["Allow"] = ", ".join(error.allowed)
    return func.HttpResponse(problem_of(error, instance).model_dump_json(), status_code=kind.status,
                             headers=headers, mimetype=PROBLEM_JSON)


class ApiBlueprint(func.Blueprint):
    """A blueprint whose every HTTP function declares its operation and security where it is
    registered; ``routes`` are those declarations, from which the OpenAPI document is made."""

    def __init__(self) -> None:
        super().__init__()
        self.routes: list[Route] = []

    def endpoint(self, template: str, methods: str | tuple[str, ...], *, security: Security, **contract: Any
                 ) -> Callable[[Handler], Handler]:
        """Register the handler below at ``template`` for ``methods``. ``security`` is required: the
        caller it names is authenticated before the handler runs and passed to it (``Security.USER``:
        ``handler(req, user)``; ``AGENT``: ``handler(req, job)``; ``NONE``: ``handler(req)``)."""
        if not isinstance(security, Security):
            raise TypeError(f"{template}: declare who may call it (security=Security.USER, AGENT or NONE)")
        methods = (methods,) if isinstance(methods, str) else tuple(methods)
        operation = Operation(security=security, **contract)

        def register(handler: Handler) -> Handler:
            function = _edge(handler, security)
            self.routes.append(Route(template, methods, handler.__name__, operation))
            self.route(route=template, methods=list(methods), auth_level=func.AuthLevel.ANONYMOUS)(function)
            return function

        return register


def _edge(handler: Handler, security: Security) -> Callable[[func.HttpRequest], func.HttpResponse]:
    """``handler`` behind authentication and the translation of errors into problems."""

    def function(req: func.HttpRequest) -> func.HttpResponse:
        instance = urlsplit(req.url).path
        try:
            if security is Security.USER:
                return handler(req, app().auth.caller(req.headers))
            if security is Security.AGENT:
                return handler(req, app().agent_reports.authenticate(route(req, "job_id"),
                                                                     req.headers.get("Authorization")))
            return handler(req)
        except SimgateError as error:
            kind = problem_kind(error)
            level = logging.ERROR if kind.status >= 500 else logging.INFO
            log.log(level, "%s %s -> %s %s: %s", req.method, instance, kind.status, kind.slug, error.detail)
            return problem_response(error, instance)
        except Exception:
            log.exception("%s %s -> unhandled error", req.method, instance)
            return problem_response(SimgateError("unexpected error; it has been logged"), instance)

    # The Functions worker binds parameters by name from the signature: the function takes the request only.
    function.__name__, function.__qualname__, function.__doc__ = handler.__name__, handler.__qualname__, handler.__doc__
    function.__module__ = handler.__module__
    function.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("req", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=func.HttpRequest)],
        return_annotation=func.HttpResponse)
    return function


def route(req: func.HttpRequest, name: str) -> str:
    return req.route_params.get(name, "")


def read_json_document(req: func.HttpRequest, max_bytes: int = MAX_JSON_BODY_BYTES) -> Any:
    """The request body as decoded JSON: 413, 415 or 400 problems otherwise. Bounded in size, nesting
    and number length, so that no body can make the reader recurse or compute without end."""
    body = req.get_body() or b""
    if len(body) > max_bytes:
        raise PayloadTooLarge(f"the request body is {len(body)} bytes; the limit is {max_bytes}")
    content_type = (req.headers.get("content-type") or "application/json").split(";")[0].strip().lower()
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise UnsupportedMediaType(f"send the body as application/json, not {content_type}")
    if _nesting(body) > MAX_JSON_DEPTH:
        raise BadRequest(f"the request body nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(body or b"null", parse_int=_bounded_int, parse_constant=_no_constant)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(f"the request body is not valid JSON: {exc}") from None
    except ValueError as exc:  # from the bounded readers
        raise BadRequest(f"the request body is not valid JSON: {exc}") from None


MAX_JSON_DEPTH = 32
MAX_INT_DIGITS = 30


def _nesting(body: bytes) -> int:
    """The deepest nesting of arrays and objects, not counting brackets inside strings."""
    text = re.sub(rb'"(?:[^"\\]|\\.)*"', b"", body)
    depth = deepest = 0
    for byte in re.findall(rb"[\[\]{}]", text):
        depth += 1 if byte in (b"[", b"{") else -1
        deepest = max(deepest, depth)
    return deepest


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(f"an integer of {len(text)} digits (at most {MAX_INT_DIGITS})")
    return int(text)


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def read_json(req: func.HttpRequest, model: type[Model], max_bytes: int = MAX_JSON_BODY_BYTES) -> Model:
    """The request body validated as ``model``: 413, 415, 400 or 422 problems otherwise."""
    data = read_json_document(req, max_bytes)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed("the request body is not valid", errors=describe_pydantic_errors(exc.errors())) from None


def read_query(req: func.HttpRequest, model: type[Model]) -> Model:
    """The query string validated as ``model``: a 400 problem naming each bad parameter otherwise."""
    try:
        return model.model_validate({**dict(req.params), **_repeated_parameters(req, model)})
    except ValidationError as exc:
        raise BadRequest("the query string is not valid", errors=describe_pydantic_errors(exc.errors())) from None


def _repeated_parameters(req: func.HttpRequest, model: type[Model]) -> dict[str, list[str]]:
    """The model's list parameters, each from every time it appears (``job=A&job=B``): ``params`` keeps one."""
    lists = [name for name, info in model.model_fields.items() if typing.get_origin(info.annotation) is list]
    if not lists:
        return {}
    pairs = parse_qsl(urlsplit(req.url).query, keep_blank_values=True)
    if not pairs:  # a request made without its query in the URL (tests): params hold one of each
        return {name: [req.params[name]] for name in lists if name in req.params}
    return {name: [value for key, value in pairs if key == name] for name in lists}


MAX_IDEMPOTENCY_KEY = 200


def idempotency_key(req: func.HttpRequest) -> str | None:
    """The request's Idempotency-Key header, if it has one: 1 to 200 characters (400 otherwise)."""
    key = req.headers.get("Idempotency-Key")
    if key is not None and not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY:
        raise BadRequest(f"the Idempotency-Key header must be 1 to {MAX_IDEMPOTENCY_KEY} characters",
                         errors=[{"field": "Idempotency-Key", "message": "1 to 200 characters"}])
    return key


EXPOSED_HEADERS = "Link, X-Continuation-Token, X-Per-Page, ETag, Location, Idempotent-Replayed"
PAGE_HEADERS = {
    "Link": "first, prev and next pages (rel=first/prev/next)",
    "X-Continuation-Token": "pass it back as ?continuation= for the next page",
    "X-Per-Page": "the page size served (at most 100)",
}


def page_headers(req: func.HttpRequest, query: PageQuery, page: Page) -> dict[str, str]:
    """Link (first, prev, next), X-Continuation-Token and X-Per-Page for one page of a list.
    The links keep the request's other query parameters (filters) and are relative to the API's
    own path, so that they hold behind a proxy (the Static Web App) as well."""
    path = urlsplit(req.url).path
    kept = {k: v for k, v in req.params.items() if k not in ("page", "per_page", "continuation")}
    per_page, by_token = query.capped_per_page, bool(query.continuation)

    def link(rel: str, **params: object) -> str:
        return f'<{path}?{urlencode({**kept, **params, "per_page": per_page})}>; rel="{rel}"'

    links = [link("first", page=1)]
    if not by_token and query.page > 1:
        links.append(link("prev", page=query.page - 1))
    if page.continuation and by_token:
        links.append(link("next", continuation=page.continuation))
    elif page.has_next:
        links.append(link("next", page=query.page + 1))
    headers = {"Link": ", ".join(links), "X-Per-Page": str(per_page), "Access-Control-Expose-Headers": EXPOSED_HEADERS}
    if page.continuation:
        headers["X-Continuation-Token"] = page.continuation
    return headers
