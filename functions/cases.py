"""The case catalogue's endpoints: list, details, publish."""

import azure.functions as func
from pydantic import BaseModel, Field

from shared.http import (
    EXPOSED_HEADERS,
    caller,
    endpoint,
    json_response,
    page_headers,
    read_json_document,
    read_query,
    route,
)
from shared.services.paging import PageQuery
from shared.views import case_details, case_header
from shared.wiring import app

bp = func.Blueprint()

MAX_DEFINITION_BYTES = 2 * 1024 * 1024


class VersionQuery(BaseModel):
    version: int | None = Field(default=None, ge=1)


@bp.route(route="case", methods=["GET"])
@endpoint
def list_cases(req: func.HttpRequest) -> func.HttpResponse:
    """Case headers, a JSON array; the next page is in the Link header and X-Continuation-Token."""
    caller(req)
    query = read_query(req, PageQuery)
    page = app().cases.list(query)
    headers = page_headers(req, query.page, query.capped_per_page, bool(query.continuation), page.continuation)
    return json_response([case_header(h) for h in page.items], headers=headers)


@bp.route(route="case/{case_id}", methods=["GET"])
@endpoint
def get_case(req: func.HttpRequest) -> func.HttpResponse:
    """One case's details: fields with their rules, script names, outputs; ?version=N for an older one."""
    caller(req)
    query = read_query(req, VersionQuery)
    published, latest = app().cases.get(route(req, "case_id"), query.version)
    headers = {
        "ETag": f'"{published.id}-v{published.version}"',
        "Cache-Control": "private, max-age=3600, immutable" if query.version else "private, no-cache",
        "Access-Control-Expose-Headers": EXPOSED_HEADERS,
    }
    return json_response(case_details(published, latest), headers=headers)


@bp.route(route="case/{case_id}", methods=["PUT"])
@endpoint
def publish_case(req: func.HttpRequest) -> func.HttpResponse:
    """Publish a definition (admins): 201 with the new version, or 200 when nothing changed."""
    principal = caller(req)
    document = read_json_document(req, max_bytes=MAX_DEFINITION_BYTES)
    publication = app().cases.publish(principal, document, case_id=route(req, "case_id"))
    case = publication.case
    body = {"id": case.id, "version": case.version, "changed": publication.changed}
    location = f"/api/case/{case.id}?version={case.version}"
    return json_response(body, status=201 if publication.changed else 200,
                         headers={"Location": location, "Access-Control-Expose-Headers": EXPOSED_HEADERS})
