"""The status webhook the job's agent calls from the simulator (authenticated by the job's token)."""

from datetime import datetime, timezone

import azure.functions as func

from shared import wiring
from shared.http import endpoint, json_response, read_json
from shared.services.status import StatusReport, record_status
from shared.views import status_answer

bp = func.Blueprint()


@bp.route(route="job/{job_id}/status", methods=["PATCH"])
@endpoint
def report_status(req: func.HttpRequest) -> func.HttpResponse:
    """{status, detail?, progress?, exit_code?, stderr_tail?, files?} -> the job's status; on cleanup
    also the upload grant: {upload: {expires_at, files: {name: url}}}."""
    report = read_json(req, StatusReport)
    job, grant = record_status(wiring.job_repository(), wiring.output_store(), req.route_params.get("job_id", ""),
                               req.headers.get("Authorization"), report, datetime.now(timezone.utc))
    return json_response(status_answer(job, grant), headers={"Cache-Control": "no-store"})
