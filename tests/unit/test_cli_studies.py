"""The studies' commands against a fake API (httpx.MockTransport): sweeps from --vary lists, ranges and
tables, previews, following a sweep to its end, the sweep's view, and runs compared side by side; what
is sent, what people and scripts read, and how bad input ends (one clear message, its exit code)."""

from __future__ import annotations

import io
import json
import re

import httpx
import pytest
from rich.console import Console

from cli import client, studies
from shared.api.models import Comparison, PreviewAnswer, SweepDetails, SweepSummary
from tests.unit.test_cli import CASE, NOW, FakeApi, answers_in_turn, blocks, simgate

SWEEP = "sw-5f2c9a0e11b7-8230312345678-3fa9c2d1"
JOBS = [f"5f2c9a0e11b7-823031234567{i}-3fa9c2d{i}" for i in range(4)]
FIELDS = [*CASE["fields"], {"name": "duration_s", "label": "Blending time", "type": "number", "unit": "s", "min": 5,
                            "max": 300, "default": 45}]
SMOOTHIE = {**CASE, "fields": FIELDS}
PROBLEM = {"Content-Type": "application/problem+json"}


@pytest.fixture
def fake(monkeypatch):
    api = FakeApi({("GET", "/api/case/smoothie"): SMOOTHIE})
    monkeypatch.setattr(client, "api_transport", lambda settings: httpx.MockTransport(api))
    for name in ("SIMGATE_URL", "SIMGATE_AUTH", "SIMGATE_ROLES", "SIMGATE_CA_BUNDLE", "SIMGATE_CLIENT_ID",
                 "SIMGATE_SCOPE", "COLUMNS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SIMGATE_USER", "alice")
    monkeypatch.setattr(studies, "POLL_SECONDS", 0)
    return api


def created(count: int = 4, complete: bool = True) -> httpx.Response:
    return httpx.Response(201, json={"sweep_id": SWEEP, "job_ids": [f"job-{i}" for i in range(count)],
                                     "complete": complete})


def sent_body(fake: FakeApi, path: str = "/api/sweep") -> dict:
    (request,) = fake.sent("POST", path)
    return json.loads(request.content)


def stats(last: float, mean: float = 0.5) -> dict:
    return {"count": 11, "min": 0.0, "max": last, "mean": mean, "last": last}


def member(index: int, status: str, speed: int, duration: float, progress: float | None = None,
           attempts: int = 1) -> dict:
    outputs = {"results/homogeneity.csv": {"time_s": stats(duration, duration / 2),
                                           "homogeneity": stats(0.9 + index / 100)}} if status == "done" else {}
    return {"index": index, "job_id": JOBS[index], "title": f"Speed · speed_rpm={speed}, duration_s={duration:g}",
            "status": status, "progress": progress, "values": {"speed_rpm": speed, "duration_s": duration},
            "attempts": attempts, "outputs": outputs}


def details(*statuses: str, state: str | None = None, progress: float = 0.0) -> dict:
    """A 2×2 sweep whose members have these statuses."""
    members = [member(i, s, speed, duration, 0.5 if s == "running" else None)
               for i, (s, (speed, duration)) in enumerate(zip(statuses, [(4000, 10), (4000, 20), (8000, 10),
                                                                           (8000, 20)]))]
    counts: dict[str, int] = {}
    for status in statuses:
        counts[status] = counts.get(status, 0) + 1
    finished = all(s in ("done", "failed", "cancelled") for s in statuses)
    return {"sweep_id": SWEEP, "title": "Speed", "case_id": "smoothie", "case_version": 2, "mode": "grid",
            "varied": ["speed_rpm", "duration_s"], "total": 4, "run": True, "created": NOW, "complete": True,
            "state": state or ("finished" if finished else "active"), "base": {"fruit_mix": "kale"},
            "counts": counts, "progress": progress, "members": members}


def cells(line: str) -> list[str]:
    return re.split(r" {2,}", line.strip())


# --- what a sweep varies ---


