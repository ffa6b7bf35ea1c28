"""The agent run directly (no SSH): submit, run and cancel under the direct scheduler, in real processes.
The Slurm side is exercised against the real cluster in tests/integration/test_manager.py."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from devstack.processes import free_port, wait_until
from shared.agent import AGENT_FILE, agent_source
from tests.loopback import JsonHandler, LoopbackServer

WAIT = 30
HOLD = 'i=0; while [ ! -e "$SIMGATE_JOB_DIR/release" ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done\n'


def make_job(root: Path, name: str, script: str, **description) -> Path:
    directory = root / name
    (directory / "staged" / "run").mkdir(parents=True)
    (directory / AGENT_FILE).write_bytes(agent_source())
    job = {"job_id": name, "scheduler": "direct", "python": sys.executable, "entry_command": ["/bin/sh", "run.sh"],
           "resources": {"wall_time_minutes": 5}, "max_parallel_jobs": 4, "token": f"token-{name}", **description}
    (directory / "staged" / "job.json").write_text(json.dumps(job))
    (directory / "staged" / "run" / "run.sh").write_text(script)
    return directory


def agent(command: str, directory: Path) -> tuple[int, dict]:
    result = subprocess.run([sys.executable, str(directory / AGENT_FILE), command, str(directory)],
                            capture_output=True, text=True, timeout=WAIT)
    return result.returncode, json.loads(result.stdout)


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


def test_submit_runs_the_entry_script_in_the_background_and_a_second_submit_resumes(tmp_path):
    job = make_job(tmp_path, "one", "echo out; echo err >&2; mkdir -p results; echo 1,2 > results/a.csv\n")
    code, first = agent("submit", job)
    assert code == 0 and first["scheduler"] == "direct" and first["resumed"] is False
    code, second = agent("submit", job)
    assert code == 0 and second["resumed"] is True and second["scheduler_job_id"] == first["scheduler_job_id"]
    finished = wait_for(job, "finished")
    assert finished["exit_code"] == 0 and finished["started_at"] <= finished["ended_at"]
    assert (job / "stdout.log").read_text() == "out\n" and (job / "stderr.log").read_text() == "err\n"
    assert (job / "run" / "results" / "a.csv").read_text() == "1,2\n"
    assert not (job / "staged").exists() and (job / "job.json").stat().st_mode & 0o777 == 0o600


def test_the_marker_records_the_hash_of_the_token_the_job_runs_with(tmp_path):
    job = make_job(tmp_path, "hashed", "true\n")
    _, answer = agent("submit", job)
    assert answer["token_hash"] == hashlib.sha256(b"token-hashed").hexdigest()


def test_a_submit_that_died_after_starting_the_job_is_resumed_not_repeated(tmp_path):
    job = make_job(tmp_path, "orphan", HOLD)
    os.replace(job / "staged" / "job.json", job / "job.json")
    os.replace(job / "staged" / "run", job / "run")
    started = subprocess.Popen([sys.executable, str(job / AGENT_FILE), "run", str(job)], start_new_session=True,
                               stdout=subprocess.DEVNULL)  # what the dead submit had already started
    wait_for(job, "running")
    code, answer = agent("submit", job)
    assert code == 0 and answer["resumed"] is True and answer["scheduler_job_id"] == str(started.pid)
    (job / "release").touch()
    assert started.wait(WAIT) == 0


def test_a_failing_script_fails_with_its_exit_code(tmp_path):
    job = make_job(tmp_path, "fails", "echo broken >&2; exit 3\n")
    agent("submit", job)
    failed = wait_for(job, "failed")
    assert failed["exit_code"] == 3 and failed["reason"] == "the entry script failed"
    assert (job / "stderr.log").read_text() == "broken\n"


def test_a_cancel_before_the_submit_keeps_the_job_from_starting(tmp_path):
    job = make_job(tmp_path, "early", "touch ran\n")
    code, answer = agent("cancel", job)
    assert code == 0 and answer["stopped"] is False
    assert agent("submit", job) == (0, {"cancelled": True})
    assert not (job / "submission.json").exists() and not (job / "run" / "ran").exists()


def test_cancel_stops_a_running_job_and_is_idempotent(tmp_path):
    job = make_job(tmp_path, "long", HOLD)
    _, submitted = agent("submit", job)
    wait_for(job, "running")
    code, answer = agent("cancel", job)
    assert code == 0 and answer["stopped"] is True
    assert wait_for(job, "cancelled")["status"] == "cancelled"
    wait_until(lambda: not alive(int(submitted["scheduler_job_id"])), timeout=WAIT, what="the agent to exit")
    assert agent("cancel", job) == (0, {"stopped": False, "state": "cancelled"})


def queued_behind_a_holder(tmp_path: Path) -> tuple[Path, Path]:
    """Two jobs sharing one slot: the first holds it (until released), the second waits queued."""
    holder = make_job(tmp_path, "holder", HOLD, max_parallel_jobs=1)
    waiter = make_job(tmp_path, "waiter", "touch ran\n", max_parallel_jobs=1)
    agent("submit", holder)
    wait_for(holder, "running")
    agent("submit", waiter)
    assert wait_for(waiter, "queued")["status"] == "queued"
    return holder, waiter


def test_direct_jobs_wait_for_a_free_slot(tmp_path):
    holder, waiter = queued_behind_a_holder(tmp_path)
    assert not (waiter / "run" / "ran").exists()
    (holder / "release").touch()
    wait_for(waiter, "finished")
    assert (waiter / "run" / "ran").exists()


def test_a_queued_job_can_be_cancelled_before_it_gets_a_slot(tmp_path):
    holder, waiter = queued_behind_a_holder(tmp_path)
    agent("cancel", waiter)
    assert wait_for(waiter, "cancelled").get("started_at") is None
    (holder / "release").touch()
    wait_for(holder, "finished")
    assert not (waiter / "run" / "ran").exists()


def test_a_direct_job_past_its_wall_time_is_stopped_and_failed(tmp_path):
    job = make_job(tmp_path, "slow", HOLD, resources={"wall_time_minutes": 0.005})
    agent("submit", job)
    failed = wait_for(job, "failed")
    assert "wall time" in failed["reason"]


@pytest.mark.parametrize("argv, code", [(["explode"], 2), (["submit"], 2)])
def test_a_bad_command_is_refused(tmp_path, argv, code):
    (tmp_path / AGENT_FILE).write_bytes(agent_source())
    result = subprocess.run([sys.executable, str(tmp_path / AGENT_FILE), *argv], capture_output=True, text=True)
    assert result.returncode == code and "usage" in json.loads(result.stdout)["error"]


def test_a_submit_without_a_delivered_job_is_temporary(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / AGENT_FILE).write_bytes(agent_source())
    code, answer = agent("submit", tmp_path / "empty")
    assert code == 75 and "not delivered" in answer["error"] and answer["permanent"] is False


# --- what the reconciler asks: status, many jobs at once ---


def status_of(workdir: Path, *job_ids: str) -> tuple[int, dict]:
    """As the gateway asks: the agent fed on stdin ("python3 -"), so no copy of it is needed there."""
    result = subprocess.run([sys.executable, "-", "status", str(workdir), *job_ids], input=agent_source(),
                            capture_output=True, timeout=WAIT)
    return result.returncode, json.loads(result.stdout)


def test_status_reports_every_job_in_one_call(tmp_path):
    working = make_job(tmp_path, "working", HOLD)
    done = make_job(tmp_path, "done", "exit 0\n")
    failing = make_job(tmp_path, "failing", "exit 4\n")
    for job in (working, done, failing):
        agent("submit", job)
    wait_for(working, "running")
    wait_for(done, "finished")
    wait_for(failing, "failed")
    wait_until(lambda: not alive(int(state(done)["pid"])), timeout=WAIT, what="the finished agent to exit")
    code, answer = status_of(tmp_path, "working", "done", "failing", "never-was")
    jobs = answer["jobs"]
    assert code == 0 and set(jobs) == {"working", "done", "failing", "never-was"}
    assert jobs["working"]["alive"] is True and jobs["working"]["state"] == "running"
    assert jobs["working"]["scheduler"] == "direct" and jobs["working"]["submitted"] is True
    assert (jobs["done"]["alive"], jobs["done"]["state"], jobs["done"]["exit_code"]) == (False, "finished", 0)
    assert jobs["done"]["reason"] == "job.json has no status URL: the outputs cannot be delivered"
    assert (jobs["failing"]["state"], jobs["failing"]["reason"], jobs["failing"]["exit_code"]) == (
        "failed", "the entry script failed", 4)
    assert jobs["never-was"] == {"exists": False}
    (working / "release").touch()


def test_status_sees_an_agent_that_was_killed(tmp_path):
    job = make_job(tmp_path, "killed", HOLD)
    _, submitted = agent("submit", job)
    wait_for(job, "running")
    os.killpg(int(submitted["scheduler_job_id"]), 9)  # no chance to write anything
    wait_until(lambda: not alive(int(submitted["scheduler_job_id"])), timeout=WAIT, what="the agent to die")
    _, answer = status_of(tmp_path, "killed")
    assert (answer["jobs"]["killed"]["alive"], answer["jobs"]["killed"]["state"]) == (False, "running")


@pytest.mark.parametrize("job_id", ["../etc", "a/b", ".hidden"])
def test_status_refuses_what_is_not_a_job_id(tmp_path, job_id):
    code, answer = status_of(tmp_path, job_id)
    assert code == 2 and "not a job id" in answer["error"]


# --- reporting: bounded retries, and a lost done left for the reconciler ---


class FakeSimgate(LoopbackServer):
    """simgate's webhook and storage as the agent sees them: answers ``failing`` statuses with 503
    (simgate unavailable) and takes uploads."""

    def __init__(self, failing: set[str]) -> None:
        fake = self
        self.reports: list[str] = []
        self.blobs: dict[str, bytes] = {}

        class Handler(JsonHandler):
            def do_PATCH(self):
                report = self.read_json()
                fake.reports.append(report["status"])
                if report["status"] in failing:
                    return self.answer(503, {"title": "Service temporarily unavailable"})
                grant = {f["name"]: f"{fake.url}/blob/{f['name']}?sig=x" for f in report.get("files", [])}
                return self.answer(200, {"status": report["status"], "upload": {"files": grant}})

            def do_PUT(self):
                fake.blobs[self.path.split("?")[0]] = self.rfile.read(int(self.headers["Content-Length"]))
                self.answer(201, {})

        super().__init__(Handler)


def given_up(job: Path, status: str) -> dict:
    """The job's state once the agent has given up on its ``status`` report."""
    wait_until(lambda: state(job).get("last_report", {}).get("status") == status, timeout=WAIT,
               what=f"the agent to give up on its {status} report")
    return state(job)


