"""The job endpoints: create, list, read, set fields, run, status, cancel, relaunch, delete."""

import azure.functions as func

from shared.api.models import CancelAccepted, FieldsSet, JobCreated, JobDetails, JobStatusInfo, JobSummary, RunAccepted
from shared.api.openapi import Security
from shared.api.requests import FieldsUpdate, JobListQuery, NewJob, RunRequest, StatusQuery
from shared.auth import Principal
from shared.http import (
    EXPOSED_HEADERS,
    PAGE_HEADERS,
    ApiBlueprint,
    idempotency_key,
    json_or_not_modified,
    json_response,
    page_headers,
    read_json,
    read_query,
    route,
)
from shared.wiring import app

bp = ApiBlueprint()
USER = Security.USER

JOB_HEADERS = {"ETag": "the job's version, for If-Match"}
IF_NONE_MATCH = {"If-None-Match": "the ETag of the answer the caller has: 304 without a body while it is current"}
IF_MATCH = {"If-Match": "the ETag the change was made against: 412 when the job changed since"}


def _job_headers(etag: str, **extra: str) -> dict[str, str]:
    return {"ETag": etag, "Cache-Control": "no-store", "Access-Control-Expose-Headers": EXPOSED_HEADERS, **extra}


@bp.endpoint("job", "POST", security=USER, operation_id="createJob",
             summary="A new draft job from a case", tag="jobs", body=NewJob,
             answers={201: JobCreated}, errors=(403, 404),
             request_headers={"Idempotency-Key": "a retry with the same key returns the same job"},
             answer_headers={"Location": "the job", "ETag": "the job's version",
                             "Idempotent-Replayed": "true on a replay"},
             description="From the case's latest version, fields at the case's defaults and any values given.",
             links={"GetJob": "getJob", "SetFields": "setFields", "RunJob": "runJob", "GetJobStatus": "getJobStatus",
                    "CancelJob": "cancelJob", "RelaunchJob": "relaunchJob", "ListOutputs": "listOutputs",
                    "DeleteJob": "deleteJob"})
def create_job(req: func.HttpRequest, user: Principal) -> func.HttpResponse:
    """A new draft job from a case, fields at the case's defaults: 201 {job_id}. Idempotency-Key honoured."""
    request = read_json(req, NewJob)
    stored, replayed = app().jobs.create(user, request.case_id, request.job_title, request.fields, owner=request.user,
                                         idempotency_key=idempotency_key(req))
    headers = _job_headers(stored.etag, Location=f"/api/job/{stored.item.job_id}")
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return json_response(JobCreated(job_id=stored.item.job_id), status=201, headers=headers)


@bp.endpoint("job", "GET", security=USER, operation_id="listJobs",
             summary="The caller's jobs, newest first", tag="jobs", query=JobListQuery,
             answers={200: list[JobSummary]}, errors=(403, 404), answer_headers=PAGE_HEADERS)
def list_jobs(req: func.HttpRequest, user: Principal) -> func.HttpResponse:
    """The caller's jobs, newest first; ?status=, ?case_id=, ?sweep_id=, paging as for cases; admins: ?user=,
    ?all=true."""
    query = read_query(req, JobListQuery)
    if query.sweep_id:
        page = app().sweeps.jobs(user, query.sweep_id, query.to_page_request(), status=query.status)
    else:
        page = app().jobs.list(user, query.to_page_request(), status=query.status, case_id=query.case_id,
                               user=query.user, all_users=query.all)
    return json_response([JobSummary.of(job) for job in page.items],
                         headers={**page_headers(req, query, page), "Cache-Control": "no-store"})


@bp.endpoint("job/{job_id}", "GET", security=USER, operation_id="getJob",
             summary="Everything about one job", tag="jobs", answers={200: JobDetails, 304: None},
             errors=(404,), answer_headers=JOB_HEADERS, request_headers=IF_NONE_MATCH)
def get_job(req: func.HttpRequest, user: Principal) -> func.HttpResponse:
    """Everything about one job, with its ETag."""
    stored = app().jobs.get(user, route(req, "job_id"))
    return json_or_not_modified(req, JobDetails.of(stored.item), _job_headers(stored.etag))


@bp.endpoint("job/{job_id}", "PATCH", security=USER, operation_id="setFields",
             summary="Set field values of a draft job", tag="jobs", body=FieldsUpdate,
             answers={200: FieldsSet}, errors=(404, 409, 412), request_headers=IF_MATCH, answer_headers=JOB_HEADERS,
             description="Each value is checked against the job's case version; 422 names the field and its rule.")