@pytest.mark.parametrize("text, values", [
    ("10:60:10", ["10", "20", "30", "40", "50", "60"]),
    ("10:55:10", ["10", "20", "30", "40", "50"]),
    ("0.1:0.3:0.1", ["0.1", "0.2", "0.3"]),
    ("60:10:-25", ["60", "35", "10"]),
    ("5:5:1", ["5"]),
    (" 1e3 : 3e3 : 1e3 ", ["1000", "2000", "3000"]),
])
def test_a_range_is_start_stop_step_with_the_stop_included(text, values):
    assert studies.expand_range(text) == values


@pytest.mark.parametrize("text, message", [
    ("10:5:0", "the step cannot be 0"),
    ("10:5:1", "a step of 1 counts up, so it never gets from 10 to 5"),
    ("5:10:-1", "a step of -1 counts down, so it never gets from 5 to 10"),
    ("10:60", "a range is START:STOP:STEP"),
    ("a:b:c", "each a number"),
    ("0:inf:1", "each a finite number"),
    ("1:100000:1", "'1:100000:1' makes 100000 values: more than a sweep may have (10000 at most)"),
])
def test_a_range_that_is_no_range_says_why(text, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        studies.expand_range(text)


def test_sweep_sends_each_value_typed_by_its_field_and_prints_the_id(fake):
    fake.answers[("POST", "/api/sweep")] = created(8)
    made = simgate("sweep", "smoothie", "--vary", "speed_rpm=4000, 8000", "--vary", "duration_s=5,10:30:10",
                   "--set", "fruit_mix=kale", "--set", "ice=yes", "--title", "Speed")
    assert made.exit_code == 0, made.output
    assert made.stdout == f"{SWEEP}\n"
    assert made.stderr == f"created sweep {SWEEP}: 8 members, drafts\n"
    assert sent_body(fake) == {"case_id": "smoothie", "title": "Speed", "mode": "grid", "run": False,
                               "fields": {"fruit_mix": "kale", "ice": True},
                               "vary": {"speed_rpm": [4000, 8000], "duration_s": [5, 10, 20, 30]}}
    (request,) = fake.sent("POST", "/api/sweep")
    assert request.headers["Idempotency-Key"]


def test_sweep_zips_runs_on_a_simulator_and_is_titled_by_its_case_by_default(fake):
    fake.answers[("POST", "/api/sweep")] = created(2)
    made = simgate("sweep", "smoothie", "--vary", "speed_rpm=4000,8000", "--vary", "fruit_mix=mango,kale", "--zip",
                   "--run", "--simulator", "hpc")
    assert made.exit_code == 0, made.output
    body = sent_body(fake)
    assert (body["title"], body["mode"], body["run"], body["simulator"]) == ("Smoothie blender", "zip", True, "hpc")
    assert body["vary"] == {"speed_rpm": [4000, 8000], "fruit_mix": ["mango", "kale"]}
    assert made.stderr.splitlines() == [f"created sweep {SWEEP}: 2 members, asked to run",
                                        f"follow it with: simgate sweep-status {SWEEP} --wait"]


def test_a_colon_is_a_range_only_on_a_number_field_and_unknown_fields_are_left_to_the_api(fake):
    fake.answers[("POST", "/api/sweep")] = created(2)
    assert simgate("sweep", "smoothie", "--vary", "fruit_mix=a:b:c,kale", "--vary", "colour=1:3:1").exit_code == 0
    assert sent_body(fake)["vary"] == {"fruit_mix": ["a:b:c", "kale"], "colour": ["1:3:1"]}


def test_sweep_sends_a_tables_text_as_it_is(fake, tmp_path):
    fake.answers[("POST", "/api/sweep")] = created(2)
    runs = tmp_path / "runs.csv"
    runs.write_text("speed_rpm,duration_s\n4000,10\n8000,\n", encoding="utf-8")
    made = simgate("sweep", "smoothie", "--table", str(runs), "--set", "speed_rpm=6000", "-t", "From a table")
    assert made.exit_code == 0, made.output
    body = sent_body(fake)
    assert body["table"] == "speed_rpm,duration_s\n4000,10\n8000,"  # (the API strips the text's edges)
    assert (body["fields"], body.get("vary")) == ({"speed_rpm": 6000}, {})


@pytest.mark.parametrize("args, lines", [
    (["--vary", "speed_rpm"], ["simgate: --vary takes NAME=VALUES",
                               "  'speed_rpm': expected NAME=VALUES, like speed_rpm=4000,8000,12000 or "
                               "duration_s=10:60:10"]),
    (["--vary", "speed_rpm=1", "--vary", "speed_rpm=2"], [
        "simgate: --vary takes NAME=VALUES", "  speed_rpm: is varied twice: give all its values in one --vary"]),
    (["--vary", "speed_rpm= "], ["simgate: --vary takes NAME=VALUES",
                                 "  speed_rpm: give at least one value (VALUE,VALUE,... or START:STOP:STEP)"]),
    (["--vary", "duration_s=10:5:0"], ["simgate: --vary takes NAME=VALUES",
                                       "  duration_s: '10:5:0': the step cannot be 0"]),
    (["--set", "speed_rpm"], ["simgate: --set takes NAME=VALUE",
                              "  'speed_rpm': expected NAME=VALUE, like speed_rpm=6000"]),
    ([], ["simgate: say what varies: --vary NAME=VALUES (one per field), or --table FILE.csv"]),
    (["--vary", "speed_rpm=1", "--table", "runs.csv"], [
        "simgate: give --vary or --table, not both: a table lists every run's values itself"]),
    (["--table", "runs.csv", "--zip"], [
        "simgate: --zip combines --vary lists element by element; a table lists its runs itself"]),
    (["--table", "no-such-file.csv"], ["simgate: --table: cannot read no-such-file.csv: No such file or directory"]),
    (["--vary", "speed_rpm=1,2", "--set", "speed_rpm=3"], [
        "simgate: a field is either --set (one value for every run) or --vary, not both", "  speed_rpm: is in both"]),
    (["--vary", "speed_rpm=1", "--simulator", "hpc"], [
        "simgate: --simulator chooses where the members run: add --run (or --wait)"]),
    (["--vary", "speed_rpm=1", "--preview", "--run"], [
        "simgate: --preview creates nothing: leave out --run, --wait and --simulator"]),
])
def test_bad_input_is_a_usage_error_before_anything_is_sent(fake, args, lines):
    refused = simgate("sweep", "smoothie", *args)
    assert (refused.exit_code, refused.stdout) == (2, "")
    assert refused.stderr.splitlines() == lines
    assert fake.sent("POST", "/api/sweep") == [] and fake.sent("POST", "/api/preview") == []


def test_an_empty_table_file_is_a_usage_error(fake, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("\n")
    refused = simgate("sweep", "smoothie", "--table", str(empty))
    assert refused.exit_code == 2 and refused.stderr.startswith(f"simgate: --table: {empty} is empty")


def test_every_problem_the_api_names_is_a_line_and_exit_1(fake):
    fake.answers[("POST", "/api/sweep")] = httpx.Response(422, headers=PROBLEM, json={
        "type": "urn:simgate:problem:validation-failed", "title": "Validation failed", "status": 422,
        "detail": "the sweep is not valid; nothing was created", "errors": [
            {"field": "vary.speed_rpm[2]", "message": "must be at most 20000 rpm, not 30000", "rule": "max"},
            {"field": "vary.colour", "message": "the case has no field of this name", "rule": "unknown"}]})
    refused = simgate("sweep", "smoothie", "--vary", "speed_rpm=10000:30000:10000", "--vary", "colour=red")
    assert (refused.exit_code, refused.stdout) == (1, "")
    assert refused.stderr.splitlines() == ["simgate: validation failed: the sweep is not valid; nothing was created",
                                           "  vary.speed_rpm[2]: must be at most 20000 rpm, not 30000",
                                           "  vary.colour: the case has no field of this name"]


def test_an_unknown_case_is_the_apis_not_found(fake):
    refused = simgate("sweep", "nope", "--vary", "speed_rpm=1")
    assert refused.exit_code == 1 and refused.stderr == "simgate: not found: no /api/case/nope\n"


# --- previews ---


def quote(simulator: str, **changes) -> dict:
    return {"simulator": simulator, "scheduler": "direct", "available": True, "reason": None, "running": 1,
            "waiting": 0, "limits": {"max_parallel_jobs": 4, "licences": {}, "max_jobs_per_user": None},
            "licences_in_use": {}, "estimated_start": None, "start_basis": "room now", "estimated_duration_s": None,
            "basis": "no history", "runs": 4, "estimated_finish": None,
            "finish_basis": "no estimate: no history", **changes}


def preview_answer(valid: bool = True, job_id: str | None = None) -> dict:
    problems = [] if valid else [{"field": "vary.speed_rpm[1]", "message": "must be at most 20000 rpm, not 30000",
                                  "rule": "max"}]
    return {"case_id": "smoothie", "case_version": 2, "runs": 1 if job_id else 4, "valid": valid,
            "problems": problems, "members": [],
            "rendered": [{"index": 0, "job_id": job_id, "title": "Speed · speed_rpm=4000",
                          "values": {"speed_rpm": 4000}, "scripts": {"run.sh": "#!/bin/sh\nblend --speed 4000\n"}}] if valid else [],
            "placement": "test: the soonest of 2 available offers",
            "quotes": [quote("test", estimated_finish="2099-01-01T00:00:00Z",
                             finish_basis="4 runs, at most 4 at once, each as long as the median of 3 runs"),
                       quote("away", available=False, reason="cannot reach the simulator")]}


def test_preview_shows_the_runs_the_scripts_and_a_quote_per_site_and_creates_nothing(fake):
    fake.answers[("POST", "/api/preview")] = preview_answer()
    shown = simgate("sweep", "smoothie", "--vary", "speed_rpm=4000,8000", "--vary", "duration_s=10,20", "--preview")
    assert shown.exit_code == 0, shown.output
    assert fake.sent("POST", "/api/sweep") == []
    assert sent_body(fake, "/api/preview") == {"case_id": "smoothie", "title": "Smoothie blender", "mode": "grid",
                                               "fields": {}, "vary": {"speed_rpm": [4000, 8000],
                                                                      "duration_s": [10, 20]}}
    head, scripts, quotes, notes = blocks(shown.stdout)
    assert head.splitlines() == ["4 runs of smoothie v2  valid",
                                 "placement  test: the soonest of 2 available offers"]
    assert scripts.splitlines()[0] == "scripts of run 1 of 4: Speed · speed_rpm=4000"
    assert scripts.splitlines()[2:] == ["── run.sh " + "─" * 34, "#!/bin/sh", "blend --speed 4000"]
    header, test, away = (cells(line) for line in quotes.splitlines())
    assert header == ["SIMULATOR", "SCHEDULER", "SLOTS", "WAITING", "RUNS", "START", "FINISH"]
    assert test[:6] == ["test", "direct", "1/4", "0", "4", "unknown"] and test[6].startswith("in ")
    assert away == ["away", "direct", "1/4", "0", "4", "unavailable"]
    assert [cells(line) for line in notes.splitlines()] == [
        ["test", "start: room now"], ["finish: 4 runs, at most 4 at once, each as long as the median of 3 runs"],
        ["away", "unavailable: cannot reach the simulator"]]

    scripted = simgate("sweep", "smoothie", "--vary", "speed_rpm=4000", "--preview", "--json")
    assert PreviewAnswer.model_validate_json(scripted.stdout) == PreviewAnswer.model_validate(preview_answer())


def test_a_preview_with_problems_lists_each_and_exits_1(fake):
    fake.answers[("POST", "/api/preview")] = preview_answer(valid=False)
    shown = simgate("sweep", "smoothie", "--vary", "speed_rpm=4000,30000", "--preview")
    assert shown.exit_code == 1
    head, problems, *_ = blocks(shown.stdout)
    assert head.splitlines()[0] == "4 runs of smoothie v2  not valid: 1 problem"
    assert problems == "vary.speed_rpm[1]: must be at most 20000 rpm, not 30000"
    assert shown.stderr == "simgate: the sweep is not valid: 1 problem (listed above)\n"


def test_preview_of_a_job_shows_its_own_scripts(fake):
    job_id = JOBS[0]
    fake.answers[("POST", f"/api/job/{job_id}/preview")] = preview_answer(job_id=job_id)
    shown = simgate("preview", job_id)
    assert shown.exit_code == 0, shown.output
    head, scripts, *_ = blocks(shown.stdout)
    assert head.splitlines()[0] == f"job {job_id} (case smoothie v2)  valid"
    assert scripts.splitlines()[:2] == ["scripts: Speed · speed_rpm=4000", "── run.sh " + "─" * 34]
    assert "<job id>" not in shown.stdout
    assert PreviewAnswer.model_validate_json(simgate("preview", job_id, "--json").stdout).rendered[0].job_id == job_id


# --- following a sweep ---


def test_wait_runs_the_sweep_and_follows_it_to_the_end(fake):
    fake.answers[("POST", "/api/sweep")] = created()
    fake.answers[("GET", f"/api/sweep/{SWEEP}")] = answers_in_turn(*(httpx.Response(200, json=d) for d in [
        details("queued", "queued", "submitted", "submitted"),
        details("running", "queued", "submitted", "submitted", progress=0.125),
        details("running", "queued", "submitted", "submitted", progress=0.125),  # nothing new: no line
        details("done", "done", "running", "queued", progress=0.625),
        details("done", "done", "done", "done", progress=1.0)]))
    ran = simgate("sweep", "smoothie", "--vary", "speed_rpm=4000,8000", "--vary", "duration_s=10,20", "--wait")
    assert ran.exit_code == 0, ran.output
    assert sent_body(fake)["run"] is True
    assert ran.stdout == f"{SWEEP}\n"
    assert ran.stderr.splitlines() == [
        f"created sweep {SWEEP}: 4 members, asked to run",
        f"{SWEEP}  active 0%  2 submitted, 2 queued",
        f"{SWEEP}  active 12%  2 submitted, 1 queued, 1 running",
        f"{SWEEP}  active 62%  1 queued, 1 running, 2 done",
        f"{SWEEP}  finished 100%  4 done",
        f"sweep {SWEEP} finished: 4 done",
        f"side by side: simgate compare --sweep {SWEEP}"]


@pytest.mark.parametrize("statuses, code", [(("done", "failed", "done", "cancelled"), 4),
                                            (("done", "done", "cancelled", "done"), 5)])
def test_waiting_for_a_sweep_whose_members_did_not_all_finish_done(fake, statuses, code):
    fake.answers[("GET", f"/api/sweep/{SWEEP}")] = details(*statuses, progress=1.0)
    ended = simgate("sweep-status", SWEEP, "--wait")
    assert ended.exit_code == code
    assert "#  JOB" in ended.stdout  # the sweep's view, then the verdict
    lines = ended.stderr.splitlines()
    summary = {4: "2 done, 1 failed, 1 cancelled", 5: "3 done, 1 cancelled"}[code]
    assert lines[1] == f"simgate: sweep {SWEEP} finished: {summary}"
    if code == 4:
        assert lines[2:] == [f"  #2 {JOBS[1]} failed  speed_rpm=4000, duration_s=20",
                             f"  #4 {JOBS[3]} cancelled  speed_rpm=8000, duration_s=20",
                             f"  run the failed ones again with: simgate sweep-retry {SWEEP} --wait"]


def test_waiting_for_a_sweep_of_drafts_says_there_is_nothing_to_wait_for(fake):
    fake.answers[("GET", f"/api/sweep/{SWEEP}")] = details("draft", "draft", "draft", "draft", state="draft")
    ended = simgate("sweep-status", SWEEP, "--wait", "--json")
    assert ended.exit_code == 1
    assert SweepDetails.model_validate_json(ended.stdout).state == "draft"
    assert "4 of its members are drafts, never asked to run: nothing to wait for" in ended.stderr


def test_ctrl_c_stops_following_the_sweep_not_the_sweep(fake):
    def interrupted(request):
        raise KeyboardInterrupt

    fake.answers[("GET", f"/api/sweep/{SWEEP}")] = interrupted
    stopped = simgate("sweep-status", SWEEP, "--wait")
    assert stopped.exit_code == 130
    assert stopped.stderr.splitlines() == [f"simgate: stopped waiting; sweep {SWEEP} goes on",
                                           f"  follow it again with: simgate sweep-status {SWEEP} --wait"]


class Answers:
    def __init__(self, *answers: dict) -> None:
        self.answers = [SweepDetails.model_validate(a) for a in answers]

    def sweep(self, sweep_id: str) -> SweepDetails:
        return self.answers.pop(0)


def test_following_on_a_terminal_is_one_line_with_a_progress_bar():
    screen = io.StringIO()
    final = studies.follow_sweep(Answers(details("running", "queued", "submitted", "submitted", progress=0.125),
                                         details("done", "done", "done", "done", progress=1.0)),
                                 SWEEP, Console(file=screen, width=140, force_terminal=True, color_system=None), poll=0)
    assert final.state == "finished"
    frames = screen.getvalue().split("\r\x1b[2K")
    assert any(f"{SWEEP} active  2 submitted, 1 queued, 1 running" in frame and "12%" in frame for frame in frames)
    assert f"✔ {SWEEP} finished  4 done" in frames[-1] and "100%" in frames[-1]


# --- a sweep's view, the list, cancel and retry ---


def test_sweep_status_shows_the_members_and_the_last_values_of_their_csv_columns(fake):
    fake.answers[("GET", f"/api/sweep/{SWEEP}")] = details("done", "failed", "running", "done", progress=0.875)
    shown = simgate("sweep-status", SWEEP)
    assert shown.exit_code == 0, shown.output
    head, members, results = blocks(shown.stdout)
    assert [cells(line) for line in head.splitlines()[1:5]] == [
        ["case", "smoothie v2"], ["plan", "grid over speed_rpm, duration_s: 4 members"], ["base", "fruit_mix=kale"],
        ["state", "active 88%"]]
    assert cells(head.splitlines()[5]) == ["members", "1 running, 2 done, 1 failed"]
    assert [cells(line) for line in members.splitlines()] == [
        ["#", "JOB", "STATUS", "speed_rpm", "duration_s"],
        ["1", JOBS[0], "done", "4000", "10"], ["2", JOBS[1], "failed", "4000", "20"],
        ["3", JOBS[2], "running 50%", "8000", "10"], ["4", JOBS[3], "done", "8000", "20"]]
    assert [cells(line) for line in results.splitlines()] == [
        ["results/homogeneity.csv: last values"],
        ["#", "speed_rpm", "duration_s", "time_s", "homogeneity"],
        ["1", "4000", "10", "10", "0.9"], ["4", "8000", "20", "20", "0.93"]]
    assert SweepDetails.model_validate_json(simgate("sweep-status", SWEEP, "--json").stdout).counts == {
        "done": 2, "failed": 1, "running": 1}


def test_sweeps_are_listed_as_a_table_and_as_json(fake):
    summary = {key: value for key, value in details("done").items() if key in SweepSummary.model_fields}
    fake.answers[("GET", "/api/sweep")] = [summary]
    listed = simgate("sweeps", "--case", "smoothie")
    assert listed.exit_code == 0, listed.output
    header, row = (cells(line) for line in listed.stdout.splitlines())
    assert header == ["SWEEP", "TITLE", "CASE", "MODE", "VARIED", "MEMBERS", "CREATED"]
    assert row[:6] == [SWEEP, "Speed", "smoothie v2", "grid", "speed_rpm, duration_s", "4"]
    assert dict(fake.requests[-1].url.params) == {"case_id": "smoothie"}
    assert [SweepSummary.model_validate(s) for s in json.loads(simgate("sweeps", "--json").stdout)] == [
        SweepSummary.model_validate(summary)]
    fake.answers[("GET", "/api/sweep")] = []
    assert simgate("sweeps").stderr == "no sweeps\n"


def test_cancel_and_retry_a_sweep(fake):
    fake.answers[("POST", f"/api/sweep/{SWEEP}/cancel")] = httpx.Response(202, json={"cancelled": 3, "finished": 1})
    cancelled = simgate("sweep-cancel", SWEEP)
    assert cancelled.exit_code == 0
    assert cancelled.stderr == f"sweep {SWEEP}: cancel requested for 3 members (1 had already finished)\n"
    assert json.loads(simgate("sweep-cancel", SWEEP, "--json").stdout) == {"cancelled": 3, "finished": 1}

    fake.answers[("POST", f"/api/sweep/{SWEEP}/retry")] = httpx.Response(202, json={"job_ids": ["new-1", "new-2"]})
    retried = simgate("sweep-retry", SWEEP)
    assert (retried.exit_code, retried.stdout) == (0, "new-1\nnew-2\n")
    assert retried.stderr == f"sweep {SWEEP}: 2 failed members asked to run again\n"
    fake.answers[("POST", f"/api/sweep/{SWEEP}/retry")] = httpx.Response(202, json={"job_ids": []})
    assert simgate("sweep-retry", SWEEP).stderr == f"sweep {SWEEP} has no failed members: nothing to run again\n"


def test_retry_wait_follows_the_new_attempts(fake):
    fake.answers[("POST", f"/api/sweep/{SWEEP}/retry")] = httpx.Response(202, json={"job_ids": ["new-1"]})
    fake.answers[("GET", f"/api/sweep/{SWEEP}")] = answers_in_turn(
        httpx.Response(200, json=details("done", "submitted", "done", "done", progress=0.75)),
        httpx.Response(200, json=details("done", "done", "done", "done", progress=1.0)))
    retried = simgate("sweep-retry", SWEEP, "--wait")
    assert retried.exit_code == 0, retried.output
    assert f"sweep {SWEEP} finished: 4 done" in retried.stderr


# --- comparisons ---


def comparison() -> dict:
    jobs = [{"job_id": JOBS[i], "title": f"Speed #{i + 1}", "case_version": 2, "status": "done", "sweep_id": SWEEP}
            for i in range(3)]
    file = {"size": 2048, "md5": "0123456789abcdef0123456789abcdef"}
    return {"case_id": "smoothie", "jobs": jobs,
            "fields": [{"name": "speed_rpm", "label": "Blade speed", "values": [4000, 8000, 4000], "differs": True},
                       {"name": "fruit_mix", "label": "Fruit mix", "values": ["kale"] * 3, "differs": False},
                       {"name": "duration_s", "label": "Blending time", "values": [10, 10.0, 20.5], "differs": True}],
            "outputs": [{"name": "results/homogeneity.csv", "identical": False,
                         "files": [file, {**file, "md5": "fedcba9876543210fedcba9876543210"}, None]},
                        {"name": "results/summary.json", "identical": True, "files": [file] * 3}],
            "columns": [{"output": "results/homogeneity.csv", "column": "homogeneity", "differs": True,
                         "stats": [stats(0.95, 0.61), stats(0.99, 0.72), None]}]}


def test_compare_shows_what_differs_between_the_jobs(fake):
    fake.answers[("GET", "/api/compare")] = comparison()
    shown = simgate("compare", *JOBS[:3])
    assert shown.exit_code == 0, shown.output
    assert fake.requests[-1].url.params.get_list("job") == JOBS[:3]
    legend, fields, outputs, columns = blocks(shown.stdout)
    assert [cells(line) for line in legend.splitlines()] == [
        ["3 jobs of smoothie", "(* differs)"],
        ["1", JOBS[0], "done", "Speed #1"], ["2", JOBS[1], "done", "Speed #2"], ["3", JOBS[2], "done", "Speed #3"]]
    assert [cells(line) for line in fields.splitlines()] == [
        ["FIELD", "1", "2", "3"], ["*", "speed_rpm", "4000", "8000", "4000"], ["*", "duration_s", "10", "10", "20.5"],
        ["1 field with the same value in every job: --all shows them"]]
    assert [cells(line) for line in outputs.splitlines()] == [  # each size above the start of its MD5
        ["OUTPUT", "1", "2", "3"],
        ["*", "results/homogeneity.csv", "2.0 kB", "2.0 kB", "—"], ["012345", "fedcba"],
        ["results/summary.json", "2.0 kB", "2.0 kB", "2.0 kB"], ["012345", "012345", "012345"]]
    assert [cells(line) for line in columns.splitlines()] == [
        ["results/homogeneity.csv: mean and last value of each numeric column"],
        ["COLUMN", "1", "2", "3"], ["*", "homogeneity", "mean", "0.61", "0.72", "—"], ["last", "0.95", "0.99", "—"]]

    every = blocks(simgate("compare", *JOBS[:3], "--all").stdout)[1]
    assert cells(every.splitlines()[2]) == ["fruit_mix", "kale", "kale", "kale"]
    assert Comparison.model_validate_json(simgate("compare", *JOBS[:2], "--json").stdout) == Comparison.model_validate(
        comparison())


def test_a_narrow_terminal_folds_long_headers_never_a_value(fake, monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    answer = details("done", "done", "done", "done", progress=1.0)
    for entry in answer["members"]:
        entry["outputs"]["results/homogeneity.csv"] = {
            name: stats(1234.5678) for name in ("median_piece_mm", "temperature_c", "blade_speed_rpm")}
    fake.answers[("GET", f"/api/sweep/{SWEEP}")] = answer
    results = blocks(simgate("sweep-status", SWEEP).stdout)[2].splitlines()
    assert max(len(line) for line in results) <= 60
    assert [cells(line) for line in results[-4:]] == [
        [str(i + 1), speed, duration, "1234.57", "1234.57", "1234.57"]
        for i, (speed, duration) in enumerate([("4000", "10"), ("4000", "20"), ("8000", "10"), ("8000", "20")])]


def test_compare_a_sweeps_members(fake):
    fake.answers[("GET", "/api/compare")] = comparison()
    assert simgate("compare", "--sweep", SWEEP).exit_code == 0
    assert dict(fake.requests[-1].url.params) == {"sweep_id": SWEEP}


@pytest.mark.parametrize("args, message", [
    ([JOBS[0]], "simgate: compare takes 2 to 50 jobs (or --sweep SWEEP); you gave 1\n"),
    ([], "simgate: compare takes 2 to 50 jobs (or --sweep SWEEP); you gave 0\n"),
    ([JOBS[0], JOBS[1], "--sweep", SWEEP], "simgate: compare takes jobs or --sweep SWEEP, not both\n"),
])
def test_compare_takes_two_jobs_or_more_or_a_sweep(fake, args, message):
    refused = simgate("compare", *args)
    assert (refused.exit_code, refused.stderr) == (2, message)
    assert fake.sent("GET", "/api/compare") == []


def test_compare_of_jobs_of_two_cases_is_the_apis_refusal(fake):
    fake.answers[("GET", "/api/compare")] = httpx.Response(422, headers=PROBLEM, json={
        "type": "urn:simgate:problem:validation-failed", "title": "Validation failed", "status": 422,
        "detail": "jobs of different cases cannot be compared",
        "errors": [{"field": "job", "message": "the jobs belong to the cases heat-rod, smoothie: compare jobs of one"}]})
    refused = simgate("compare", *JOBS[:2])
    assert refused.exit_code == 1
    assert refused.stderr.splitlines() == [
        "simgate: validation failed: jobs of different cases cannot be compared",
        "  job: the jobs belong to the cases heat-rod, smoothie: compare jobs of one"]


def test_the_studies_load_no_azure_and_none_of_the_apps_insides():
    import subprocess
    import sys
    from pathlib import Path

    program = ("import sys\nimport cli.app, cli.studies\n"
               "print(sorted({m for m in sys.modules if m.split('.')[0] in ('azure', 'functions', 'function_app')\n"
               "              or m.startswith(('shared.adapters', 'shared.wiring'))}))")
    root = Path(__file__).resolve().parents[2]
    loaded = subprocess.run([sys.executable, "-c", program], cwd=root, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"
