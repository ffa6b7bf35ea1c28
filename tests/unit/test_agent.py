"""The agent run directly (no SSH), exactly as the gateway runs it (the bootstrap, with the agent and
its input on stdin): start, run, cancel, status, load, deliver and upload under the direct scheduler,
in real processes, with bundles made by the app's builder. The Slurm side is exercised against the
real cluster in tests/integration; the scheduler commands from strings in test_scheduler_commands."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from devstack.processes import free_port, wait_until
from shared.agent import agent_source
from shared.agent.simgate_agent import AGENT_FILE, BOOTSTRAP, PYTHON_FLAGS, JobDescription, JobResources, Refused
from shared.domain.bundle import JobBundle, Placement, build_bundle
from shared.domain.cases import PublishedCase, parse_definition
from shared.domain.jobs import Job
from tests.factories import case_document
from tests.loopback import JsonHandler, LoopbackServer

WAIT = 30
HOLD = 'i=0; while [ ! -e "$SIMGATE_JOB_DIR/release" ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done\n'
NOW = datetime(2026, 5, 1, tzinfo=timezone.utc)


def bundle(name: str, script: str = "true\n", *, outputs: tuple[str, ...] = (), callback: str | None = None,
           max_parallel_jobs: int = 4) -> JobBundle:
    """What the manager sends to start job ``name`` of a case whose entry script (run.sh) is ``script``,
    on a direct simulator whose python is this one; ``callback`` is simgate's API as agents reach it."""
    definition = parse_definition(case_document(outputs=[{"pattern": p} for p in outputs],
                                                resources={"wall_time_minutes": 5}))
    case = PublishedCase(definition=definition, version=1, published=NOW, published_by="carol",
                         digest=definition.digest())
    job = Job(job_id=name, owner="alice", title=f"Job {name}", case_id=case.id, case_version=case.version,
              fields={}, created=NOW, updated=NOW)
    placement = Placement(simulator="local", scheduler="direct", python=sys.executable,
                          max_parallel_jobs=max_parallel_jobs)
    return build_bundle(case, job, placement, {"run.sh": script}, callback_base_url=callback, token=f"token-{name}",
                        retry_seconds=1)


def with_wall_time(made: JobBundle, minutes: float) -> JobBundle:
    """A wall time below the whole minutes a case may ask for: the agent's limit is under test here."""
    resources = made.job.resources._replace(wall_time_minutes=minutes)
    return dataclasses.replace(made, job=made.job._replace(resources=resources))


def agent(workdir: Path, command: str, *arguments: str, data: bytes = b"") -> tuple[int, dict]:
    """One command as the gateway sends it: python3 -c BOOTSTRAP, the agent's source and ``data`` on stdin."""
    source = agent_source()
    result = subprocess.run([sys.executable, *PYTHON_FLAGS, "-c", BOOTSTRAP, command, *arguments],
                            input=f"{len(source)}\n".encode() + source + data, capture_output=True, timeout=WAIT,
                            cwd=workdir)
    return result.returncode, json.loads(result.stdout)


def send(workdir: Path, made: JobBundle) -> tuple[int, dict]:
    return agent(workdir, "start", str(workdir), made.job.job_id, data=made.to_bytes())


def start(workdir: Path, name: str, script: str = "true\n", **options) -> tuple[int, dict]:
    return send(workdir, bundle(name, script, **options))


def cancel(workdir: Path, name: str) -> tuple[int, dict]:
    return agent(workdir, "cancel", str(workdir), name)


def state(directory: Path) -> dict:
    try:
        return json.loads((directory / "state.json").read_text())
    except FileNotFoundError:
        return {}


def wait_for(directory: Path, *statuses: str) -> dict:
    wait_until(lambda: state(directory).get("status") in statuses, timeout=WAIT,
               what=f"{directory.name} to be {statuses} (now {state(directory)})")
    return state(directory)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()[0] != "Z"


# --- job.json: one shape, built by the app, read by the agent ---


def test_the_agent_reads_back_exactly_the_description_the_app_builds():
    made = bundle("mine", outputs=("results/*.csv",), callback="https://simgate.example.org/api")
    sent = json.loads(made.to_bytes())
    assert JobDescription.from_dict(sent["job"]) == made.job
    assert sent["job"]["status_url"] == "https://simgate.example.org/api/job/mine/status"
    assert sent["job"]["entry_command"] == ["/bin/sh", "run.sh"] and sent["job"]["outputs"] == ["results/*.csv"]
    assert sent["scripts"] == {"run.sh": "true\n"}


