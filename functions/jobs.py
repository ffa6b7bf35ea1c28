"""The job endpoints: create, list, read, set fields, run, status, cancel, delete."""

from datetime import datetime, timezone

import azure.functions as func

from shared import wiring
from shared.config import get_settings
from shared.errors import BadRequest
from shared.http import EXPOSED_HEADERS, caller, endpoint, json_response, page_headers, read_json, read_query
from shared.services import jobs
from shared.views import job_details, job_status, job_summary

bp = func.Blueprint()

MAX_IDEMPOTENCY_KEY = 200


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _job_headers(etag: str, **extra: str) -> dict[str, str]:
    return {"ETag": etag, "Cache-Control": "no-store", "Access-Control-Expose-Headers": EXPOSED_HEADERS, **extra}


def _job_id(req: func.HttpRequest) -> str:
    return req.route_params.get("job_id", "")


@bp.route(route="job", methods=["POST"])
@endpoint
def create_job(req: func.HttpRequest) -> func.HttpResponse:
    """A new draft job from a case, fields at the case's defaults: 201 {job_id}. Idempotency-Key honoured."""
    principal = caller(req)
    request = read_json(req, jobs.NewJob)
    key = req.headers.get("Idempotency-Key")
    if key is not None and not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY:
        raise BadRequest(f"the Idempotency-Key header must be 1 to {MAX_IDEMPOTENCY_KEY} characters")
    stored, replayed = jobs.create_job(wiring.case_repository(), wiring.job_repository(), principal,
                                       get_settings().admin_role, request, _now(), idempotency_key=key)
    headers = _job_headers(stored.etag, Location=f"/api/job/{stored.item.job_id}")
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return json_response({"job_id": stored.item.job_id}, status=201, headers=headers)


@bp.route(route="job", methods=["GET"])
@endpoint
def list_jobs(req: func.HttpRequest) -> func.HttpResponse:
    """The caller's jobs, newest first; ?status=, ?case_id=, paging as for cases; admins: ?user=."""
    principal = caller(req)
    query = read_query(req, jobs.JobListQuery)
    page = jobs.list_jobs(wiring.job_repository(), principal, get_settings().admin_role, query)
    headers = page_headers(req, query.page, query.capped_per_page, bool(query.continuation), page.continuation)
    return json_response([job_summary(s) for s in page.items], headers={**headers, "Cache-Control": "no-store"})


@bp.route(route="job/{job_id}", methods=["GET"])
@endpoint
def get_job(req: func.HttpRequest) -> func.HttpResponse:
    """Everything about one job, with its ETag."""
    stored = jobs.load_job(wiring.job_repository(), caller(req), get_settings().admin_role, _job_id(req))
    return json_response(job_details(stored.item), headers=_job_headers(stored.etag))


@bp.route(route="job/{job_id}", methods=["PATCH"])
@endpoint
def set_fields(req: func.HttpRequest) -> func.HttpResponse:
    """Set field values of a draft job (checked against its case version); If-Match honoured."""
    principal = caller(req)
    update = read_json(req, jobs.FieldsUpdate)
    stored = jobs.set_fields(wiring.case_repository(), wiring.job_repository(), principal,
                             get_settings().admin_role, _job_id(req), update, _now(),
                             if_match=req.headers.get("If-Match"))
    return json_response({"success": True, "fields": stored.item.fields}, headers=_job_headers(stored.etag))


@bp.route(route="job/{job_id}", methods=["POST"])
@endpoint
def run_job(req: func.HttpRequest) -> func.HttpResponse:
    """Run: draft -> submitted and the start message queued: 202 {success, status}."""
    stored = jobs.run_job(wiring.case_repository(), wiring.job_repository(), wiring.job_queue(), caller(req),
                          get_settings().admin_role, _job_id(req), _now())
    body = {"success": True, "status": stored.item.status.value}
    return json_response(body, status=202, headers=_job_headers(stored.etag,
                                                                Location=f"/api/job/{stored.item.job_id}/status"))


@bp.route(route="job/{job_id}/status", methods=["GET"])
@endpoint
def get_status(req: func.HttpRequest) -> func.HttpResponse:
    """{status, updated_at, detail, progress}; ?wait=N (≤ 25 s) answers as soon as the status changes."""
    principal = caller(req)
    query = read_query(req, jobs.StatusQuery)
    stored = jobs.wait_for_status(wiring.job_repository(), principal, get_settings().admin_role, _job_id(req),
                                  query)
    return json_response(job_status(stored.item), headers=_job_headers(stored.etag))


@bp.route(route="job/{job_id}/cancel", methods=["POST"])
@endpoint
def cancel_job(req: func.HttpRequest) -> func.HttpResponse:
    """A draft is cancelled at once (200); an active job is marked and the manager told (202)."""
    stored = jobs.cancel_job(wiring.job_repository(), wiring.job_queue(), caller(req), get_settings().admin_role,
                             _job_id(req), _now())
    job = stored.item
    body = {"success": True, "status": job.status.value, "cancel_requested": job.cancel_requested is not None}
    return json_response(body, status=202 if job.status.active else 200, headers=_job_headers(stored.etag))


@bp.route(route="job/{job_id}", methods=["DELETE"])
@endpoint
def delete_job(req: func.HttpRequest) -> func.HttpResponse:
    """Delete a draft or finished job and its outputs: 204."""
    jobs.delete_job(wiring.job_repository(), wiring.output_store(), caller(req), get_settings().admin_role,
                    _job_id(req))
    return func.HttpResponse(status_code=204)
