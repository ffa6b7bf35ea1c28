"""The studies endpoints: sweeps over a case's fields, previews before anything runs, comparisons."""

import azure.functions as func

from shared.api.models import (
    Comparison,
    PreviewAnswer,
    SweepCancelled,
    SweepCreated,
    SweepDetails,
    SweepRetried,
    SweepStarted,
    SweepSummary,
)
from shared.api.openapi import Security
from shared.api.requests import CompareQuery, NewSweep, PreviewRequest, RunRequest, SweepListQuery
from shared.auth import Principal
from shared.errors import BadRequest
from shared.http import (
    EXPOSED_HEADERS,
    PAGE_HEADERS,
    ApiBlueprint,
    idempotency_key,
    json_response,
    page_headers,
    read_json,
    read_query,
    route,
)
from shared.services.sweeps import SweepRequest
from shared.wiring import app

bp = ApiBlueprint()
USER = Security.USER
NO_STORE = {"Cache-Control": "no-store"}
MAX_SWEEP_BODY = 4 * 1024 * 1024  # a table of 10,000 rows


@bp.endpoint("sweep", "POST", security=USER, operation_id="createSweep",
             summary="A sweep: one job per combination of values", tag="studies", body=NewSweep,
             answers={201: SweepCreated}, errors=(404, 413),
             request_headers={"Idempotency-Key": "a retry with the same key returns the same sweep (and finishes "
                                                 "writing its members if the first attempt was interrupted)"},
             answer_headers={"Location": "the sweep", "Idempotent-Replayed": "true on a replay"},
             description="Every value is checked against its field before anything is written: one bad value, an "
                         "unknown field, zip lists of different lengths, a malformed table or more members than "
                         "allowed (1,000 unless the operator set SWEEP_MAX_MEMBERS) is a 422 naming each problem, "
                         "and nothing is created. Members are titled with their values, all on the case's latest "
                         "version; with run: true every member is asked to run and the sites' limits decide when "
                         "each starts. A sweep of more than 100 members answers at once with complete: false and its "
                         "members are written in the background within seconds (the sweep shows state creating "
                         "until they are); their job ids are in the answer either way.",
             links={"GetSweep": "getSweep", "RunSweep": "runSweep", "CancelSweep": "cancelSweep",
                    "RetrySweep": "retrySweep"}, link_parameter="sweep_id")
def create_sweep(req: func.HttpRequest, user: Principal) -> func.HttpResponse:
    body = read_json(req, NewSweep, max_bytes=MAX_SWEEP_BODY)
    request = SweepRequest(case_id=body.case_id, title=body.title, plan=body.to_plan(), run=body.run,
                           simulator=body.simulator)
    sweep, replayed = app().sweeps.create(user, request, idempotency_key=idempotency_key(req))
    headers = {"Location": f"/api/sweep/{sweep.sweep_id}", "Access-Control-Expose-Headers": EXPOSED_HEADERS,
               **NO_STORE}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return json_response(SweepCreated.of(sweep), status=201, headers=headers)


@bp.endpoint("sweep", "GET", security=USER, operation_id="listSweeps",
             summary="The caller's sweeps, newest first", tag="studies", query=SweepListQuery,
             answers={200: list[SweepSummary]}, answer_headers=PAGE_HEADERS)
def list_sweeps(req: func.HttpRequest, user: Principal) -> func.HttpResponse:
    query = read_query(req, SweepListQuery)
    page = app().sweeps.list(user, query.to_page_request(), case_id=query.case_id)
    return json_response([SweepSummary.of(sweep) for sweep in page.items],
                         headers={**page_headers(req, query, page), **NO_STORE})


@bp.endpoint("sweep/{sweep_id}", "GET", security=USER, operation_id="getSweep",
             summary="A sweep: counts by status, progress and every member", tag="studies",
             answers={200: SweepDetails}, errors=(404,),
             description="Each member is its current attempt (its latest retry), with its values of the varied fields "
                         "and, once done, the summaries of its CSV outputs' numeric columns.")
def get_sweep(req: func.HttpRequest, user: Principal) -> func.HttpResponse:
    return json_response(SweepDetails.of(app().sweeps.view(user, route(req, "sweep_id"))), headers=NO_STORE)


