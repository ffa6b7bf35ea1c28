"""The manager against real simulators: sshd (direct runner) and a single-node Slurm over SSH, with
the job and case tables in Azurite. Faults are injected by stopping the real processes or by a
gateway that dies at a chosen step; nothing here is a mock."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import uuid
from pathlib import Path

import pytest

from devstack.keys import ensure_ssh_keys
from devstack.processes import free_port, wait_until
from devstack.sshd import _banner_ready, login_user, start_sshd
from shared.adapters.case_store import TableCaseRepository
from shared.adapters.job_store import TableJobRepository
from shared.adapters.simulators import SshSimulatorGateway
from shared.config import SimulatorSpec
from shared.domain.cases import parse_definition
from shared.domain.jobs import JobStatus
from shared.errors import SimulatorUnreachable
from shared.services.manager import Delivery
from tests.integration.harness import HOLD_CASE, WAIT, Harness, now, simulator_spec

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def repositories(storage):
    names = ["mcases" + uuid.uuid4().hex[:10], "mjobs" + uuid.uuid4().hex[:10]]
    for name in names:
        storage.table_service.create_table(name)
    cases = TableCaseRepository(storage, names[0], "case-scripts")
    cases.publish(parse_definition(HOLD_CASE), "test", now())
    yield cases, TableJobRepository(storage, names[1])
    for name in names:
        storage.table_service.delete_table(name)


@pytest.fixture(params=["direct", "slurm"])
def harness(request, repositories, tmp_path):
    simulator = request.getfixturevalue("sshd" if request.param == "direct" else "slurm_sshd")
    harness = Harness(repositories, simulator_spec(simulator, tmp_path / "jobs"))
    yield harness
    for directory in (tmp_path / "jobs").glob("*-*-*"):
        (directory / "release").touch()  # let anything still holding finish
    harness.close()


def scheduler_count(slurm, job_id: str) -> int:
    result = slurm.run("squeue", "-h", "-t", "all", f"--name=simgate-{job_id}", "-o", "%i")
    return len(result.stdout.split())


# --- a job runs ---


def test_a_job_is_submitted_and_runs(harness):
    job = harness.submitted_job()
    assert harness.start(job.job_id).startswith(f"queued on {harness.spec.name} ({harness.spec.scheduler} job ")
    stored = harness.job(job.job_id)
    assert stored.status == JobStatus.QUEUED and stored.simulator == harness.spec.name
    assert stored.scheduler_job_id and stored.agent_token_hash
    state = harness.wait_for_state(job.job_id, "finished")
    directory = harness.directory(job.job_id)
    assert state["exit_code"] == 0 and (directory / "run" / "results" / "out.csv").read_text() == "x,y\n"
    assert (directory / "label.txt").exists() is False and (directory / "run" / "label.txt").read_text() == "plain"
    modes = {p.name: p.stat().st_mode & 0o777 for p in [directory, directory / "job.json",
                                                           directory / "simgate_agent.py", directory / "run"]}
    assert modes == {directory.name: 0o700, "job.json": 0o600, "simgate_agent.py": 0o700, "run": 0o700}
    description = json.loads((directory / "job.json").read_text())
    assert description["job_id"] == job.job_id and description["outputs"] == ["results/*.csv"]


def test_the_slurm_job_carries_the_job_id_and_the_case_resources(repositories, slurm_sshd, slurm, tmp_path):
    harness = Harness(repositories, simulator_spec(slurm_sshd, tmp_path / "jobs"))
    job = harness.submitted_job(hold=True)
    harness.start(job.job_id)
    harness.wait_for_state(job.job_id, "running")
    fields = slurm.run("squeue", "-h", "-j", harness.job(job.job_id).scheduler_job_id,
                       "-o", "%j|%k|%C|%m|%l|%P").stdout.strip()
    assert fields == f"simgate-{job.job_id}|simgate job {job.job_id}|1|100M|5:00|{slurm.partition}"
    harness.release(job.job_id)
    harness.wait_for_state(job.job_id, "finished")
    harness.close()


# --- exactly once ---


def test_the_same_start_delivered_three_times_submits_once(harness, slurm):
    job = harness.submitted_job(hold=True)
    outcomes = [harness.start(job.job_id, Delivery(n, 5)) for n in (1, 2, 3)]
    assert outcomes[1:] == ["nothing to do: the job is queued"] * 2
    harness.wait_for_state(job.job_id, "running")
    assert harness.agent_processes(job.job_id) == 1
    if harness.spec.scheduler == "slurm":
        assert scheduler_count(slurm, job.job_id) == 1
    harness.release(job.job_id)
    harness.wait_for_state(job.job_id, "finished")


class Crash(BaseException):
    """The manager process dying: not an error anything catches."""


class CrashBeforeSubmit(SshSimulatorGateway):
    crashes = 1

    def submit(self, simulator, job_id):
        if self.crashes:
            self.crashes -= 1
            raise Crash("died between upload and submit")
        return super().submit(simulator, job_id)


class CrashAfterSubmit(SshSimulatorGateway):
    crashes = 1

    def submit(self, simulator, job_id):
        submission = super().submit(simulator, job_id)
        if self.crashes:
            self.crashes -= 1
            raise Crash("died between submit and the Table write")
        return submission


@pytest.mark.parametrize("gateway_class", [CrashBeforeSubmit, CrashAfterSubmit])
@pytest.mark.parametrize("scheduler", ["direct", "slurm"])
def test_a_crash_between_steps_resumes_and_submits_once(repositories, sshd, slurm_sshd, slurm, tmp_path,
                                                        gateway_class, scheduler):
    simulator = sshd if scheduler == "direct" else slurm_sshd
    harness = Harness(repositories, simulator_spec(simulator, tmp_path / "jobs"), gateway_class)
    job = harness.submitted_job(hold=True)
    with pytest.raises(Crash):
        harness.start(job.job_id)
    assert harness.job(job.job_id).status == JobStatus.SUBMITTED
    harness.start(job.job_id, Delivery(2, 5))
    stored = harness.job(job.job_id)
    assert stored.status == JobStatus.QUEUED
    harness.wait_for_state(job.job_id, "running")
    assert harness.agent_processes(job.job_id) == 1
    if scheduler == "slurm":
        assert scheduler_count(slurm, job.job_id) == 1
    submission = json.loads((harness.directory(job.job_id) / "submission.json").read_text())
    assert stored.agent_token_hash == submission["token_hash"] and stored.scheduler_job_id == submission["scheduler_job_id"]
    harness.release(job.job_id)
    harness.wait_for_state(job.job_id, "finished")
    harness.close()


# --- permanent faults fail the job at once ---


def test_a_wrong_host_key_fails_the_job_without_retry(repositories, sshd, tmp_path):
    stranger = ensure_ssh_keys(tmp_path / "stranger")
    harness = Harness(repositories, simulator_spec(sshd, tmp_path / "jobs", host_key=stranger.host_public))
    job = harness.submitted_job()
    harness.start(job.job_id)  # returns: the message is completed, not retried
    stored = harness.job(job.job_id)
    assert stored.status == JobStatus.FAILED and "host key" in stored.error and sshd.spec.name in stored.error
    harness.close()


def test_a_refused_key_fails_the_job_without_retry(repositories, sshd, tmp_path):
    stranger = ensure_ssh_keys(tmp_path / "stranger")
    harness = Harness(repositories, simulator_spec(sshd, tmp_path / "jobs", private_key_path=stranger.client_key))
    job = harness.submitted_job()
    harness.start(job.job_id)
    stored = harness.job(job.job_id)
    assert stored.status == JobStatus.FAILED and "refused the key" in stored.error
    harness.close()


def test_an_invalid_partition_fails_the_job_with_sbatchs_reason(repositories, slurm_sshd, slurm, tmp_path):
    harness = Harness(repositories, simulator_spec(slurm_sshd, tmp_path / "jobs", slurm_partition="nope"))
    job = harness.submitted_job()
    harness.start(job.job_id)
    stored = harness.job(job.job_id)
    assert stored.status == JobStatus.FAILED and "invalid partition" in stored.error.lower()
    assert scheduler_count(slurm, job.job_id) == 0
    harness.close()


# --- an unreachable simulator is retried ---


def test_sshd_stopped_during_a_start_is_retried_and_succeeds_when_it_is_back(repositories, tmp_path):
    directory = tmp_path / "sshd"
    keys = ensure_ssh_keys(directory)
    port = free_port()
    process = start_sshd(directory, keys, port, directory / "sshd.log")
    spec = SimulatorSpec(name="flaky", host="127.0.0.1", port=port, user=login_user(), host_key=keys.host_public,
                         private_key_path=keys.client_key, workdir=str(tmp_path / "jobs"))
    stops = []

    class StopSshdBeforeSubmit(SshSimulatorGateway):
        def submit(self, simulator, job_id):
            if not stops:
                stops.append(_stop_with_connections(process))  # the listener and every session go away
            return super().submit(simulator, job_id)

    harness = Harness(repositories, spec, StopSshdBeforeSubmit)
    job = harness.submitted_job()
    try:
        with pytest.raises(SimulatorUnreachable):
            harness.start(job.job_id)
        assert harness.job(job.job_id).status == JobStatus.SUBMITTED
        with pytest.raises(SimulatorUnreachable):  # still down on the next delivery
            harness.start(job.job_id, Delivery(2, 5))
        process.start(ready=lambda: _banner_ready(port), timeout=20)
        assert harness.start(job.job_id, Delivery(3, 5)).startswith("queued on flaky")
        assert harness.job(job.job_id).status == JobStatus.QUEUED
        harness.wait_for_state(job.job_id, "finished")
        # "finished" is written just before the agent exits: wait for the exit, do not race it
        wait_until(lambda: harness.agent_processes(job.job_id) == 0, timeout=WAIT, what="the agent to exit")
    finally:
        process.stop()
        harness.close()


def _stop_with_connections(process) -> int:
    """Stop sshd and the per-connection processes it forked (which outlive the listener otherwise)."""
    children = [pid for pid in _all_pids() if _parent(pid) == process.proc.pid]
    process.stop()
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return len(children)


def _all_pids() -> list[int]:
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]


def _parent(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def test_the_last_delivery_to_an_unreachable_simulator_fails_the_job(repositories, sshd, tmp_path):
    harness = Harness(repositories, simulator_spec(sshd, tmp_path / "jobs", port=free_port()))
    job = harness.submitted_job()
    harness.start(job.job_id, Delivery(5, 5))
    stored = harness.job(job.job_id)
    assert stored.status == JobStatus.FAILED and stored.error.startswith("simulator unreachable after 5 attempts")
    harness.close()


# --- cancel ---


def test_cancel_stops_a_running_job(harness):
    job = harness.submitted_job(hold=True)
    harness.start(job.job_id)
    harness.wait_for_state(job.job_id, "running")
    harness.cancel(job.job_id)
    stored = harness.job(job.job_id)
    assert stored.status == JobStatus.CANCELLED and stored.detail.startswith("cancelled by alice at ")
    assert harness.wait_for_state(job.job_id, "cancelled")["status"] == "cancelled"
    wait_until(lambda: harness.agent_processes(job.job_id) == 0, timeout=WAIT, what="the agent to exit")
    assert harness.manager.cancel(job.job_id) == "nothing to do: the job is cancelled"


def test_cancel_stops_a_queued_job_before_it_runs(repositories, sshd, slurm_sshd, slurm, tmp_path):
    # direct: one slot, taken by a blocker; slurm: the node's every CPU taken by a blocker
    direct = Harness(repositories, simulator_spec(sshd, tmp_path / "direct", max_parallel_jobs=1))
    blocker = direct.submitted_job(hold=True)
    direct.start(blocker.job_id)
    direct.wait_for_state(blocker.job_id, "running")
    waiting = direct.submitted_job()
    direct.start(waiting.job_id)
    assert direct.wait_for_state(waiting.job_id, "queued")
    direct.cancel(waiting.job_id)
    assert direct.wait_for_state(waiting.job_id, "cancelled").get("started_at") is None
    assert direct.job(waiting.job_id).status == JobStatus.CANCELLED
    direct.release(blocker.job_id)
    direct.wait_for_state(blocker.job_id, "finished")
    direct.close()

    cpus = os.cpu_count() or 1
    hog = slurm.run("sbatch", "--parsable", f"--cpus-per-task={cpus}", "--time=5", "--mem=50M",
                    f"--output={tmp_path}/hog.out", "--wrap=sleep 300").stdout.strip()
    try:
        wait_until(lambda: slurm.run("squeue", "-h", "-j", hog, "-o", "%T").stdout.strip() == "RUNNING",
                   timeout=WAIT, what="the blocking Slurm job to run")
        queued = Harness(repositories, simulator_spec(slurm_sshd, tmp_path / "slurm"))
        job = queued.submitted_job()
        queued.start(job.job_id)
        slurm_id = queued.job(job.job_id).scheduler_job_id
        assert slurm.run("squeue", "-h", "-j", slurm_id, "-o", "%T").stdout.strip() == "PENDING"
        queued.cancel(job.job_id)
        assert queued.job(job.job_id).status == JobStatus.CANCELLED
        wait_until(lambda: slurm.run("squeue", "-h", "-t", "all", "-j", slurm_id, "-o", "%T",
                                     check=False).stdout.strip() in ("CANCELLED", ""),
                   timeout=WAIT, what="Slurm to cancel the pending job")
        assert queued.state(job.job_id) == {}  # the agent never ran
        queued.close()
    finally:
        slurm.run("scancel", hog, check=False)


# --- values are data ---

HOSTILE = [
    "it's",
    'say "hi"',
    "$(touch pwned)",
    "`touch pwned`",
    "a;touch pwned",
    "line one\nline two",
    "${HOME} $((1+1)) \\ back",
]


@pytest.mark.parametrize("label", HOSTILE)
def test_hostile_values_arrive_as_data_not_commands(repositories, sshd, tmp_path, label):
    harness = Harness(repositories, simulator_spec(sshd, tmp_path / "jobs"))
    job = harness.submitted_job(label=label)
    harness.start(job.job_id)
    state = harness.wait_for_state(job.job_id, "finished")
    run = harness.directory(job.job_id) / "run"
    assert state["exit_code"] == 0
    assert (run / "label.txt").read_text() == label  # through the shell script
    assert (run / "show.txt").read_text() == label  # through the Python script
    assert json.loads((run / "params.json").read_text()) == {"label": label}
    assert not list(tmp_path.rglob("pwned"))
    harness.close()
