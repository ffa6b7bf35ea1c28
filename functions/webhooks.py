"""The status webhook the job's agent calls from the simulator (authenticated by the job's token)."""

import azure.functions as func

from shared.api.models import StatusAnswer
from shared.api.openapi import Security
from shared.api.requests import StatusReport
from shared.domain.jobs import Job
from shared.http import ApiBlueprint, json_response, read_json
from shared.services.ports import Stored
from shared.wiring import app

bp = ApiBlueprint()


@bp.endpoint("job/{job_id}/status", "PATCH", security=Security.AGENT, operation_id="reportStatus",
             summary="The job's agent reports its status", tag="agent",
             body=StatusReport, answers={200: StatusAnswer}, errors=(404,),
             description="Statuses move forward only; a repeated or late report is answered with the current status. "
                         "After cleanup with files, the answer carries a write-only upload link per file; done with "
                         "the manifest is checked against storage. The token is checked before the body is read.")
def report_status(req: func.HttpRequest, job: Stored[Job]) -> func.HttpResponse:
    """{status, detail?, progress?, exit_code?, stderr_tail?, files?} -> the job's status; on cleanup
    also the upload grant: {upload: {expires_at, files: {name: url}}}."""
    report = read_json(req, StatusReport).to_report()
    recorded, grant = app().agent_reports.record(job, report)
    return json_response(StatusAnswer.with_grant(recorded, grant), headers={"Cache-Control": "no-store"})
