"""The API's own description (the OpenAPI document and a page to read it), and the answer to a
request for a path or method the API does not have: a problem document, like every other error."""

import json
import re
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

import azure.functions as func

from shared.api import API_VERSION
from shared.api.openapi import Security, document
from shared.api.reference import render
from shared.errors import MethodNotAllowed, NotFound
from shared.http import ApiBlueprint, json_response

bp = ApiBlueprint()
HOST_JSON = Path(__file__).resolve().parent.parent / "host.json"
ANY_METHOD = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


def route_prefix() -> str:
    return json.loads(HOST_JSON.read_text()).get("extensions", {}).get("http", {}).get("routePrefix", "api")


@lru_cache(maxsize=1)
def api_document() -> dict:
    from functions import http_routes  # the package lists every blueprint, this one among them

    return document(http_routes(), route_prefix(), version=API_VERSION)


@lru_cache(maxsize=1)
def _paths() -> list[tuple[re.Pattern, str]]:
    """(path pattern, method) of every route of the API."""
    from functions import http_routes

    return [(re.compile("^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(path)) + "/?$", re.IGNORECASE), method)
            for r in http_routes() if r.operation.listed for method, path in r.paths(route_prefix())]


@bp.endpoint("openapi.json", "GET", security=Security.NONE, operation_id="getOpenApi",
             summary="This document (OpenAPI 3.1)", tag="operations", answers={200: dict})
def openapi(req: func.HttpRequest) -> func.HttpResponse:
    return json_response(api_document(), headers={"Cache-Control": "public, max-age=300"})


@bp.endpoint("docs", "GET", security=Security.NONE, operation_id="getReference",
             summary="The API reference, a page to read", tag="operations", answers={200: str})
def reference(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(render(api_document()), mimetype="text/html", charset="utf-8",
                             headers={"Cache-Control": "public, max-age=300"})


@bp.endpoint("{*path}", ANY_METHOD, security=Security.NONE, operation_id="notFound",
             summary="Any other path or method", tag="operations", answers={}, errors=(404, 405), listed=False)
def not_found(req: func.HttpRequest) -> func.HttpResponse:
    """404, or 405 (with Allow) where the path exists with other methods: as problem documents."""
    path = urlsplit(req.url).path
    allowed = sorted({method for pattern, method in _paths() if pattern.match(path)})
    if allowed:
        raise MethodNotAllowed(f"{req.method} is not one of the methods of {path}: {', '.join(allowed)}",
                               allowed=allowed)
    raise NotFound(f"the API has no {path}; its operations are listed at /api/openapi.json")