def test_every_field_of_a_description_survives_json():
    everything = JobDescription(
        job_id="j", token="t", entry_command=("python3", "main.py"), scheduler="slurm", python="/usr/bin/python3",
        simulator="hpc", title="T", case_id="c", case_version=3, outputs=("*.csv", "logs/*"),
        resources=JobResources(cores=4, memory_mb=2048, wall_time_minutes=90, partition="batch", account="acct"),
        max_parallel_jobs=2, status_url="https://simgate.example.org/api/job/j/status", retry_seconds=30,
        ca_bundle="/etc/ssl/ca.pem", slots_directory="/tmp/slots", live_outputs=("profile.csv",),
        live_url="https://simgate.example.org/api/job/j/live", pull=True)
    least = JobDescription(job_id="j", token="t", entry_command=("x",))
    unset = [name for name in JobDescription._fields
             if name not in ("job_id", "token") and getattr(everything, name) == getattr(least, name)]
    assert unset == []  # every field is away from its default here, so a field from_dict forgets fails below
    assert JobDescription.from_dict(json.loads(json.dumps(everything.to_dict()))) == everything


def test_a_description_takes_null_as_absent_and_ignores_keys_it_does_not_know():
    read = JobDescription.from_dict({"job_id": "j", "token": "t", "entry_command": ["x"], "python": None,
                                     "resources": None, "added_later": 1})
    assert read == JobDescription(job_id="j", token="t", entry_command=("x",))


@pytest.mark.parametrize("changes, complaint", [
    ({"job_id": None}, "has no job_id"),
    ({"job_id": ""}, "job_id is not a non-empty string"),
    ({"token": 7}, "token is not a string"),
    ({"entry_command": "run.sh"}, "entry_command is not a command"),
    ({"entry_command": []}, "entry_command is not a command"),
    ({"outputs": ["*.csv", 3]}, "outputs is not a list of strings"),
    ({"resources": {"cores": "4"}}, "cores is not an integer"),
    ({"resources": {"cores": True}}, "cores is not an integer"),
    ({"resources": [1]}, "resources is not an object"),
    ({"retry_seconds": "soon"}, "retry_seconds is not a number"),
    ({"scheduler": "pbs"}, "unknown scheduler 'pbs'"),
])
def test_a_description_that_is_not_one_is_refused_with_what_is_wrong(changes, complaint):
    with pytest.raises(Refused, match=re.escape(complaint)):
        JobDescription.from_dict({**bundle("j").job.to_dict(), **changes})


# --- start, run and cancel under the direct scheduler ---


def test_start_unpacks_and_runs_the_job_in_the_background_and_a_second_start_resumes(tmp_path):
    job = tmp_path / "one"
    code, first = start(tmp_path, "one", "echo out; echo err >&2; mkdir -p results; echo 1,2 > results/a.csv\n")
    assert code == 0 and first["scheduler"] == "direct" and first["resumed"] is False
    code, second = start(tmp_path, "one", "echo replaced > replaced\n")
    assert code == 0 and second["resumed"] is True and second["scheduler_job_id"] == first["scheduler_job_id"]
    finished = wait_for(job, "finished")
    assert finished["exit_code"] == 0 and finished["started_at"] <= finished["ended_at"]
    assert (job / "stdout.log").read_text() == "out\n" and (job / "stderr.log").read_text() == "err\n"
    assert (job / "run" / "results" / "a.csv").read_text() == "1,2\n"
    assert (job / "run" / "run.sh").read_text().startswith("echo out")  # the running job keeps its bundle
    assert (job / "job.json").stat().st_mode & 0o777 == 0o600
    assert JobDescription.from_dict(json.loads((job / "job.json").read_text())) == bundle("one").job
    assert (job / AGENT_FILE).read_bytes() == agent_source()


def test_the_marker_records_the_hash_of_the_token_the_job_runs_with(tmp_path):
    _, answer = start(tmp_path, "hashed")
    assert answer["token_hash"] == hashlib.sha256(b"token-hashed").hexdigest()


