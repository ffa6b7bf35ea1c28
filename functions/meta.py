"""The API's own description (the OpenAPI document and a page to read it), and the answer to a
request for a path or method the API does not have: a problem document, like every other error."""

import re
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

import azure.functions as func

from shared.api import API_VERSION
from shared.api.openapi import document, http_routes, operation
from shared.api.reference import render
from shared.errors import MethodNotAllowed, NotFound
from shared.http import endpoint, json_response

bp = func.Blueprint()
HOST_JSON = Path(__file__).resolve().parent.parent / "host.json"


def route_prefix() -> str:
    import json

    return json.loads(HOST_JSON.read_text()).get("extensions", {}).get("http", {}).get("routePrefix", "api")


@lru_cache(maxsize=1)
def _document() -> dict:
    import function_app  # the app that registered this function; imported here, once it exists

    return document(function_app.app, route_prefix(), version=API_VERSION)


@lru_cache(maxsize=1)
def _routes() -> list[tuple[re.Pattern, str]]:
    """(path pattern, method) of every route of the API."""
    import function_app

    return [(re.compile("^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(r.path)) + "/?$", re.IGNORECASE), r.method)
            for r in http_routes(function_app.app, route_prefix()) if r.operation.listed]


@bp.route(route="openapi.json", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@operation(operation_id="getOpenApi", summary="This document (OpenAPI 3.1)", tag="operations", security="none",
           answers={200: dict})
@endpoint
def openapi(req: func.HttpRequest) -> func.HttpResponse:
    return json_response(_document(), headers={"Cache-Control": "public, max-age=300"})


@bp.route(route="docs", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@operation(operation_id="getReference", summary="The API reference, a page to read", tag="operations",
           security="none", answers={200: str})
@endpoint
def reference(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(render(_document()), mimetype="text/html", charset="utf-8",
                             headers={"Cache-Control": "public, max-age=300"})


@bp.route(route="{*path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
          auth_level=func.AuthLevel.ANONYMOUS)
@operation(operation_id="notFound", summary="Any other path or method", tag="operations", security="none",
           answers={}, errors=(404, 405), listed=False)
@endpoint
def not_found(req: func.HttpRequest) -> func.HttpResponse:
    """404, or 405 (with Allow) where the path exists with other methods: as problem documents."""
    path = urlsplit(req.url).path
    allowed = sorted({method for pattern, method in _routes() if pattern.match(path)})
    if allowed:
        raise MethodNotAllowed(f"{req.method} is not one of the methods of {path}: {', '.join(allowed)}",
                               allowed=allowed)
    raise NotFound(f"the API has no {path}; its operations are listed at /api/openapi.json")
