"""The case catalogue's endpoints: list, details, publish."""

import azure.functions as func
from pydantic import BaseModel, ConfigDict, Field

from shared.api.models import CaseDetails, Published
from shared.api.openapi import operation
from shared.domain.cases import CaseHeader
from shared.http import (
    EXPOSED_HEADERS,
    PAGE_HEADERS,
    caller,
    endpoint,
    json_response,
    page_headers,
    read_json_document,
    read_query,
    route,
)
from shared.services.catalogue import CaseListQuery
from shared.wiring import app

bp = func.Blueprint()

MAX_DEFINITION_BYTES = 2 * 1024 * 1024
DEFINITION = {"type": "object", "description": "A case definition (docs/cases.md): id, title, summary, description, "
                                               "tags, fields, scripts (name -> template), entry_point, outputs, "
                                               "resources, simulators"}


class VersionQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    version: int | None = Field(default=None, ge=1, le=1_000_000, description="an older version of the case")


@bp.route(route="case", methods=["GET"])
@operation(operation_id="listCases", summary="Case headers, a page of them", tag="cases", query=CaseListQuery,
           answers={200: list[CaseHeader]}, answer_headers=PAGE_HEADERS,
           description="In case id order. ?q= searches titles and summaries, ?tag= keeps the cases with that tag.")
@endpoint
def list_cases(req: func.HttpRequest) -> func.HttpResponse:
    """Case headers, a JSON array; the next page is in the Link header and X-Continuation-Token."""
    caller(req)
    query = read_query(req, CaseListQuery)
    page = app().cases.list(query)
    headers = page_headers(req, query, page)
    return json_response(page.items, headers=headers)


@bp.route(route="case/{case_id}", methods=["GET"])
@operation(operation_id="getCase", summary="A case's details: fields, scripts, outputs, version", tag="cases",
           query=VersionQuery, answers={200: CaseDetails}, errors=(404,), answer_headers={"ETag": "the version"})
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
    return json_response(CaseDetails.of(published, latest), headers=headers)


@bp.route(route="case/{case_id}", methods=["PUT"])
@operation(operation_id="publishCase", summary="Publish a case definition (admins)", tag="cases", body=DEFINITION,
           answers={200: Published, 201: Published}, errors=(403,), answer_headers={"Location": "the new version"},
           description="201 with the new version, or 200 when the definition equals the latest one. Every script "
                       "is rendered with the fields' defaults first: a template that cannot render is a 422.")
@endpoint
def publish_case(req: func.HttpRequest) -> func.HttpResponse:
    """Publish a definition (admins): 201 with the new version, or 200 when nothing changed."""
    principal = caller(req)
    document = read_json_document(req, max_bytes=MAX_DEFINITION_BYTES)
    publication = app().cases.publish(principal, document, case_id=route(req, "case_id"))
    case = publication.case
    location = f"/api/case/{case.id}?version={case.version}"
    return json_response(Published.of(publication), status=201 if publication.changed else 200,
                         headers={"Location": location, "Access-Control-Expose-Headers": EXPOSED_HEADERS})