def test_a_start_that_died_after_submitting_is_resumed_not_repeated(tmp_path):
    job = tmp_path / "orphan"
    _, first = start(tmp_path, "orphan", HOLD)
    wait_for(job, "running")
    (job / "submission.json").unlink()  # as if the first start died before writing its marker
    code, answer = start(tmp_path, "orphan", HOLD)
    assert code == 0 and answer["resumed"] is True and answer["scheduler_job_id"] == first["scheduler_job_id"]
    (job / "release").touch()
    wait_for(job, "finished")


def test_a_failing_script_fails_with_its_exit_code(tmp_path):
    start(tmp_path, "fails", "echo broken >&2; exit 3\n")
    failed = wait_for(tmp_path / "fails", "failed")
    assert failed["exit_code"] == 3 and failed["reason"] == "the entry script failed"
    assert (tmp_path / "fails" / "stderr.log").read_text() == "broken\n"


def test_a_cancel_before_the_start_keeps_the_job_from_starting(tmp_path):
    code, answer = cancel(tmp_path, "early")
    assert code == 0 and answer == {"stopped": False, "state": "not delivered"}
    assert start(tmp_path, "early", "touch ran\n") == (0, {"cancelled": True})
    assert not (tmp_path / "early" / "submission.json").exists() and not (tmp_path / "early" / "run").exists()


def test_cancel_stops_a_running_job_and_is_idempotent(tmp_path):
    job = tmp_path / "long"
    _, submitted = start(tmp_path, "long", HOLD)
    wait_for(job, "running")
    code, answer = cancel(tmp_path, "long")
    assert code == 0 and answer["stopped"] is True
    assert wait_for(job, "cancelled")["status"] == "cancelled"
    wait_until(lambda: not alive(int(submitted["scheduler_job_id"])), timeout=WAIT, what="the agent to exit")
    assert cancel(tmp_path, "long") == (0, {"stopped": False, "state": "cancelled"})


def queued_behind_a_holder(tmp_path: Path) -> tuple[Path, Path]:
    """Two jobs sharing one slot: the first holds it (until released), the second waits queued."""
    start(tmp_path, "holder", HOLD, max_parallel_jobs=1)
    wait_for(tmp_path / "holder", "running")
    start(tmp_path, "waiter", "touch ran\n", max_parallel_jobs=1)
    assert wait_for(tmp_path / "waiter", "queued")["status"] == "queued"
    return tmp_path / "holder", tmp_path / "waiter"


def test_direct_jobs_wait_for_a_free_slot_and_count_in_the_load(tmp_path):
    holder, waiter = queued_behind_a_holder(tmp_path)
    assert not (waiter / "run" / "ran").exists()
    code, answer = agent(tmp_path, "survey", "direct")
    assert code == 0 and answer["load"] >= 2  # every agent of this user counts, these two among them
    assert answer["estimated_start"] is None  # a direct site's start is the governor's to tell
    (holder / "release").touch()
    wait_for(waiter, "finished")
    assert (waiter / "run" / "ran").exists()


def test_a_queued_job_can_be_cancelled_before_it_gets_a_slot(tmp_path):
    holder, waiter = queued_behind_a_holder(tmp_path)
    cancel(tmp_path, "waiter")
    assert wait_for(waiter, "cancelled").get("started_at") is None
    (holder / "release").touch()
    wait_for(holder, "finished")
    assert not (waiter / "run" / "ran").exists()


def test_a_direct_job_past_its_wall_time_is_stopped_and_failed(tmp_path):
    send(tmp_path, with_wall_time(bundle("slow", HOLD), 0.005))
    failed = wait_for(tmp_path / "slow", "failed")
    assert "wall time" in failed["reason"]


@pytest.mark.parametrize("argv", [["explode"], ["start", "only-one-argument"], ["survey"], []])
def test_a_bad_command_is_refused(tmp_path, argv):
    code, answer = agent(tmp_path, *argv) if argv else agent(tmp_path, "")
    assert code == 2 and "usage" in answer["error"]


