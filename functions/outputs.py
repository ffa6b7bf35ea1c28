"""A job's outputs: the list, and a short-lived read-only link (user-delegation SAS) to each."""

import azure.functions as func

from shared.api.models import OutputInfo, OutputLink
from shared.api.openapi import Security
from shared.api.requests import DownloadQuery
from shared.auth import Principal
from shared.http import ApiBlueprint, json_response, read_query, route
from shared.wiring import app

bp = ApiBlueprint()


@bp.endpoint("job/{job_id}/output", "GET", security=Security.USER, operation_id="listOutputs",
             summary="A job's outputs", tag="outputs", answers={200: list[OutputInfo]}, errors=(404,))
def list_job_outputs(req: func.HttpRequest, user: Principal) -> func.HttpResponse:
    """[{output_id, name, size, content_type, md5}] for the owner (or an admin)."""
    outputs = app().outputs.list(user, route(req, "job_id"))
    return json_response([OutputInfo.of(o) for o in outputs], headers={"Cache-Control": "no-store"})


@bp.endpoint("job/{job_id}/output/{output_id}", "GET", security=Security.USER, operation_id="getOutputLink",
             summary="A read-only link to one output, straight from Blob storage",
             tag="outputs", query=DownloadQuery, answers={200: OutputLink, 302: None}, errors=(404,),
             description="The link is a user-delegation SAS (https, read only, 15 minutes) to the output as sealed "
                         "at done; ?redirect=true answers 302 to it.")
def get_job_output(req: func.HttpRequest, user: Principal) -> func.HttpResponse:
    """{url, expires_at}: a read-only link valid 15 minutes; ?redirect=true answers 302 to it."""
    query = read_query(req, DownloadQuery)
    link = app().outputs.download(user, route(req, "job_id"), route(req, "output_id"))
    if query.redirect:
        return func.HttpResponse(status_code=302, headers={"Location": link.url, "Cache-Control": "no-store"})
    return json_response(OutputLink(url=link.url, expires_at=link.expires_at), headers={"Cache-Control": "no-store"})
