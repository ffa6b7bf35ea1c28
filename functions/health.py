import azure.functions as func

from shared.api.openapi import operation
from shared.http import endpoint, json_response
from shared.services.health import HealthReport
from shared.wiring import app

bp = func.Blueprint()


@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@operation(operation_id="getHealth", summary="Whether every dependency is reachable", tag="operations",
           security="none", answers={200: HealthReport, 503: HealthReport},
           description="Storage, the job queue and each simulator; a failure says its kind, never an address.")
@endpoint
def health(req: func.HttpRequest) -> func.HttpResponse:
    """Whether Table, Blob, the job queue and each simulator are reachable: 200 or 503."""
    report = app().health.check()
    return json_response(report, status=200 if report.healthy else 503, headers={"Cache-Control": "no-store"})