@pytest.mark.parametrize("data", [
    b"not json", b"[]", json.dumps({"job": {}, "scripts": {"run.sh": "true"}}).encode(),
    json.dumps({"job": bundle("bad").job.to_dict(), "scripts": {"../x": "y"}}).encode(),
    bundle("another").to_bytes(),  # a bundle for another job
])
def test_a_bundle_that_is_not_one_is_refused_and_nothing_is_submitted(tmp_path, data):
    code, answer = agent(tmp_path, "start", str(tmp_path), "bad", data=data)
    assert code == 2 and answer["permanent"] is True
    assert not (tmp_path / "bad" / "submission.json").exists() and not (tmp_path / "x").exists()


@pytest.mark.parametrize("job_id", ["../etc", "a/b", ".hidden"])
def test_commands_refuse_what_is_not_a_job_id(tmp_path, job_id):
    for command in (["status", str(tmp_path), job_id], ["start", str(tmp_path), job_id],
                    ["cancel", str(tmp_path), job_id]):
        code, answer = agent(tmp_path, *command)
        assert code == 2 and "not a job id" in answer["error"]


# --- what the reconciler asks: status, many jobs at once ---


def status_of(workdir: Path, *job_ids: str) -> tuple[int, dict]:
    return agent(workdir, "status", str(workdir), *job_ids)


def test_status_reports_every_job_in_one_call(tmp_path):
    start(tmp_path, "working", HOLD)
    start(tmp_path, "done", "exit 0\n")
    start(tmp_path, "failing", "exit 4\n")
    wait_for(tmp_path / "working", "running")
    wait_for(tmp_path / "done", "finished")
    wait_for(tmp_path / "failing", "failed")
    wait_until(lambda: not alive(int(state(tmp_path / "done")["pid"])), timeout=WAIT,
               what="the finished agent to exit")
    code, answer = status_of(tmp_path, "working", "done", "failing", "never-was")
    jobs = answer["jobs"]
    assert code == 0 and set(jobs) == {"working", "done", "failing", "never-was"}
    assert jobs["working"]["alive"] is True and jobs["working"]["state"] == "running"
    assert jobs["working"]["scheduler"] == "direct" and jobs["working"]["submitted"] is True
    assert (jobs["done"]["alive"], jobs["done"]["state"], jobs["done"]["exit_code"]) == (False, "finished", 0)
    assert jobs["done"]["reason"] == "job.json has no status URL: the outputs cannot be delivered"
    assert jobs["done"]["files"] == [{"name": "logs/stdout.log", "size": 0}, {"name": "logs/stderr.log", "size": 0}]
    assert (jobs["failing"]["state"], jobs["failing"]["reason"], jobs["failing"]["exit_code"]) == (
        "failed", "the entry script failed", 4)
    assert jobs["never-was"] == {"exists": False}
    (tmp_path / "working" / "release").touch()


def test_status_sees_an_agent_that_was_killed(tmp_path):
    _, submitted = start(tmp_path, "killed", HOLD)
    wait_for(tmp_path / "killed", "running")
    os.killpg(int(submitted["scheduler_job_id"]), 9)  # no chance to write anything
    wait_until(lambda: not alive(int(submitted["scheduler_job_id"])), timeout=WAIT, what="the agent to die")
    _, answer = status_of(tmp_path, "killed")
    assert (answer["jobs"]["killed"]["alive"], answer["jobs"]["killed"]["state"]) == (False, "running")


# --- reporting: bounded retries; undelivered outputs kept for a new grant ---


class FakeSimgate(LoopbackServer):
    """simgate's webhook and storage as the agent sees them: answers ``failing`` statuses with 503
    (simgate unavailable) and takes uploads."""

    def __init__(self, failing: set[str]) -> None:
        fake = self
        self.reports: list[dict] = []
        self.blobs: dict[str, bytes] = {}
        self.failing = failing

        class Handler(JsonHandler):
            def do_PATCH(self):
                report = self.read_json()
                fake.reports.append(report)
                if report["status"] in fake.failing:
                    return self.answer(503, {"title": "Service temporarily unavailable"})
                grant = {f["name"]: fake.blob_url(f["name"]) for f in report.get("files", [])}
                return self.answer(200, {"status": report["status"], "upload": {"files": grant}})

            def do_PUT(self):
                fake.blobs[self.path.split("?")[0]] = self.rfile.read(int(self.headers["Content-Length"]))
                self.answer(201, {})

        super().__init__(Handler)

    def blob_url(self, name: str) -> str:
        return f"{self.url}/blob/{name}?sig=x"

    @property
    def statuses(self) -> list[str]:
        return [r["status"] for r in self.reports]