def test_a_lost_done_leaves_the_uploaded_manifest_for_the_reconciler(tmp_path):
    simgate = FakeSimgate(failing={"done"})
    try:
        job = make_job(tmp_path, "lost", "mkdir -p results; echo 1,2 > results/a.csv\n", outputs=["results/*.csv"],
                       status_url=f"{simgate.url}/job/lost/status", retry_seconds=1)
        agent("submit", job)
        uploaded = given_up(job, "done")
    finally:
        simgate.close()
    assert uploaded["status"] == "uploaded" and simgate.blobs["/blob/results/a.csv"] == b"1,2\n"
    assert {"name": "results/a.csv", "size": 4, "md5": hashlib.md5(b"1,2\n").hexdigest()} in uploaded["manifest"]
    assert simgate.reports[:2] == ["running", "cleanup"] and set(simgate.reports[2:]) == {"done"}
    assert "503" in uploaded["last_report"]["error"]


def test_an_unreachable_simgate_is_retried_only_for_the_jobs_retry_time(tmp_path):
    job = make_job(tmp_path, "alone", "echo 1,2 > out.csv\n", outputs=["*.csv"],
                   status_url=f"http://127.0.0.1:{free_port()}/api/job/alone/status", retry_seconds=1)  # nobody there
    agent("submit", job)
    failed = given_up(job, "failed")
    assert failed["status"] == "failed" and failed["reason"].startswith("delivering the outputs failed: PATCH failed")
    assert "Connection refused" in failed["last_report"]["error"]
