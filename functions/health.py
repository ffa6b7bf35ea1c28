import azure.functions as func

from shared.api.models import HealthReport
from shared.api.openapi import Security
from shared.errors import ConfigurationError
from shared.http import ApiBlueprint, json_response
from shared.services.health import misconfigured
from shared.wiring import app

bp = ApiBlueprint()


@bp.endpoint("health", "GET", security=Security.NONE, operation_id="getHealth",
             summary="Whether every dependency is reachable", tag="operations",
             answers={200: HealthReport, 503: HealthReport},
             description="Storage, the job queue and each simulator; a failure says its kind, never an address. "
                         "Settings that cannot be read are named (group \"configuration\"), their values never.")
def health(req: func.HttpRequest) -> func.HttpResponse:
    """Whether Table, Blob, the job queue and each simulator are reachable: 200 or 503."""
    try:
        report = app().health.check()
    except ConfigurationError as exc:  # the settings cannot be read: say which, not a 500
        report = misconfigured(exc)
    return json_response(HealthReport.of(report), status=200 if report.healthy else 503,
                         headers={"Cache-Control": "no-store"})
