"""The HTTP edge's helpers: the only module of ``shared`` that knows ``azure.functions``.

``endpoint`` wraps a handler so that every ``SimgateError`` becomes its RFC 9457 problem and any
other exception becomes a 500 problem without internals (and a logged stack trace).
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

import azure.functions as func
from pydantic import BaseModel, ValidationError

from shared.auth import Principal, authenticate
from shared.config import get_settings
from shared.errors import (
    BadRequest,
    PayloadTooLarge,
    SimgateError,
    UnsupportedMediaType,
    ValidationFailed,
    describe_pydantic_errors,
)

log = logging.getLogger("simgate.http")

PROBLEM_JSON = "application/problem+json"
MAX_JSON_BODY_BYTES = 256 * 1024

Model = TypeVar("Model", bound=BaseModel)
Handler = Callable[..., func.HttpResponse]


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> func.HttpResponse:
    body = data.model_dump_json() if isinstance(data, BaseModel) else json.dumps(data, default=str)
    return func.HttpResponse(body, status_code=status, headers=headers, mimetype="application/json")


def problem_response(error: SimgateError, instance: str | None = None) -> func.HttpResponse:
    headers = {"Cache-Control": "no-store", **error.headers}
    return func.HttpResponse(
        json.dumps(error.problem(instance)), status_code=error.status, headers=headers, mimetype=PROBLEM_JSON
    )


def endpoint(handler: Handler) -> Handler:
    """Translate errors once, at the edge. Apply below ``@blueprint.route``."""

    @functools.wraps(handler)
    def wrapper(req: func.HttpRequest, *args: Any, **kwargs: Any) -> func.HttpResponse:
        instance = urlsplit(req.url).path
        try:
            return handler(req, *args, **kwargs)
        except SimgateError as error:
            level = logging.ERROR if error.status >= 500 else logging.INFO
            log.log(level, "%s %s -> %s %s: %s", req.method, instance, error.status, error.slug, error.detail)
            return problem_response(error, instance)
        except Exception:
            log.exception("%s %s -> unhandled error", req.method, instance)
            return problem_response(SimgateError("unexpected error; it has been logged"), instance)

    return wrapper


def caller(req: func.HttpRequest) -> Principal:
    return authenticate(req.headers, dev_mode=get_settings().auth_dev_mode)


def read_json_document(req: func.HttpRequest, max_bytes: int = MAX_JSON_BODY_BYTES) -> Any:
    """The request body as decoded JSON: 413, 415 or 400 problems otherwise."""
    body = req.get_body() or b""
    if len(body) > max_bytes:
        raise PayloadTooLarge(f"the request body is {len(body)} bytes; the limit is {max_bytes}")
    content_type = (req.headers.get("content-type") or "application/json").split(";")[0].strip().lower()
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise UnsupportedMediaType(f"send the body as application/json, not {content_type}")
    try:
        return json.loads(body or b"null")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(f"the request body is not valid JSON: {exc}") from None


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
        return model.model_validate(dict(req.params))
    except ValidationError as exc:
        raise BadRequest("the query string is not valid", errors=describe_pydantic_errors(exc.errors())) from None


EXPOSED_HEADERS = "Link, X-Continuation-Token, X-Per-Page, ETag, Location"


def page_headers(req: func.HttpRequest, page: int, per_page: int, by_token: bool,
                 next_token: str | None) -> dict[str, str]:
    """Link (first, prev, next), X-Continuation-Token and X-Per-Page for one page of a list.
    The links keep the request's other query parameters (filters)."""
    base = req.url.split("?", 1)[0]
    kept = {k: v for k, v in req.params.items() if k not in ("page", "per_page", "continuation")}

    def link(rel: str, **params: object) -> str:
        return f'<{base}?{urlencode({**kept, **params, "per_page": per_page})}>; rel="{rel}"'

    links = [link("first", page=1)]
    if not by_token and page > 1:
        links.append(link("prev", page=page - 1))
    if next_token:
        links.append(link("next", continuation=next_token) if by_token else link("next", page=page + 1))
    headers = {"Link": ", ".join(links), "X-Per-Page": str(per_page), "Access-Control-Expose-Headers": EXPOSED_HEADERS}
    if next_token:
        headers["X-Continuation-Token"] = next_token
    return headers
