"""The commands against a fake API (httpx.MockTransport): what people and scripts read, what is sent,
and how every kind of failure ends (one line on stderr, its exit code)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from typer.testing import CliRunner

from cli import client
from cli.app import app
from cli.render import ago
from shared.api.models import JobOffers, JobStatusInfo, SiteInfo
from shared.domain.jobs import JobSummary

JOB = "5f2c9a0e11b7-8230312345678-3fa9c2d1"
NOW = "2026-11-23T12:00:00Z"
CASE = {
    "id": "smoothie", "title": "Smoothie blender", "summary": "Blends", "tags": ["demo"], "version": 2,
    "updated": NOW, "latest_version": 2, "description": "A jug.", "entry_point": "run.sh",
    "scripts": [{"name": "run.sh", "entry_point": True}], "outputs": [{"pattern": "results/*.csv", "description": ""}],
    "resources": {"cores": 1, "memory_mb": 256, "wall_time_minutes": 5, "partition": None, "account": None},
    "simulators": [],
    "fields": [
        {"name": "speed_rpm", "label": "Blade speed", "type": "integer", "unit": "rpm", "min": 1000, "max": 20000,
         "default": 10000},
        {"name": "fruit_mix", "label": "Fruit mix", "type": "choice", "choices": ["mango", "kale"], "default": "mango"},
        {"name": "ice", "label": "Ice", "type": "boolean", "default": False},
    ],
}
SUMMARY = {"job_id": JOB, "title": "Test 1", "case_id": "smoothie", "case_version": 2, "status": "running",
           "created": NOW, "updated": NOW, "owner": "alice", "progress": 0.5}
NOT_FOUND = {"type": "urn:simgate:problem:not-found", "title": "Not found", "status": 404,
             "detail": "there is no job 'abc'", "instance": "/api/job/abc"}


class FakeApi:
    """Answers by (method, path); records every request."""

    def __init__(self, answers: dict[tuple[str, str], object]) -> None:
        self.answers = answers
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.get((request.method, request.url.path))
        if answer is None:
            return httpx.Response(404, json={**NOT_FOUND, "detail": f"no {request.url.path}"},
                                  headers={"Content-Type": "application/problem+json"})
        if isinstance(answer, httpx.Response):
            return answer
        if callable(answer):
            return answer(request)
        return httpx.Response(200, json=answer)

    def sent(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if (r.method, r.url.path) == (method, path)]


@pytest.fixture
def fake(monkeypatch):
    api = FakeApi({})
    monkeypatch.setattr(client, "api_transport", lambda settings: httpx.MockTransport(api))
    for name in ("SIMGATE_URL", "SIMGATE_AUTH", "SIMGATE_ROLES", "SIMGATE_CA_BUNDLE", "SIMGATE_CLIENT_ID",
                 "SIMGATE_SCOPE", "COLUMNS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SIMGATE_USER", "alice")
    return api


def simgate(*args: str):
    return CliRunner().invoke(app, list(args), prog_name="simgate")


def test_jobs_as_a_table_with_full_ids_and_as_json_for_scripts(fake):
    fake.answers[("GET", "/api/job")] = [SUMMARY]
    table = simgate("jobs", "--status", "Running", "--case", "smoothie")
    assert table.exit_code == 0, table.output
    assert JOB in table.stdout and "Test 1" in table.stdout and "50%" in table.stdout
    assert dict(fake.requests[-1].url.params) == {"status": "running", "case_id": "smoothie"}
    assert fake.requests[-1].headers["X-Simgate-User"] == "alice"

    scripted = simgate("jobs", "--json")
    assert [JobSummary.model_validate(j) for j in json.loads(scripted.stdout)] == [JobSummary.model_validate(SUMMARY)]
    assert scripted.stderr == ""


def test_lists_follow_the_next_link_up_to_the_limit(fake):
    second = {**SUMMARY, "job_id": "second"}

    def jobs(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("page") == "2":
            return httpx.Response(200, json=[second, {**second, "job_id": "third"}])
        return httpx.Response(200, json=[SUMMARY], headers={"Link": '</api/job?page=2&per_page=2>; rel="next"'})

    fake.answers[("GET", "/api/job")] = jobs
    listed = simgate("jobs", "--limit", "2", "--json")
    assert [j["job_id"] for j in json.loads(listed.stdout)] == [JOB, "second"]
    assert fake.requests[0].url.params["per_page"] == "2"
    assert "more beyond --limit 2" in simgate("jobs", "--limit", "2").stderr
    assert "more on --page 2" in simgate("jobs").stderr


def test_admins_list_everyones_jobs_with_their_roles(fake):
    fake.answers[("GET", "/api/job")] = [SUMMARY]
    listed = simgate("--roles", "simgate.admin", "jobs", "--all")
    assert listed.exit_code == 0 and "alice" in listed.stdout
    assert fake.requests[-1].headers["X-Simgate-Roles"] == "simgate.admin"
    assert fake.requests[-1].url.params["all"] == "true"


def test_new_sends_typed_values_and_prints_the_id(fake):
    fake.answers[("GET", "/api/case/smoothie")] = CASE
    fake.answers[("POST", "/api/job")] = httpx.Response(201, json={"job_id": JOB})
    made = simgate("new", "smoothie", "--title", "Test 1", "--set", "speed_rpm=6000", "-s", "ice=yes",
                   "-s", "fruit_mix=kale")
    assert made.exit_code == 0, made.output
    assert made.stdout == f"{JOB}\n"
    (sent,) = fake.sent("POST", "/api/job")
    assert json.loads(sent.content) == {"case_id": "smoothie", "job_title": "Test 1",
                                        "fields": {"speed_rpm": 6000, "ice": True, "fruit_mix": "kale"}}
    assert sent.headers["Idempotency-Key"]


def test_a_bad_value_names_its_field_and_creates_no_job(fake):
    fake.answers[("GET", "/api/case/smoothie")] = CASE
    refused = simgate("new", "smoothie", "-t", "x", "--set", "speed_rpm=fast", "--set", "colour=red",
                      "--set", "speed_rpm=1")
    assert refused.exit_code == 2
    assert refused.stderr.splitlines() == ["simgate: --set takes NAME=VALUE", "  speed_rpm: is set twice"]
    refused = simgate("new", "smoothie", "-t", "x", "--set", "speed_rpm=40000", "--set", "colour=red")
    assert refused.exit_code == 2 and refused.stdout == ""
    assert refused.stderr.splitlines()[:3] == [
        "simgate: some field values are not valid", "  speed_rpm: must be at most 20000 rpm, not 40000",
        "  colour: the case has no field of this name (its fields: speed_rpm, fruit_mix, ice)"]
    assert fake.sent("POST", "/api/job") == []


def test_a_problem_is_one_line_with_its_field_errors_and_exit_1(fake):
    fake.answers[("PATCH", f"/api/job/{JOB}")] = httpx.Response(422, headers={
        "Content-Type": "application/problem+json"}, json={
        "type": "urn:simgate:problem:validation-failed", "title": "Validation failed", "status": 422,
        "detail": "some field values are not valid",
        "errors": [{"field": "speed_rpm", "rule": "max", "message": "must be at most 20000 rpm, not 30000"}]})
    fake.answers[("GET", f"/api/job/{JOB}")] = {**SUMMARY, "status": "draft", "uws_status": "PENDING",
                                               "fields": {}, "history": [], "detail": "", "cancel_requested": None,
                                               "simulator": None, "scheduler_job_id": None, "error": None,
                                               "outputs": {"count": 0, "bytes": 0}}
    fake.answers[("GET", "/api/case/smoothie")] = CASE
    refused = simgate("set", JOB, "speed_rpm=3000")
    assert refused.exit_code == 1
    assert refused.stderr.splitlines() == ["simgate: validation failed: some field values are not valid",
                                           "  speed_rpm: must be at most 20000 rpm, not 30000"]
    assert fake.sent("GET", "/api/case/smoothie")[0].url.params["version"] == "2"

    missing = simgate("status", "abc")
    assert (missing.exit_code, missing.stderr) == (1, "simgate: not found: no /api/job/abc/status\n")


def test_an_answer_that_is_no_problem_document_is_described(fake):
    fake.answers[("GET", "/api/case")] = httpx.Response(502, text="<html>Bad gateway</html>")
    failed = simgate("cases")
    assert failed.exit_code == 1
    assert failed.stderr == "simgate: bad gateway: GET /api/case answered 502 Bad Gateway\n"


def test_unauthorized_says_how_to_sign_in(fake):
    fake.answers[("GET", "/api/case")] = httpx.Response(401, headers={"Content-Type": "application/problem+json"},
                                                        json={"type": "urn:simgate:problem:unauthorized",
                                                              "title": "Authentication required", "status": 401,
                                                              "detail": "sign in first"})
    failed = simgate("cases")
    assert failed.exit_code == 1 and "SIMGATE_AUTH=azure" in failed.stderr


def status_answer(status: str, progress: float | None = None, detail: str = "", etag: str | None = None,
                  code: int = 200) -> httpx.Response:
    body = {"job_id": JOB, "status": status, "uws_status": "X", "detail": detail, "updated_at": NOW,
            "progress": progress, "cancel_requested": False}
    return httpx.Response(code, json=body if code == 200 else None, headers={"ETag": etag} if etag else {})


def answers_in_turn(*answers: httpx.Response):
    queue = list(answers)
    return lambda request: queue.pop(0)


def test_run_wait_follows_to_done_and_exits_by_the_outcome(fake, monkeypatch):
    fake.answers[("POST", f"/api/job/{JOB}")] = httpx.Response(202, json={"success": True, "status": "submitted"})
    fake.answers[("GET", f"/api/job/{JOB}/status")] = answers_in_turn(
        status_answer("queued", etag='"1"'), status_answer("running", etag='"2"'), status_answer("done", etag='"3"'))
    ran = simgate("run", JOB, "--wait", "--json")
    assert ran.exit_code == 0, ran.output
    assert JobStatusInfo.model_validate_json(ran.stdout).status == "done"
    asked = [(r.url.params.get("wait"), r.headers.get("If-None-Match")) for r in fake.sent("GET", f"/api/job/{JOB}/status")]
    assert asked == [(None, None), ("25", '"1"'), ("25", '"2"')]


def test_following_wakes_on_progress_and_shows_a_line_per_change_off_a_terminal(fake):
    """The long poll names the answer it has; a 304 (nothing changed in 25 s) keeps the status it had."""
    fake.answers[("GET", f"/api/job/{JOB}/status")] = answers_in_turn(
        status_answer("running", 0.1, "step 1 of 10", etag='"a"'),
        status_answer("running", code=304, etag='"a"'),
        status_answer("running", 0.6, "step 6 of 10", etag='"b"'),
        status_answer("running", 0.6, "step 6 of 10", etag='"c"'),  # something not shown changed
        status_answer("done", 1.0, "finished", etag='"d"'))
    followed = simgate("status", JOB, "--wait")
    assert followed.exit_code == 0, followed.output
    assert followed.stderr.splitlines() == [f"{JOB}  running 10%  step 1 of 10", f"{JOB}  running 60%  step 6 of 10",
                                            f"{JOB}  done 100%  finished"]
    sent = fake.sent("GET", f"/api/job/{JOB}/status")
    assert [r.headers.get("If-None-Match") for r in sent] == [None, '"a"', '"a"', '"b"', '"c"']
    assert all("since" not in r.url.params for r in sent)


# --- logs ---


def log_answer(offset: int, text: str, complete: bool = False, truncated_before: int = 0,
               stream: str = "stdout") -> httpx.Response:
    return httpx.Response(200, json={"stream": stream, "offset": offset, "next_offset": offset + len(text.encode()),
                                     "text": text, "complete": complete, "truncated_before": truncated_before})


def log_of(content: str, piece: int, complete: bool = False):
    """A stored log, served ``piece`` bytes at a time from the offset asked."""
    data = content.encode()

    def answer(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        return log_answer(offset, data[offset:offset + piece].decode(), complete and offset + piece >= len(data))

    return answer


def test_logs_prints_the_log_as_stored_now_page_by_page(fake):
    content = "".join(f"step {i} ünïcode\n" for i in range(1, 40))
    fake.answers[("GET", f"/api/job/{JOB}/log")] = log_of(content, piece=100)
    printed = simgate("logs", JOB)
    assert printed.exit_code == 0, printed.output
    assert (printed.stdout, printed.stderr) == (content, "")
    sent = fake.sent("GET", f"/api/job/{JOB}/log")
    size = len(content.encode())
    assert [int(r.url.params["offset"]) for r in sent] == [*range(0, size, 100), size]  # the last: nothing more
    assert {(r.url.params["stream"], r.url.params.get("wait")) for r in sent} == {("stdout", None)}

    assert simgate("logs", JOB, "--stream", "stderr").exit_code == 0
    assert fake.sent("GET", f"/api/job/{JOB}/log")[-1].url.params["stream"] == "stderr"
    assert simgate("logs", JOB, "--stream", "both").exit_code == 2


def test_logs_of_a_finished_job_stop_at_its_end(fake):
    fake.answers[("GET", f"/api/job/{JOB}/log")] = log_of("one\ntwo\n", piece=4, complete=True)
    printed = simgate("logs", JOB)
    assert (printed.exit_code, printed.stdout) == (0, "one\ntwo\n")
    assert len(fake.sent("GET", f"/api/job/{JOB}/log")) == 2


def test_logs_say_when_the_start_is_no_longer_kept(fake):
    fake.answers[("GET", f"/api/job/{JOB}/log")] = answers_in_turn(
        log_answer(9_000_000, "the last lines\n", truncated_before=9_000_000),
        log_answer(9_000_015, "", truncated_before=9_000_000))
    printed = simgate("logs", JOB)
    assert (printed.exit_code, printed.stdout) == (0, "the last lines\n")
    assert printed.stderr.replace("\n", " ").strip() == (
        "(the first 9.0 MB of the stdout log are no longer kept live; once the job is done, the whole log is its "
        f"output logs/stdout.log: simgate download {JOB} logs/stdout.log -o -)")


@pytest.mark.parametrize("final, code, last", [
    ("done", 0, f"job {JOB} is done"),
    ("failed", 4, f"simgate: job {JOB} failed: the node crashed"),
    ("cancelled", 5, f"simgate: job {JOB} was cancelled: cancelled by bob"),
])
def test_logs_follow_until_the_log_is_complete_and_exit_by_the_outcome(fake, final, code, last):
    fake.answers[("GET", f"/api/job/{JOB}/log")] = answers_in_turn(
        log_answer(0, "step 1\n"), log_answer(7, "step 2\nst"), log_answer(16, ""), log_answer(16, "ep 3"),
        log_answer(20, "", complete=True))
    fake.answers[("GET", f"/api/job/{JOB}/status")] = status_answer(
        final, detail="cancelled by bob" if final == "cancelled" else "")
    fake.answers[("GET", f"/api/job/{JOB}")] = {
        **SUMMARY, "status": final, "uws_status": "X", "fields": {}, "history": [], "detail": "",
        "cancel_requested": None, "simulator": None, "scheduler_job_id": None, "error": "the node crashed",
        "outputs": {"count": 0, "bytes": 0}}
    followed = simgate("logs", JOB, "-f")
    assert followed.exit_code == code, followed.output
    assert followed.stdout == "step 1\nstep 2\nstep 3"  # as written, nothing added
    assert followed.stderr.splitlines()[-1] == last
    sent = fake.sent("GET", f"/api/job/{JOB}/log")
    assert [(int(r.url.params["offset"]), r.url.params["wait"]) for r in sent] == [
        (0, "25"), (7, "25"), (16, "25"), (16, "25"), (20, "25")]


def test_logs_follow_notes_a_stretch_it_fell_behind_on(fake):
    fake.answers[("GET", f"/api/job/{JOB}/log")] = answers_in_turn(
        log_answer(0, "early\n"), log_answer(2_000_000, "late\n", complete=True, truncated_before=2_000_000))
    fake.answers[("GET", f"/api/job/{JOB}/status")] = status_answer("done")
    followed = simgate("logs", JOB, "--follow")
    assert (followed.exit_code, followed.stdout) == (0, "early\nlate\n")
    assert followed.stderr.startswith("(2.0 MB of the stdout log skipped: no longer kept live;")


def test_ctrl_c_or_a_lost_connection_stops_following_a_log_not_the_job(fake):
    def interrupted(request: httpx.Request) -> httpx.Response:
        if request.url.params["offset"] == "0":
            return log_answer(0, "step 1\n")
        raise KeyboardInterrupt

    fake.answers[("GET", f"/api/job/{JOB}/log")] = interrupted
    stopped = simgate("logs", JOB, "-f", "--stream", "stderr")
    assert (stopped.exit_code, stopped.stdout) == (130, "step 1\n")
    assert stopped.stderr.splitlines() == [f"simgate: stopped following the log; job {JOB} goes on",
                                           f"  follow it again with: simgate logs {JOB} --stream stderr -f"]

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    fake.answers[("GET", f"/api/job/{JOB}/log")] = refused
    lost = simgate("logs", JOB, "-f")
    assert lost.exit_code == 3
    assert lost.stderr.splitlines()[-1] == f"  follow it again with: simgate logs {JOB} -f"


def test_logs_of_someone_elses_job_are_not_found(fake):
    missing = simgate("logs", "abc", "-f")
    assert (missing.exit_code, missing.stdout) == (1, "")
    assert missing.stderr == "simgate: not found: no /api/job/abc/log\n"


@pytest.mark.parametrize("final, code, message", [
    ("failed", 4, f"simgate: job {JOB} failed: the node crashed"),
    ("cancelled", 5, f"simgate: job {JOB} was cancelled: cancelled by bob"),
])
def test_waiting_for_a_job_that_ends_badly(fake, final, code, message):
    fake.answers[("GET", f"/api/job/{JOB}/status")] = {
        "job_id": JOB, "status": final, "uws_status": "X", "updated_at": NOW, "progress": None,
        "detail": "cancelled by bob" if final == "cancelled" else "", "cancel_requested": False}
    fake.answers[("GET", f"/api/job/{JOB}")] = {
        **SUMMARY, "status": final, "uws_status": "ERROR", "fields": {}, "history": [], "detail": "",
        "cancel_requested": None, "simulator": None, "scheduler_job_id": None, "error": "the node crashed",
        "outputs": {"count": 0, "bytes": 0}}
    ended = simgate("status", JOB, "--wait")
    assert ended.exit_code == code
    assert ended.stderr.splitlines()[-1] == message


def test_cannot_connect_names_the_url_and_exits_3(monkeypatch):
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    monkeypatch.setattr(client, "api_transport", lambda settings: httpx.MockTransport(refuse))
    failed = simgate("--url", "localhost:9", "cases")
    assert failed.exit_code == 3
    assert failed.stderr.splitlines() == ["simgate: cannot reach http://localhost:9/api: [Errno 111] Connection refused",
                                          "  is `make up` running?"]


def test_usage_errors_exit_2(fake):
    assert simgate("jobs", "--status", "sleeping").exit_code == 2
    assert simgate("jobs", "--per-page", "0").exit_code == 2
    assert simgate("--auth", "kerberos", "cases").exit_code == 2
    assert simgate("frobnicate").exit_code == 2


def test_version_and_help():
    assert simgate("--version").stdout.startswith("simgate ")
    helped = simgate("--help")
    assert helped.exit_code == 0 and "download" in helped.stdout and "docs/cli.md" in helped.stdout


def test_the_cli_loads_neither_azure_nor_the_apps_insides_until_it_signs_in_to_azure():
    import subprocess
    import sys
    from pathlib import Path

    program = ("import sys\nimport cli.app, cli.client, cli.workflows, cli.follow, cli.logs, cli.download, cli.render\n"
               "print(sorted({m for m in sys.modules if m.split('.')[0] in ('azure', 'functions', 'function_app')\n"
               "              or m.startswith(('shared.adapters', 'shared.wiring'))}))")
    root = Path(__file__).resolve().parents[2]
    loaded = subprocess.run([sys.executable, "-c", program], cwd=root, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"


def test_relaunch_checks_changed_values_before_it_makes_the_new_job(fake):
    fake.answers[("GET", f"/api/job/{JOB}")] = {**SUMMARY, "status": "done", "uws_status": "COMPLETED",
                                               "fields": {}, "history": [], "detail": "", "cancel_requested": None,
                                               "simulator": None, "scheduler_job_id": None, "error": None,
                                               "outputs": {"count": 0, "bytes": 0}}
    fake.answers[("GET", "/api/case/smoothie")] = CASE
    fake.answers[("POST", f"/api/job/{JOB}/relaunch")] = httpx.Response(201, json={"job_id": "new-job"})
    fake.answers[("PATCH", "/api/job/new-job")] = {"success": True, "fields": {"speed_rpm": 8000}}
    assert simgate("relaunch", JOB, "--set", "speed_rpm=99999").exit_code == 2
    assert fake.sent("POST", f"/api/job/{JOB}/relaunch") == []

    relaunched = simgate("relaunch", JOB, "--set", "speed_rpm=8000")
    assert relaunched.exit_code == 0 and relaunched.stdout == "new-job\n"
    assert json.loads(fake.sent("PATCH", "/api/job/new-job")[0].content) == {"fields": {"speed_rpm": 8000}}


# --- where jobs run ---


def soon(**delta: float) -> str:
    return (datetime.now(timezone.utc) + timedelta(**delta)).isoformat()


def offer(simulator: str, **changes) -> dict:
    return {"simulator": simulator, "scheduler": "direct", "available": True, "reason": None, "running": 1,
            "waiting": 0, "limits": {"max_parallel_jobs": 4, "licences": {}, "max_jobs_per_user": None},
            "licences_in_use": {}, "estimated_start": None, "start_basis": "no estimate",
            "estimated_duration_s": None, "basis": "no history", **changes}


def offers(**changes) -> dict:
    """A job's offers: one starting now, one in 12 minutes, one at a time unknown, one unavailable."""
    return {"job_id": JOB, "simulator": None, "placement": "", **changes, "offers": [
        offer("local", limits={"max_parallel_jobs": 4, "licences": {"solver": 2}}, licences_in_use={"solver": 1},
              estimated_start=soon(seconds=-2), start_basis="room now", estimated_duration_s=130,
              basis="median of 3 finished runs of version 2 on local"),
        offer("hpc", scheduler="slurm", running=8, waiting=3, limits={"max_parallel_jobs": 8},
              estimated_start=soon(minutes=12, seconds=30), start_basis="simgate's line (3 waiting)"),
        offer("cluster", scheduler="slurm", start_basis="no history to estimate from"),
        offer("away", scheduler="slurm", available=False, reason="cannot reach the simulator"),
    ]}
