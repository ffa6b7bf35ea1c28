"""The status webhook the job's agent calls from the simulator (authenticated by the job's token)."""

import azure.functions as func

from shared.api.models import StatusAnswer
from shared.api.openapi import operation
from shared.http import endpoint, json_response, read_json, route
from shared.services.agent_reports import StatusReport
from shared.wiring import app

bp = func.Blueprint()


@bp.route(route="job/{job_id}/status", methods=["PATCH"])
@operation(operation_id="reportStatus", summary="The job's agent reports its status", tag="agent", security="agent",
           body=StatusReport, answers={200: StatusAnswer}, errors=(404,),
           description="Statuses move forward only; a repeated or late report is answered with the current status. "
                       "After cleanup with files, the answer carries a write-only upload link per file; done with "
                       "the manifest is checked against storage. The token is checked before the body is read.")
@endpoint
def report_status(req: func.HttpRequest) -> func.HttpResponse:
    """{status, detail?, progress?, exit_code?, stderr_tail?, files?} -> the job's status; on cleanup
    also the upload grant: {upload: {expires_at, files: {name: url}}}."""
    job, grant = app().agent_reports.record(route(req, "job_id"), req.headers.get("Authorization"),
                                            lambda: read_json(req, StatusReport))
    return json_response(StatusAnswer.with_grant(job, grant), headers={"Cache-Control": "no-store"})
