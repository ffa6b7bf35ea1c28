"""The job endpoints: create, list, read, set fields, run, status, cancel, delete."""

import azure.functions as func

from shared.errors import BadRequest
from shared.http import EXPOSED_HEADERS, caller, endpoint, json_response, page_headers, read_json, read_query, route
from shared.services.jobs import FieldsUpdate, JobListQuery, NewJob, StatusQuery
from shared.views import job_details, job_status, job_summary
from shared.wiring import app

bp = func.Blueprint()

MAX_IDEMPOTENCY_KEY = 200


def _job_headers(etag: str, **extra: str) -> dict[str, str]:
    return {"ETag": etag, "Cache-Control": "no-store", "Access-Control-Expose-Headers": EXPOSED_HEADERS, **extra}


def _idempotency_key(req: func.HttpRequest) -> str | None:
    key = req.headers.get("Idempotency-Key")
    if key is not None and not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY:
        raise BadRequest(f"the Idempotency-Key header must be 1 to {MAX_IDEMPOTENCY_KEY} characters")
    return key


@bp.route(route="job", methods=["POST"])
@endpoint
def create_job(req: func.HttpRequest) -> func.HttpResponse:
    """A new draft job from a case, fields at the case's defaults: 201 {job_id}. Idempotency-Key honoured."""
    principal = caller(req)
    request = read_json(req, NewJob)
    stored, replayed = app().jobs.create(principal, request, _idempotency_key(req))
    headers = _job_headers(stored.etag, Location=f"/api/job/{stored.item.job_id}")
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return json_response({"job_id": stored.item.job_id}, status=201, headers=headers)


@bp.route(route="job", methods=["GET"])
@endpoint
def list_jobs(req: func.HttpRequest) -> func.HttpResponse:
    """The caller's jobs, newest first; ?status=, ?case_id=, paging as for cases; admins: ?user=."""
    principal = caller(req)
    query = read_query(req, JobListQuery)
    page = app().jobs.list(principal, query)
    headers = page_headers(req, query.page, query.capped_per_page, bool(query.continuation), page.continuation)
    return json_response([job_summary(s) for s in page.items], headers={**headers, "Cache-Control": "no-store"})


@bp.route(route="job/{job_id}", methods=["GET"])
@endpoint
def get_job(req: func.HttpRequest) -> func.HttpResponse:
    """Everything about one job, with its ETag."""
    stored = app().jobs.get(caller(req), route(req, "job_id"))
    return json_response(job_details(stored.item), headers=_job_headers(stored.etag))


@bp.route(route="job/{job_id}", methods=["PATCH"])
@endpoint
def set_fields(req: func.HttpRequest) -> func.HttpResponse:
    """Set field values of a draft job (checked against its case version); If-Match honoured."""
    principal = caller(req)
    update = read_json(req, FieldsUpdate)
    stored = app().jobs.set_fields(principal, route(req, "job_id"), update, if_match=req.headers.get("If-Match"))
    return json_response({"success": True, "fields": stored.item.fields}, headers=_job_headers(stored.etag))


@bp.route(route="job/{job_id}", methods=["POST"])
@endpoint
def run_job(req: func.HttpRequest) -> func.HttpResponse:
    """Run: draft -> submitted and the start message queued: 202 {success, status}."""
    stored = app().jobs.run(caller(req), route(req, "job_id"))
    body = {"success": True, "status": stored.item.status.value}
    return json_response(body, status=202, headers=_job_headers(stored.etag,
                                                                Location=f"/api/job/{stored.item.job_id}/status"))


@bp.route(route="job/{job_id}/status", methods=["GET"])
@endpoint
def get_status(req: func.HttpRequest) -> func.HttpResponse:
    """{status, updated_at, detail, progress}; ?wait=N (≤ 25 s) answers as soon as the status changes."""
    principal = caller(req)
    query = read_query(req, StatusQuery)
    stored = app().jobs.wait_for_status(principal, route(req, "job_id"), query)
    return json_response(job_status(stored.item), headers=_job_headers(stored.etag))


@bp.route(route="job/{job_id}/cancel", methods=["POST"])
@endpoint
def cancel_job(req: func.HttpRequest) -> func.HttpResponse:
    """A draft is cancelled at once (200); an active job is marked and the manager told (202)."""
    stored = app().jobs.cancel(caller(req), route(req, "job_id"))
    body = {"success": True, "status": stored.item.status.value,
            "cancel_requested": stored.item.cancel_requested is not None}
    return json_response(body, status=202 if stored.item.status.active else 200, headers=_job_headers(stored.etag))


@bp.route(route="job/{job_id}/relaunch", methods=["POST"])
@endpoint
def relaunch_job(req: func.HttpRequest) -> func.HttpResponse:
    """A new draft job with the same case version and values: 201 {job_id}."""
    stored = app().jobs.relaunch(caller(req), route(req, "job_id"))
    return json_response({"job_id": stored.item.job_id}, status=201,
                         headers=_job_headers(stored.etag, Location=f"/api/job/{stored.item.job_id}"))


@bp.route(route="job/{job_id}", methods=["DELETE"])
@endpoint
def delete_job(req: func.HttpRequest) -> func.HttpResponse:
    """Delete a draft or finished job and its outputs: 204."""
    app().jobs.delete(caller(req), route(req, "job_id"))
    return func.HttpResponse(status_code=204)