UNKNOWN_SIMULATOR = httpx.Response(422, headers={"Content-Type": "application/problem+json"}, json={
    "type": "urn:simgate:problem:validation-failed", "title": "Validation failed", "status": 422,
    "detail": "there is no simulator 'nope' (configured: local, hpc)",
    "errors": [{"field": "simulator", "message": "there is no simulator 'nope' (configured: local, hpc)"}]})


SITES = [
    {"name": "local", "scheduler": "direct", "nodes_call_out": True, "reachable": True, "reason": None,
     "limits": {"max_parallel_jobs": 2, "licences": {"solver": 2}, "max_jobs_per_user": 1}, "running": 2,
     "licences_in_use": {"solver": 2}, "per_user": {"alice": 1, "bob": 1}, "waiting": [
         {"job_id": JOB, "owner": "carol", "since": NOW, "place": 1,
          "reason": "waiting for a slot on local (2/2 in use, 1st in line)"},
         {"job_id": "second", "owner": "alice", "since": NOW, "place": 2,
          "reason": "waiting for its owner's share of local (1/1 of their jobs in use, 2nd in line)"}]},
    {"name": "hpc", "scheduler": "slurm", "nodes_call_out": False, "reachable": False,
     "reason": "cannot reach the simulator", "limits": {"max_parallel_jobs": 8}, "running": 0,
     "licences_in_use": {}, "per_user": {}, "waiting": []},
]


