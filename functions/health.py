import azure.functions as func

from shared.http import endpoint, json_response
from shared.wiring import app

bp = func.Blueprint()


@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@endpoint
def health(req: func.HttpRequest) -> func.HttpResponse:
    """Whether Table, Blob, the job queue and each simulator are reachable: 200 or 503."""
    report = app().health.check()
    return json_response(report, status=200 if report.healthy else 503, headers={"Cache-Control": "no-store"})