@bp.endpoint("sweep/{sweep_id}/run", "POST", security=USER, operation_id="runSweep",
             summary="Run every member that is still a draft", tag="studies", body=RunRequest, body_required=False,
             answers={202: SweepStarted}, errors=(404, 409, 422),
             description="For a sweep created without run: each draft member is asked to run as POST /api/job/{id} "
                         "would ({\"simulator\": name} chooses the site for all of them); the sites' limits decide "
                         "when each starts. Members that are not drafts are left as they are.")
def run_sweep(req: func.HttpRequest, user: Principal) -> func.HttpResponse:
    request = read_json(req, RunRequest) if req.get_body() else RunRequest()
    started, others = app().sweeps.run(user, route(req, "sweep_id"), request.simulator)
    return json_response(SweepStarted(started=started, others=others), status=202, headers=NO_STORE)


@bp.endpoint("sweep/{sweep_id}/cancel", "POST", security=USER, operation_id="cancelSweep",
             summary="Cancel every member that has not finished", tag="studies",
             answers={202: SweepCancelled}, errors=(404, 409),
             description="409 while the sweep's members are still being written (a minute at most).")
def cancel_sweep(req: func.HttpRequest, user: Principal) -> func.HttpResponse:
    cancelled, finished = app().sweeps.cancel(user, route(req, "sweep_id"))
    return json_response(SweepCancelled(cancelled=cancelled, finished=finished), status=202, headers=NO_STORE)


@bp.endpoint("sweep/{sweep_id}/retry", "POST", security=USER, operation_id="retrySweep",
             summary="Run the failed members again", tag="studies", answers={202: SweepRetried}, errors=(404, 409),
             description="Each failed member gets a new attempt (a new job with the same values), asked to run; the "
                         "failed job stays as it was. Sent twice, it makes each new attempt once.")
def retry_sweep(req: func.HttpRequest, user: Principal) -> func.HttpResponse:
    job_ids = app().sweeps.retry(user, route(req, "sweep_id"))
    return json_response(SweepRetried(job_ids=job_ids), status=202, headers=NO_STORE)


@bp.endpoint("preview", "POST", security=USER, operation_id="previewRuns",
             summary="What a run or a sweep would be, before anything exists", tag="studies", body=PreviewRequest,
             answers={200: PreviewAnswer}, errors=(404, 413),
             description="The number of runs, each member's problems, a sample member's scripts as they would be "
                         "rendered (its job id is not known yet and shows as \"<job id>\"), where a run would go and "
                         "a quote per site. Nothing is written: a bad value is reported here, not refused.")
def preview_runs(req: func.HttpRequest, user: Principal) -> func.HttpResponse:
    body = read_json(req, PreviewRequest, max_bytes=MAX_SWEEP_BODY)
    preview = app().previews.plan(user, body.case_id, body.title, body.to_plan())
    return json_response(PreviewAnswer.of(preview), headers=NO_STORE)


@bp.endpoint("job/{job_id}/preview", "POST", security=USER, operation_id="previewJob",
             summary="A job's scripts exactly as its start writes them, and the quotes", tag="studies",
             answers={200: PreviewAnswer}, errors=(404,))
def preview_job(req: func.HttpRequest, user: Principal) -> func.HttpResponse:
    return json_response(PreviewAnswer.of(app().previews.job(user, route(req, "job_id"))), headers=NO_STORE)


@bp.endpoint("compare", "GET", security=USER, operation_id="compareJobs",
             summary="Jobs of one case side by side", tag="studies", query=CompareQuery,
             answers={200: Comparison}, errors=(404, 409, 422),
             description="job=A&job=B... (2 to 50 of the caller's jobs of one case; versions may differ) or "
                         "sweep_id=S (its current members): every field with its values and whether they differ, "
                         "every output with its size and MD5 per job and whether they are identical, and each CSV "
                         "output's numeric columns summarised per job (worked out once, when the job was done). "
                         "One job is a 400, jobs of two cases a 422, another user's job a 404, a sweep whose members "
                         "are still being written a 409.")
def compare_jobs(req: func.HttpRequest, user: Principal) -> func.HttpResponse:
    query = read_query(req, CompareQuery)
    if query.sweep_id and query.job:
        raise BadRequest("compare the jobs given or a sweep's members, not both", errors=[
            {"field": "sweep_id", "message": "give job=... or sweep_id, not both"}])
    if query.sweep_id:
        compared = app().comparisons.sweep(user, query.sweep_id)
    else:
        compared = app().comparisons.jobs(user, query.job)
    return json_response(Comparison.of(compared), headers=NO_STORE)