def rows(table: str) -> dict[str, list[str]]:
    """A table's rows by their first cell, split at runs of two spaces or more."""
    return {cells[0]: cells[1:] for cells in (re.split(r" {2,}", line.strip()) for line in table.splitlines())}


def blocks(text: str) -> list[str]:
    """What a command printed, in the parts blank lines separate."""
    return "\n".join(line.rstrip() for line in text.splitlines()).split("\n\n")


def test_offers_as_a_table_with_starts_for_people_and_as_json(fake):
    answer = offers()
    fake.answers[("GET", f"/api/job/{JOB}/offers")] = answer
    shown = simgate("offers", JOB)
    assert shown.exit_code == 0, shown.output
    table, notes = blocks(shown.stdout)
    assert rows(table) == {
        "SIMULATOR": ["SCHEDULER", "SLOTS", "WAITING", "LICENCES", "START", "DURATION"],
        "local": ["direct", "1/4", "0", "solver 1/2", "now", "2 min"],
        "hpc": ["slurm", "8/8", "3", "in 12 min", "unknown"],
        "cluster": ["slurm", "1/4", "0", "unknown", "unknown"],
        "away": ["slurm", "1/4", "0", "unavailable", "unknown"]}
    assert [re.split(r" {2,}", line.strip()) for line in notes.splitlines()] == [
        ["local", "start: room now"], ["duration: median of 3 finished runs of version 2 on local"],
        ["hpc", "start: simgate's line (3 waiting)"], ["duration: no history"],
        ["cluster", "start: no history to estimate from"], ["duration: no history"],
        ["away", "unavailable: cannot reach the simulator"], ["duration: no history"]]

    scripted = simgate("offers", JOB, "--json")
    assert JobOffers.model_validate_json(scripted.stdout) == JobOffers.model_validate(answer)


