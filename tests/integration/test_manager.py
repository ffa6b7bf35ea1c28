"""The manager against real simulators: sshd (direct runner) and a single-node Slurm over SSH, with
the job and case tables in Azurite. Faults are injected by stopping the real processes or by a
gateway that dies at a chosen step; nothing here is a mock."""

from __future__ import annotations

import json
import os
import uuid
from datetime import timedelta

import pytest

from devstack.keys import ensure_ssh_keys
from devstack.processes import free_port, wait_until
from devstack.sshd import _banner_ready
from shared.adapters.case_store import TableCaseRepository
from shared.adapters.job_store import TableJobRepository
from shared.adapters.simulators import SshSimulatorGateway
from shared.domain.cases import parse_definition
from shared.domain.jobs import JobStatus
from shared.services.manager import Delivery, WaitPolicy
from tests.integration.harness import HOLD_CASE, WAIT, Harness, now, private_sshd, simulator_spec, stop_with_connections

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def repositories(storage):
    names = ["mcases" + uuid.uuid4().hex[:10], "mjobs" + uuid.uuid4().hex[:10]]
    for name in names:
        storage.table_service.create_table(name)
    cases = TableCaseRepository(storage, names[0], "case-scripts")
    cases.publish(parse_definition(HOLD_CASE), "test", now())
    yield cases, TableJobRepository(storage, names[1]), storage
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
    # the agent that submitted it may still be on its way out when the job runs (a loaded machine): one
    # agent must remain, and a second start would keep a second one
    wait_until(lambda: harness.agent_processes(job.job_id) == 1, timeout=15, interval=0.2,
               what="one agent at work on the job")
    if harness.spec.scheduler == "slurm":
        assert scheduler_count(slurm, job.job_id) == 1
    harness.release(job.job_id)
    harness.wait_for_state(job.job_id, "finished")


class Crash(BaseException):
    """The manager process dying: not an error anything catches."""


class CrashBeforeStart(SshSimulatorGateway):
    crashes = 1

    def start(self, simulator, job_id, bundle):
        if self.crashes:
            self.crashes -= 1
            raise Crash("died after recording the token, before the start reached the simulator")
        return super().start(simulator, job_id, bundle)


class CrashAfterStart(SshSimulatorGateway):
    crashes = 1

    def start(self, simulator, job_id, bundle):
        submission = super().start(simulator, job_id, bundle)
        if self.crashes:
            self.crashes -= 1
            raise Crash("died after the simulator submitted, before the Table write")
        return submission


@pytest.mark.parametrize("gateway_class", [CrashBeforeStart, CrashAfterStart])
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


# --- an unreachable simulator is waited out ---


def test_sshd_stopped_during_a_start_keeps_the_job_waiting_and_it_starts_when_sshd_is_back(repositories, tmp_path):
    process, spec = private_sshd(tmp_path)
    stops = []

    class StopSshdBeforeStart(SshSimulatorGateway):
        def start(self, simulator, job_id, bundle):
            if not stops:
                stops.append(stop_with_connections(process))  # the listener and every session go away
            return super().start(simulator, job_id, bundle)

    harness = Harness(repositories, spec, StopSshdBeforeStart)
    job = harness.submitted_job()
    try:
        outcome = harness.start(job.job_id)  # returns: the message is completed, the job waits
        waiting = harness.job(job.job_id)
        assert waiting.status == JobStatus.SUBMITTED and waiting.waiting.attempts == 1
        assert outcome == waiting.detail and waiting.detail.startswith("waiting for simulator flaky: unreachable since")
        (still_down,) = harness.deliver_scheduled()  # the scheduled retry, while sshd is still down
        assert still_down.startswith("waiting for simulator flaky") and harness.job(job.job_id).waiting.attempts == 2
        process.start(ready=lambda: _banner_ready(spec.port), timeout=20)
        (back,) = harness.deliver_scheduled()
        assert back.startswith("queued on flaky")
        queued = harness.job(job.job_id)
        assert queued.status == JobStatus.QUEUED and queued.waiting is None
        harness.wait_for_state(job.job_id, "finished")
        assert (harness.directory(job.job_id) / "runs").read_text() == "run\n"
        # "finished" is written just before the agent exits: wait for the exit, do not race it
        wait_until(lambda: harness.agent_processes(job.job_id) == 0, timeout=WAIT, what="the agent to exit")
    finally:
        process.stop()
        harness.close()


def test_a_start_waiting_past_its_horizon_fails_with_the_reason(repositories, sshd, tmp_path):
    waiting = WaitPolicy(horizon=timedelta(seconds=2), first_delay=timedelta(seconds=0.5),
                         max_delay=timedelta(seconds=1))
    harness = Harness(repositories, simulator_spec(sshd, tmp_path / "jobs", port=free_port()), waiting=waiting)
    job = harness.submitted_job()
    harness.start(job.job_id)
    while harness.job(job.job_id).status == JobStatus.SUBMITTED:
        assert harness.deliver_scheduled(), "a waiting job always has its next start scheduled"
    stored = harness.job(job.job_id)
    assert stored.status == JobStatus.FAILED and stored.error.startswith(f"simulator {sshd.spec.name} unreachable since")
    assert stored.error.endswith(f"longer than the 2 s a start waits: simulator {sshd.spec.name} could not be reached")
    assert "127.0.0.1" not in stored.error and str(tmp_path) not in stored.error  # no addresses, no paths
    assert stored.pending_token_hashes == []  # no token ever reached a simulator
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