def given_up(job: Path, status: str) -> dict:
    """The job's state once the agent has given up on its ``status`` report."""
    wait_until(lambda: state(job).get("last_report", {}).get("status") == status, timeout=WAIT,
               what=f"the agent to give up on its {status} report")
    return state(job)


def test_a_lost_done_leaves_the_uploaded_manifest_for_the_reconciler(tmp_path):
    simgate = FakeSimgate(failing={"done"})
    try:
        start(tmp_path, "lost", "mkdir -p results; echo 1,2 > results/a.csv\n", outputs=("results/*.csv",),
              callback=simgate.url)
        uploaded = given_up(tmp_path / "lost", "done")
    finally:
        simgate.close()
    assert uploaded["status"] == "uploaded" and simgate.blobs["/blob/results/a.csv"] == b"1,2\n"
    assert {"name": "results/a.csv", "size": 4, "md5": hashlib.md5(b"1,2\n").hexdigest()} in uploaded["manifest"]
    assert simgate.statuses[:2] == ["running", "cleanup"] and set(simgate.statuses[2:]) == {"done"}
    assert "503" in uploaded["last_report"]["error"]


def test_outputs_simgate_never_took_stay_undelivered_not_failed(tmp_path):
    start(tmp_path, "alone", "echo 1,2 > out.csv\n", outputs=("*.csv",),
          callback=f"http://127.0.0.1:{free_port()}/api")  # nobody there
    kept = given_up(tmp_path / "alone", "cleanup")
    wait_for(tmp_path / "alone", "undelivered")
    kept = state(tmp_path / "alone")
    assert kept["reason"].startswith("simgate did not take the cleanup report: PATCH failed")
    assert "Connection refused" in kept["last_report"]["error"]
    assert (tmp_path / "alone" / "run" / "out.csv").read_text() == "1,2\n"
    assert {"name": "out.csv", "size": 4} in kept["files"]


def test_a_grant_handed_over_later_brings_undelivered_outputs_home(tmp_path):
    simgate = FakeSimgate(failing={"cleanup"})
    try:
        start(tmp_path, "later", "echo 1,2 > out.csv\n", outputs=("*.csv",), callback=simgate.url)
        wait_for(tmp_path / "later", "undelivered")
        _, seen = status_of(tmp_path, "later")
        names = [f["name"] for f in seen["jobs"]["later"]["files"]]
        grants = {"later": {"files": {name: simgate.blob_url(name) for name in names}}}
        code, answer = agent(tmp_path, "deliver", str(tmp_path), data=json.dumps(grants).encode())
        assert code == 0 and answer == {"started": ["later"], "missing": []}
        done = wait_for(tmp_path / "later", "done")
    finally:
        simgate.close()
    assert simgate.blobs["/blob/out.csv"] == b"1,2\n"
    (final,) = [r for r in simgate.reports if r["status"] == "done"]
    assert {"name": "out.csv", "size": 4, "md5": hashlib.md5(b"1,2\n").hexdigest()} in final["files"]
    assert {"name": "out.csv", "size": 4, "md5": hashlib.md5(b"1,2\n").hexdigest()} in done["manifest"]


def test_outputs_that_are_really_gone_fail_the_job_with_that_reason(tmp_path):
    simgate = FakeSimgate(failing={"cleanup"})
    try:
        start(tmp_path, "gone", "echo 1,2 > out.csv\n", outputs=("*.csv",), callback=simgate.url)
        wait_for(tmp_path / "gone", "undelivered")
        (tmp_path / "gone" / "run" / "out.csv").unlink()
        grants = {"gone": {"files": {"out.csv": simgate.blob_url("out.csv")}}, "never-was": {"files": {}}}
        _, answer = agent(tmp_path, "deliver", str(tmp_path), data=json.dumps(grants).encode())
        assert answer == {"started": ["gone"], "missing": ["never-was"]}
        failed = wait_for(tmp_path / "gone", "failed")
        wait_until(lambda: simgate.statuses[-1] == "failed", timeout=WAIT, what="the failed report")
    finally:
        simgate.close()
    assert failed["reason"] == "the outputs are gone from the simulator: out.csv"