def set_fields(req: func.HttpRequest, user: Principal) -> func.HttpResponse:
    """Set field values of a draft job (checked against its case version); If-Match honoured."""
    update = read_json(req, FieldsUpdate)
    stored = app().jobs.set_fields(user, route(req, "job_id"), update.fields, if_match=req.headers.get("If-Match"))
    return json_response(FieldsSet(fields=stored.item.fields), headers=_job_headers(stored.etag))


@bp.endpoint("job/{job_id}", "POST", security=USER, operation_id="runJob",
             summary="Run a job", tag="jobs", body=RunRequest, body_required=False,
             answers={202: RunAccepted}, errors=(404, 409, 422),
             answer_headers={"Location": "the job's status", **JOB_HEADERS},
             description="Draft -> submitted and the start message queued. Again while submitted resends the start "
                         "message; while queued, running or in cleanup it changes nothing; a finished job is 409. "
                         "{\"simulator\": name} chooses the site (422 for one the case cannot use); without it the "
                         "job goes to the offer that starts it soonest. It may then wait for a slot, a licence or "
                         "its owner's share: its detail says which, and its place in line.")
def run_job(req: func.HttpRequest, user: Principal) -> func.HttpResponse:
    """Run: draft -> submitted and the start message queued: 202 {success, status}."""
    request = read_json(req, RunRequest) if req.get_body() else RunRequest()
    stored = app().jobs.run(user, route(req, "job_id"), simulator=request.simulator)
    return json_response(RunAccepted(status=stored.item.status), status=202,
                         headers=_job_headers(stored.etag, Location=f"/api/job/{stored.item.job_id}/status"))


@bp.endpoint("job/{job_id}/status", "GET", security=USER, operation_id="getJobStatus",
             summary="A job's status, for polling", tag="jobs", query=StatusQuery,
             answers={200: JobStatusInfo, 304: None}, errors=(404,), answer_headers=JOB_HEADERS,
             request_headers=IF_NONE_MATCH,
             description="Poll it with If-None-Match (304 while nothing changed), or long-poll with ?wait=N (at most "
                         "25 s): it answers as soon as the status differs from ?since, or without ?since as soon as "
                         "anything shown changes (status, progress, detail) from what If-None-Match names or, "
                         "without it, from what it is now.")
def get_status(req: func.HttpRequest, user: Principal) -> func.HttpResponse:
    """{status, updated_at, detail, progress}; ?wait=N (≤ 25 s) answers as soon as it changes."""
    query = read_query(req, StatusQuery)
    known = req.headers.get("If-None-Match")
    stored = app().jobs.wait_for_status(user, route(req, "job_id"), wait=query.wait, since=query.since, known=known)
    if stored is None:
        return func.HttpResponse(status_code=304, headers=_job_headers(known))
    return json_or_not_modified(req, JobStatusInfo.of(stored.item), _job_headers(stored.etag))


@bp.endpoint("job/{job_id}/cancel", "POST", security=USER, operation_id="cancelJob",
             summary="Cancel a job", tag="jobs", answers={200: CancelAccepted, 202: CancelAccepted},
             errors=(404, 409), answer_headers=JOB_HEADERS,
             description="A draft is cancelled at once (200); an active job is marked and its simulator told (202).")
def cancel_job(req: func.HttpRequest, user: Principal) -> func.HttpResponse:
    """A draft is cancelled at once (200); an active job is marked and the manager told (202)."""
    job = app().jobs.cancel(user, route(req, "job_id"))
    answer = CancelAccepted(status=job.item.status, cancel_requested=job.item.cancel_requested is not None)
    return json_response(answer, status=202 if job.item.status.active else 200, headers=_job_headers(job.etag))


@bp.endpoint("job/{job_id}/relaunch", "POST", security=USER, operation_id="relaunchJob",
             summary="A new draft with the same case version and values", tag="jobs",
             answers={201: JobCreated}, errors=(404,), answer_headers={"Location": "the new job", **JOB_HEADERS})
def relaunch_job(req: func.HttpRequest, user: Principal) -> func.HttpResponse:
    """A new draft job with the same case version and values: 201 {job_id}."""
    stored = app().jobs.relaunch(user, route(req, "job_id"))
    return json_response(JobCreated(job_id=stored.item.job_id), status=201,
                         headers=_job_headers(stored.etag, Location=f"/api/job/{stored.item.job_id}"))


@bp.endpoint("job/{job_id}", "DELETE", security=USER, operation_id="deleteJob",
             summary="Delete a draft or finished job and its outputs", tag="jobs",
             answers={204: None}, errors=(404, 409))
def delete_job(req: func.HttpRequest, user: Principal) -> func.HttpResponse:
    """Delete a draft or finished job and its outputs: 204."""
    app().jobs.delete(user, route(req, "job_id"))
    return func.HttpResponse(status_code=204)
