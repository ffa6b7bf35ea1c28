"""The status webhook the job's agent calls from the simulator (authenticated by the job's token)."""

import azure.functions as func

from shared.http import endpoint, json_response, read_json, route
from shared.services.agent_reports import StatusReport
from shared.views import status_answer
from shared.wiring import app

bp = func.Blueprint()


@bp.route(route="job/{job_id}/status", methods=["PATCH"])
@endpoint
def report_status(req: func.HttpRequest) -> func.HttpResponse:
    """{status, detail?, progress?, exit_code?, stderr_tail?, files?} -> the job's status; on cleanup
    also the upload grant: {upload: {expires_at, files: {name: url}}}."""
    report = read_json(req, StatusReport)
    job, grant = app().agent_reports.record(route(req, "job_id"), req.headers.get("Authorization"), report)
    return json_response(status_answer(job, grant), headers={"Cache-Control": "no-store"})
