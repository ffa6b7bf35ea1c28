import azure.functions as func

from shared.api.models import HealthReport
from shared.api.openapi import Security
from shared.http import ApiBlueprint, json_response
from shared.wiring import app

bp = ApiBlueprint()


@bp.endpoint("health", "GET", security=Security.NONE, operation_id="getHealth",
             summary="Whether every dependency is reachable", tag="operations",
             answers={200: HealthReport, 503: HealthReport},
             description="Storage, the job queue and each simulator; a failure says its kind, never an address.")
def health(req: func.HttpRequest) -> func.HttpResponse:
    """Whether Table, Blob, the job queue and each simulator are reachable: 200 or 503."""
    report = app().health.check()
    return json_response(HealthReport.of(report), status=200 if report.healthy else 503,
                         headers={"Cache-Control": "no-store"})