def test_offers_of_a_placed_job_say_where_it_went(fake):
    fake.answers[("GET", f"/api/job/{JOB}/offers")] = offers(simulator="local", placement="local: chosen by alice")
    assert blocks(simgate("offers", JOB).stdout)[0] == "placement  local: chosen by alice"


def test_offers_and_simulators_fit_80_columns(fake, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    fake.answers[("GET", f"/api/job/{JOB}/offers")] = offers()
    fake.answers[("GET", "/api/simulators")] = SITES
    for shown in (simgate("offers", JOB).stdout, simgate("simulators").stdout):
        assert max(len(line.rstrip()) for line in shown.splitlines()) <= 80, shown
    assert rows(blocks(simgate("offers", JOB).stdout)[0])["hpc"] == ["slurm", "8/8", "3", "in 12 min", "unknown"]


def test_run_sends_the_chosen_simulator_and_no_body_without_one(fake):
    fake.answers[("POST", f"/api/job/{JOB}")] = httpx.Response(202, json={"success": True, "status": "submitted"})
    assert simgate("run", JOB, "--simulator", "local").exit_code == 0
    assert simgate("run", JOB).exit_code == 0
    chosen, soonest = fake.sent("POST", f"/api/job/{JOB}")
    assert json.loads(chosen.content) == {"simulator": "local"}
    assert soonest.content == b""


def test_new_and_relaunch_run_on_the_chosen_simulator(fake):
    fake.answers[("POST", "/api/job")] = httpx.Response(201, json={"job_id": "new-job"})
    fake.answers[("POST", f"/api/job/{JOB}/relaunch")] = httpx.Response(201, json={"job_id": "new-job"})
    fake.answers[("POST", "/api/job/new-job")] = httpx.Response(202, json={"success": True, "status": "submitted"})
    made = simgate("new", "smoothie", "-t", "x", "--run", "--simulator", "hpc")
    assert (made.exit_code, made.stdout) == (0, "new-job\n")
    assert simgate("relaunch", JOB, "--run", "--simulator", "local").exit_code == 0
    assert [json.loads(r.content) for r in fake.sent("POST", "/api/job/new-job")] == [
        {"simulator": "hpc"}, {"simulator": "local"}]


def test_a_simulator_without_run_is_a_usage_error_that_creates_nothing(fake):
    refused = simgate("new", "smoothie", "-t", "x", "--simulator", "hpc")
    assert refused.exit_code == 2
    assert refused.stderr == "simgate: --simulator chooses where the job runs: add --run (or --wait)\n"
    assert simgate("relaunch", JOB, "--simulator", "hpc").exit_code == 2
    assert simgate("run", JOB, "--simulator", "").exit_code == 2
    assert fake.requests == []


def test_an_unknown_simulator_is_the_apis_message_said_once(fake):
    fake.answers[("POST", f"/api/job/{JOB}")] = UNKNOWN_SIMULATOR
    refused = simgate("run", JOB, "--simulator", "nope")
    assert (refused.exit_code, refused.stdout) == (1, "")
    assert refused.stderr == "simgate: validation failed: there is no simulator 'nope' (configured: local, hpc)\n"


def test_simulators_for_admins_with_their_lines_and_as_json(fake):
    fake.answers[("GET", "/api/simulators")] = SITES
    shown = simgate("--roles", "simgate.admin", "simulators")
    assert shown.exit_code == 0, shown.output
    table, unreachable, line = blocks(shown.stdout)
    assert rows(table) == {
        "SIMULATOR": ["SCHEDULER", "REACHABLE", "SLOTS", "PER USER", "LICENCES", "WAITING"],
        "local": ["direct", "yes", "2/2", "alice 1/1, bob 1/1", "solver 2/2", "2"],
        "hpc": ["slurm", "no", "0/8", "0"]}
    assert unreachable == "hpc  unreachable: cannot reach the simulator"
    since = f"since {ago(datetime.fromisoformat(NOW))}"
    assert [re.split(r" {2,}", text.strip()) for text in line.splitlines()] == [
        ["local: 2 waiting"],
        ["1.", JOB, "carol", since], ["waiting for a slot on local (2/2 in use, 1st in line)"],
        ["2.", "second", "alice", since],
        ["waiting for its owner's share of local (1/1 of their jobs in use, 2nd in line)"]]
    assert fake.requests[-1].headers["X-Simgate-Roles"] == "simgate.admin"

    scripted = simgate("--roles", "simgate.admin", "simulators", "--json")
    assert [SiteInfo.model_validate(s) for s in json.loads(scripted.stdout)] == [
        SiteInfo.model_validate(s) for s in SITES]


def test_simulators_for_someone_not_an_admin_is_the_apis_refusal(fake):
    fake.answers[("GET", "/api/simulators")] = httpx.Response(403, headers={
        "Content-Type": "application/problem+json"}, json={
        "type": "urn:simgate:problem:forbidden", "title": "Forbidden", "status": 403,
        "detail": "the sites' view needs the admin role"})
    refused = simgate("simulators")
    assert (refused.exit_code, refused.stdout) == (1, "")
    assert refused.stderr == "simgate: forbidden: the sites' view needs the admin role\n"


def test_a_job_shows_where_it_was_placed_and_why(fake):
    fake.answers[("GET", f"/api/job/{JOB}")] = {
        **SUMMARY, "uws_status": "EXECUTING", "fields": {}, "history": [], "detail": "step 5",
        "cancel_requested": None, "simulator": "local", "scheduler_job_id": "4242", "error": None,
        "outputs": {"count": 0, "bytes": 0}, "placement": "local: the soonest of 2 available offers"}
    shown = simgate("job", JOB)
    assert shown.exit_code == 0, shown.output
    lines = blocks(shown.stdout)[0].splitlines()
    assert lines[lines.index("simulator  local (scheduler job 4242)") + 1] == (
        "placement  local: the soonest of 2 available offers")


def test_following_a_waiting_job_shows_each_change_of_its_place_in_line(fake):
    fake.answers[("GET", f"/api/job/{JOB}/status")] = answers_in_turn(
        status_answer("submitted", detail="waiting for a slot on local (4/4 in use, 3rd in line)", etag='"1"'),
        status_answer("submitted", detail="waiting for a slot on local (4/4 in use, 2nd in line)", etag='"2"'),
        status_answer("submitted", detail="waiting for licence solver (2/2 in use, 1st in line)", etag='"3"'),
        status_answer("done", 1.0, etag='"4"'))
    followed = simgate("status", JOB, "--wait")
    assert followed.exit_code == 0, followed.output
    assert followed.stderr.splitlines() == [
        f"{JOB}  submitted  waiting for a slot on local (4/4 in use, 3rd in line)",
        f"{JOB}  submitted  waiting for a slot on local (4/4 in use, 2nd in line)",
        f"{JOB}  submitted  waiting for licence solver (2/2 in use, 1st in line)",
        f"{JOB}  done 100%"]
