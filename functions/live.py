"""A running job, live: the agent's channel (progress, log and series bytes, live files) and what
followers read (the log tail, one look at everything for a page)."""

import logging

import azure.functions as func

from shared.api.models import LiveAnswer, LiveView, LogTail
from shared.api.openapi import Security
from shared.api.requests import LiveQuery, LiveReport, LogQuery
from shared.auth import Principal
from shared.domain.jobs import Job
from shared.domain.live import DELTA_BYTES, STREAMS
from shared.http import ApiBlueprint, json_response, read_json, read_query, route
from shared.services.ports import Stored
from shared.wiring import app

bp = ApiBlueprint()
log = logging.getLogger("simgate.live")

# Every stream's bytes at their most, base64-encoded, and room for the rest.
MAX_LIVE_BODY = len(STREAMS) * (DELTA_BYTES * 4 // 3 + 4) + 64 * 1024
NO_STORE = {"Cache-Control": "no-store"}


@bp.endpoint("job/{job_id}/live", "POST", security=Security.AGENT, operation_id="reportLive",
             summary="The job's agent sends what changed while it runs", tag="agent",
             body=LiveReport, answers={200: LiveAnswer}, errors=(404, 413),
             description="At most one a second per job, nothing while nothing changes, a heartbeat once a minute. "
                         "Stream bytes are addressed by offset: bytes storage already has are skipped, so a repeated "
                         "report changes nothing. Refused once the job has finished (the token dies with it).")
def report_live(req: func.HttpRequest, job: Stored[Job]) -> func.HttpResponse:
    report = read_json(req, LiveReport, max_bytes=MAX_LIVE_BODY)
    return json_response(LiveAnswer.of(app().live.record(job, report.to_delta())), headers=NO_STORE)


@bp.endpoint("job/{job_id}/log", "GET", security=Security.USER, operation_id="getLog",
             summary="A piece of a job's log, from an offset", tag="jobs", query=LogQuery,
             answers={200: LogTail}, errors=(404,),
             description="At most 64 KiB an answer, from the live window (the last 8 MiB of each log) while the job "
                         "runs and after; the whole log is an output once the job is done. ?wait=N (at most 25 s) "
                         "answers as soon as bytes exist past offset; complete is true once nothing more will come.")
def get_log(req: func.HttpRequest, user: Principal) -> func.HttpResponse:
    query = read_query(req, LogQuery)
    tail = app().live.tail(user, route(req, "job_id"), query.stream, query.offset, wait=query.wait)
    return json_response(LogTail.of(tail), headers=NO_STORE)


@bp.endpoint("job/{job_id}/live", "GET", security=Security.USER, operation_id="getLive",
             summary="One look at a running job: status, progress, a log piece, the series, live files",
             tag="jobs", query=LiveQuery, answers={200: LiveView, 304: None}, errors=(404,),
             request_headers={"If-None-Match": "the ETag of the answer the caller has: 304 while nothing changed"},
             answer_headers={"ETag": "this answer's version"},
             description="What a page following a job asks every few seconds: one request for everything.")
def get_live(req: func.HttpRequest, user: Principal) -> func.HttpResponse:
    query = read_query(req, LiveQuery)
    look = app().live.look(user, route(req, "job_id"), query.log, query.log_offset, query.series_offset,
                           known=req.headers.get("If-None-Match"))
    if look.unchanged:  # the caller's If-None-Match named this answer
        return func.HttpResponse(status_code=304, headers={"ETag": look.etag, **NO_STORE})
    return json_response(LiveView.of(look), headers={"ETag": look.etag, **NO_STORE})


@bp.function_name("live_puller")
@bp.timer_trigger(arg_name="timer", schedule="%LIVE_PULL_SCHEDULE%", run_on_startup=False)
def live_puller(timer: func.TimerRequest) -> None:
    """Sites whose nodes cannot call out: pull the live channels of the jobs someone follows."""
    outcome = app().live_puller.run()
    if outcome["pulled"]:
        log.info("live pull: %s", outcome)
