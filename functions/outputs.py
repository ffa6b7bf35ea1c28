"""A job's outputs: the list, and a short-lived read-only link (user-delegation SAS) to each."""

import azure.functions as func

from shared import wiring
from shared.config import get_settings
from shared.http import caller, endpoint, json_response, read_query
from shared.services import jobs
from shared.services.status import DownloadQuery, download, list_outputs

bp = func.Blueprint()


def _job(req: func.HttpRequest):
    return jobs.load_job(wiring.job_repository(), caller(req), get_settings().admin_role,
                         req.route_params.get("job_id", "")).item


@bp.route(route="job/{job_id}/output", methods=["GET"])
@endpoint
def list_job_outputs(req: func.HttpRequest) -> func.HttpResponse:
    """[{output_id, name, size, content_type, md5}] for the owner (or an admin)."""
    return json_response([o.model_dump() for o in list_outputs(_job(req))], headers={"Cache-Control": "no-store"})


@bp.route(route="job/{job_id}/output/{output_id}", methods=["GET"])
@endpoint
def get_job_output(req: func.HttpRequest) -> func.HttpResponse:
    """{url, expires_at}: a read-only link valid 15 minutes; ?redirect=true answers 302 to it."""
    query = read_query(req, DownloadQuery)
    link = download(wiring.output_store(), _job(req), req.route_params.get("output_id", ""))
    if query.redirect:
        return func.HttpResponse(status_code=302, headers={"Location": link.url, "Cache-Control": "no-store"})
    return json_response({"url": link.url, "expires_at": link.expires_at.isoformat()},
                         headers={"Cache-Control": "no-store"})
