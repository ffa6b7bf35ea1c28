import azure.functions as func

from shared import wiring
from shared.http import endpoint, json_response
from shared.services.health import check_health

bp = func.Blueprint()


@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@endpoint
def health(req: func.HttpRequest) -> func.HttpResponse:
    """Whether Table, Blob, the job queue and each simulator are reachable: 200 or 503."""
    report = check_health(wiring.health_probes())
    return json_response(report, status=200 if report.healthy else 503, headers={"Cache-Control": "no-store"})
