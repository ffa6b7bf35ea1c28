"""The case catalogue's endpoints: list, details, publish."""

import azure.functions as func

from shared.api.models import CaseDetails, CaseHeader, Published
from shared.api.openapi import Security
from shared.api.requests import CaseDefinitionBody, CaseListQuery, VersionQuery
from shared.auth import Principal
from shared.http import (
    EXPOSED_HEADERS,
    PAGE_HEADERS,
    ApiBlueprint,
    json_response,
    page_headers,
    read_json_document,
    read_query,
    route,
)
from shared.wiring import app

bp = ApiBlueprint()

MAX_DEFINITION_BYTES = 2 * 1024 * 1024


@bp.endpoint("case", "GET", security=Security.USER, operation_id="listCases",
             summary="Case headers, a page of them", tag="cases", query=CaseListQuery,
             answers={200: list[CaseHeader]}, answer_headers=PAGE_HEADERS,
             description="In case id order. ?q= searches titles and summaries, ?tag= keeps the cases with that tag.")
def list_cases(req: func.HttpRequest, user: Principal) -> func.HttpResponse:
    """Case headers, a JSON array; the next page is in the Link header and X-Continuation-Token."""
    query = read_query(req, CaseListQuery)
    page = app().cases.list(query.to_page_request(), words=query.q, tag=query.tag)
    return json_response([CaseHeader.of(h) for h in page.items], headers=page_headers(req, query, page))


@bp.endpoint("case/{case_id}", "GET", security=Security.USER, operation_id="getCase",
             summary="A case's details: fields, scripts, outputs, version", tag="cases",
             query=VersionQuery, answers={200: CaseDetails}, errors=(404,), answer_headers={"ETag": "the version"})
def get_case(req: func.HttpRequest, user: Principal) -> func.HttpResponse:
    """One case's details: fields with their rules, script names, outputs; ?version=N for an older one."""
    query = read_query(req, VersionQuery)
    published, latest = app().cases.get(route(req, "case_id"), query.version)
    headers = {
        "ETag": f'"{published.id}-v{published.version}"',
        "Cache-Control": "private, max-age=3600, immutable" if query.version else "private, no-cache",
        "Access-Control-Expose-Headers": EXPOSED_HEADERS,
    }
    return json_response(CaseDetails.of(published, latest), headers=headers)


@bp.endpoint("case/{case_id}", "PUT", security=Security.USER, operation_id="publishCase",
             summary="Publish a case definition (admins)", tag="cases", body=CaseDefinitionBody,
             answers={200: Published, 201: Published}, errors=(403,), answer_headers={"Location": "the new version"},
             description="201 with the new version, or 200 when the definition equals the latest one. Every script "
                         "is rendered with the fields' defaults first: a template that cannot render is a 422.")
def publish_case(req: func.HttpRequest, user: Principal) -> func.HttpResponse:
    """Publish a definition (admins): 201 with the new version, or 200 when nothing changed."""
    document = read_json_document(req, max_bytes=MAX_DEFINITION_BYTES)
    publication = app().cases.publish(user, document, case_id=route(req, "case_id"))
    case = publication.case
    location = f"/api/case/{case.id}?version={case.version}"
    return json_response(Published.of(publication), status=201 if publication.changed else 200,
                         headers={"Location": location, "Access-Control-Expose-Headers": EXPOSED_HEADERS})
