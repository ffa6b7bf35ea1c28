"""The reconciler against real simulators (sshd, and Slurm over SSH), Azurite's tables, blobs and queue.

Webhooks are lost on purpose: the agents report to a loopback stand-in of simgate's status endpoint
(the real AgentReports service behind it) that answers 503 to the reports a test wants lost. Agents
die by real signals; Slurm jobs are cancelled with the real scancel.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import uuid
from datetime import timedelta

import pytest

from devstack.processes import free_port, wait_until
from shared.adapters.case_store import TableCaseRepository
from shared.adapters.job_queue import StorageJobQueue, decode_envelope
from shared.adapters.job_store import TableJobRepository
from shared.adapters.live_store import BlobLiveStore
from shared.adapters.output_store import BlobOutputStore
from shared.adapters.simulators import SshSimulatorGateway
from shared.adapters.system_clock import SystemClock
from shared.domain.cases import parse_definition
from shared.domain.jobs import JobStatus
from shared.services.changes import JobChanges
from shared.services.reconciler import Reconciler
from tests.conftest import own_container
from tests.integration.harness import HOLD_CASE, WAIT, Harness, StatusEndpoint, now, simulator_spec

pytestmark = pytest.mark.integration

AGENT_RETRY_SECONDS = 2


@pytest.fixture(scope="module")
def cases(storage):
    name = "rcases" + uuid.uuid4().hex[:10]
    storage.table_service.create_table(name)
    repository = TableCaseRepository(storage, name, "case-scripts")
    repository.publish(parse_definition(HOLD_CASE), "test", now())
    yield repository
    storage.table_service.delete_table(name)


@pytest.fixture
def jobs(storage, own_table):
    return TableJobRepository(storage, own_table)  # this test's jobs only: the reconciler sees all of a table


@pytest.fixture
def queue(storage):
    name = "r" + uuid.uuid4().hex[:16]
    storage.queue_service.create_queue(name)
    yield StorageJobQueue(storage, name)
    storage.queue_service.delete_queue(name)


@pytest.fixture(scope="module")
def outputs_container(storage):
    yield from own_container(storage, "r")


@pytest.fixture
def outputs(storage, outputs_container):
    return BlobOutputStore(storage, outputs_container)


@pytest.fixture
def live(storage, outputs_container):
    return BlobLiveStore(storage, outputs_container)


class World:
    """One simulator, a manager that starts jobs on it, and a reconciler looking after them."""

    def __init__(self, cases, jobs, outputs, queue, spec, storage, *, callback_base_url=None, ca_bundle=None) -> None:
        self.harness = Harness((cases, jobs, storage), spec, callback_base_url=callback_base_url,
                               retry_seconds=AGENT_RETRY_SECONDS, ca_bundle=ca_bundle)
        self.jobs, self.outputs, self.queue = jobs, outputs, queue
        self.commands = 0
        world = self

        class CountingGateway(SshSimulatorGateway):
            def _agent(self, *args, **kwargs):
                world.commands += 1
                return super()._agent(*args, **kwargs)

        self.gateway = CountingGateway(self.harness.pool)
        self.reconciler = self.reconciler_for([spec])

    def reconciler_for(self, specs) -> Reconciler:
        # stale at once: the tests decide when a cycle runs
        clock = SystemClock()
        return Reconciler(self.jobs, self.gateway, specs, self.outputs, self.queue, JobChanges(self.jobs, clock),
                          clock, self.harness.governor(specs), stale_after=timedelta(0))

    def started(self, **fields):
        job = self.harness.submitted_job(**fields)
        self.harness.start(job.job_id)
        return job

    def job(self, job_id: str):
        return self.jobs.find(job_id).item

    def close(self) -> None:
        self.harness.close()


@pytest.fixture(params=["direct", "slurm"])
def spec(request, tmp_path):
    simulator = request.getfixturevalue("sshd" if request.param == "direct" else "slurm_sshd")
    return simulator_spec(simulator, tmp_path / "jobs")


@pytest.fixture
def world(cases, jobs, outputs, queue, spec, storage, tmp_path):
    world = World(cases, jobs, outputs, queue, spec, storage)
    yield world
    for directory in (tmp_path / "jobs").glob("*-*-*"):
        (directory / "release").touch()
    world.close()


def test_a_lost_done_is_recovered_from_the_agents_state(cases, jobs, outputs, live, outputs_container, queue, spec,
                                                     storage, azurite, tmp_path):
    endpoint = StatusEndpoint(jobs, outputs, live, lose={"done"})
    world = World(cases, jobs, outputs, queue, spec, storage, callback_base_url=endpoint.base_url,
                  ca_bundle=str(azurite.ca_bundle))
    try:
        job = world.started()
        harness = world.harness
        wait_until(lambda: harness.state(job.job_id).get("last_report", {}).get("status") == "done", timeout=WAIT,
                   what=f"the agent to give up on its done report (state: {harness.state(job.job_id)})")
        wait_until(lambda: harness.agent_processes(job.job_id) == 0, timeout=WAIT, what="the agent to exit")
        assert world.job(job.job_id).status == JobStatus.CLEANUP and "done" in endpoint.received
        cycle = world.reconciler.run()
    finally:
        endpoint.close()
        world.close()
    done = world.job(job.job_id)
    assert done.status == JobStatus.DONE and cycle.moved == {"done": 1}
    assert done.history[-1].source == "reconciler" and "done report was lost" in done.history[-1].reason
    expected = (tmp_path / "jobs" / job.job_id / "run" / "results" / "out.csv").read_bytes()
    csv = next(o for o in done.outputs if o["name"] == "results/out.csv")
    assert csv["output_id"] == "csv1" and csv["md5"] == hashlib.md5(expected).hexdigest()
    assert storage.container(outputs_container).download_blob(f"{job.job_id}/results/out.csv").readall() == expected


def test_a_lost_running_is_repaired_and_a_working_job_left_alone_with_one_command_per_cycle(world):
    jobs = [world.started(hold=True) for _ in range(2)]  # the test Slurm node runs two at a time
    for job in jobs:
        world.harness.wait_for_state(job.job_id, "running")
    assert {world.job(j.job_id).status for j in jobs} == {JobStatus.QUEUED}  # no webhooks reached simgate
    world.commands = 0
    cycle = world.reconciler.run()
    assert world.commands == 1 and cycle.examined == 2 and cycle.moved == {"running": 2}
    running = {j.job_id: world.job(j.job_id) for j in jobs}
    assert all(j.history[-1].source == "reconciler" for j in running.values())
    world.reconciler.run()  # the agents are alive and working: nothing to change
    assert {j.job_id: world.job(j.job_id) for j in jobs} == running


def test_a_job_whose_agent_was_killed_is_failed_with_the_reason(world):
    job = world.started(hold=True)
    state = world.harness.wait_for_state(job.job_id, "running")
    pid = int(state["pid"])
    if os.getpgid(pid) == pid:  # direct: the agent leads its own group; kill it and its script at once
        os.killpg(pid, signal.SIGKILL)
    else:  # Slurm: the agent is the batch script; Slurm cleans up the rest of the job
        os.kill(pid, signal.SIGKILL)
    wait_until(lambda: world.harness.agent_processes(job.job_id) == 0, timeout=WAIT, what="the agent to die")
    if world.harness.spec.scheduler == "slurm":  # Slurm notices the batch script's death
        wait_until(lambda: _slurm_state(world, job) not in ("RUNNING", "COMPLETING"), timeout=WAIT,
                   what="Slurm to end the job")
    world.reconciler.run()
    failed = world.job(job.job_id)
    assert failed.status == JobStatus.FAILED
    if world.harness.spec.scheduler == "slurm":
        assert failed.error == f"Slurm ended the job ({_slurm_state(world, job)}) before its agent reported"
    else:
        assert failed.error == "job vanished from simulator: nothing runs it any more (its last state was running)"


def test_a_job_whose_directory_was_removed_vanished(world, tmp_path):
    job = world.started()
    world.harness.wait_for_state(job.job_id, "finished")
    wait_until(lambda: world.harness.agent_processes(job.job_id) == 0, timeout=WAIT, what="the agent to exit")
    shutil.rmtree(tmp_path / "jobs" / job.job_id)
    world.reconciler.run()
    assert world.job(job.job_id).error == "job vanished from simulator: its directory is gone"


def test_an_unreachable_simulator_is_skipped_and_its_jobs_kept(world):
    job = world.started(hold=True)
    world.harness.wait_for_state(job.job_id, "running")
    moved = world.harness.spec.model_copy(update={"port": free_port()})  # sshd is not there
    cycle = world.reconciler_for([moved]).run()
    assert cycle.unreachable == [moved.name] and world.job(job.job_id).status == JobStatus.QUEUED


def test_a_slurm_job_cancelled_outside_simgate_is_cancelled(cases, jobs, outputs, queue, slurm_sshd, slurm, storage,
                                                           tmp_path):
    world = World(cases, jobs, outputs, queue, simulator_spec(slurm_sshd, tmp_path / "jobs"), storage)
    try:
        job = world.started(hold=True)
        world.harness.wait_for_state(job.job_id, "running")
        slurm.run("scancel", world.job(job.job_id).scheduler_job_id)  # an administrator, not simgate
        world.harness.wait_for_state(job.job_id, "cancelled")
        world.reconciler.run()
    finally:
        world.close()
    cancelled = world.job(job.job_id)
    assert (cancelled.status, cancelled.detail) == (JobStatus.CANCELLED, "cancelled on the simulator")


def test_a_stale_submitted_job_gets_its_start_message_again(cases, jobs, outputs, queue, sshd, storage, tmp_path):
    world = World(cases, jobs, outputs, queue, simulator_spec(sshd, tmp_path / "jobs"), storage)
    try:
        job = world.harness.submitted_job()  # its start message was lost: nothing is queued
        cycle = world.reconciler.run()
    finally:
        world.close()
    messages = storage.queue(queue.queue_name).peek_messages(max_messages=5)
    envelopes = [decode_envelope(m.content) for m in messages]
    assert [(e["messageId"], json.loads(e["body"])) for e in envelopes] == [
        (f"{job.job_id}:start", {"action": "start", "job_id": job.job_id})]
    assert dict(cycle.resent) == {"start": 1} and world.job(job.job_id).status == JobStatus.SUBMITTED


def _slurm_state(world: World, job) -> str:
    seen = world.gateway.observe(world.harness.spec, [job.job_id])[job.job_id]
    return seen.scheduler_state or ""

