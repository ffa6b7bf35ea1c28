"""The run path under real faults, against real sshd, Slurm and Azurite: a burst of starts whose SSH
connections are dropped mid-way, a simulator unreachable for longer than a queue's delivery count
lasts, and the API unreachable across a job's cleanup and done. No successful run is lost, and every
job is submitted exactly once."""

from __future__ import annotations

import hashlib
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest

from devstack.processes import wait_until
from devstack.sshd import _banner_ready
from shared.adapters.case_store import TableCaseRepository
from shared.adapters.job_store import TableJobRepository
from shared.adapters.live_store import BlobLiveStore
from shared.adapters.output_store import BlobOutputStore
from shared.adapters.simulators import SshSimulatorGateway
from shared.adapters.ssh import SshPool, SshSession
from shared.adapters.system_clock import SystemClock
from shared.domain.cases import parse_definition
from shared.domain.jobs import JobStatus
from shared.services.changes import JobChanges
from shared.services.manager import WaitPolicy
from shared.services.reconciler import Reconciler
from tests.conftest import own_container
from tests.integration.harness import (
    HOLD_CASE,
    WAIT,
    Harness,
    StatusEndpoint,
    drop_connections,
    now,
    private_sshd,
    simulator_spec,
    stop_with_connections,
)

pytestmark = pytest.mark.integration

BURST_WAIT = 180  # a hundred jobs through two cores: generous, and every wait ends on its condition


@pytest.fixture(scope="module")
def cases(storage):
    name = "pcases" + uuid.uuid4().hex[:10]
    storage.table_service.create_table(name)
    repository = TableCaseRepository(storage, name, "case-scripts")
    repository.publish(parse_definition(HOLD_CASE), "test", now())
    yield repository
    storage.table_service.delete_table(name)


@pytest.fixture
def jobs(storage, own_table):
    return TableJobRepository(storage, own_table)


@pytest.fixture(scope="module")
def outputs_container(storage):
    yield from own_container(storage, "p")


@pytest.fixture
def outputs(storage, outputs_container):
    return BlobOutputStore(storage, outputs_container)


@pytest.fixture
def live(storage, outputs_container):
    return BlobLiveStore(storage, outputs_container)


def markers(workdir: Path) -> list[Path]:
    return list(workdir.glob("*/submission.json"))


def settle(harness: Harness, job_ids: list[str]) -> None:
    """Deliver the scheduled retries until no job is waiting to start any more."""
    while any(harness.job(job_id).status == JobStatus.SUBMITTED for job_id in job_ids):
        harness.deliver_scheduled(timeout=BURST_WAIT)


# --- a burst, with the pooled connections dropped in the middle of it ---


@pytest.mark.parametrize("scheduler, count", [("direct", 100), ("slurm", 30)])
def test_a_burst_of_starts_survives_its_connections_being_dropped_and_submits_each_job_once(
        request, cases, jobs, storage, slurm, tmp_path, scheduler, count):
    simulator = request.getfixturevalue("sshd" if scheduler == "direct" else "slurm_sshd")
    workdir = tmp_path / "jobs"
    pool = SshPool(SshSession, max_connections=2, max_channels=8)
    harness = Harness((cases, jobs, storage), simulator_spec(simulator, workdir, max_parallel_jobs=8), pool=pool)
    job_ids = [harness.submitted_job().job_id for _ in range(count)]
    dropped = []

    def drop_in_the_middle():
        wait_until(lambda: len(markers(workdir)) >= count // 3, timeout=BURST_WAIT, what="a third of the burst")
        dropped.append(drop_connections(simulator.directory))

    dropper = threading.Thread(target=drop_in_the_middle)
    dropper.start()
    try:
        with ThreadPoolExecutor(8) as workers:  # the host's maxConcurrentCalls
            outcomes = list(workers.map(harness.start, job_ids))
        dropper.join(BURST_WAIT)
        settle(harness, job_ids)
        statuses = {job_id: harness.job(job_id).status for job_id in job_ids}
        assert dropped and dropped[0] >= 1, "the pooled connections were dropped mid-burst"
        assert set(statuses.values()) <= {JobStatus.QUEUED, JobStatus.RUNNING}, outcomes  # none failed
        assert len(markers(workdir)) == count  # each job submitted ...
        if scheduler == "slurm":  # ... once, by Slurm's own records
            names = slurm.run("squeue", "-h", "-t", "all", "-o", "%j").stdout.split()
            assert all(names.count(f"simgate-{job_id}") == 1 for job_id in job_ids)
        for job_id in job_ids:  # ... and run once
            wait_until(lambda: harness.state(job_id).get("status") == "finished", timeout=BURST_WAIT,
                       what=f"job {job_id} to finish")
            assert (workdir / job_id / "runs").read_text() == "run\n"
    finally:
        dropper.join(BURST_WAIT)
        harness.close()


# --- a simulator unreachable for longer than a queue's delivery count lasts ---


@pytest.fixture
def endpoint(jobs, outputs, live):
    endpoint = StatusEndpoint(jobs, outputs, live)
    yield endpoint
    endpoint.close()


OUTAGE_SECONDS = 8  # at most one second between attempts: many more attempts than 5 deliveries


def test_jobs_wait_out_a_simulator_outage_and_reach_done_when_it_is_back(cases, jobs, outputs, storage, endpoint,
                                                                        azurite, tmp_path):
    process, spec = private_sshd(tmp_path)
    harness = Harness((cases, jobs, storage), spec, callback_base_url=endpoint.base_url,
                      ca_bundle=str(azurite.ca_bundle))
    try:
        stop_with_connections(process)
        job_ids = [harness.submitted_job().job_id for _ in range(3)]
        for job_id in job_ids:
            assert harness.start(job_id).startswith("waiting for simulator flaky: unreachable since")
        attempts_before_the_end = 0
        back = threading.Timer(OUTAGE_SECONDS, lambda: process.start(ready=lambda: _banner_ready(spec.port),
                                                                     timeout=20))
        back.start()
        while any(harness.job(job_id).status == JobStatus.SUBMITTED for job_id in job_ids):
            attempts_before_the_end = max(harness.job(j).start_attempt for j in job_ids)
            harness.deliver_scheduled()
        back.join()
        assert attempts_before_the_end > 5  # more tries than the queue's maximum deliveries would allow
        for job_id in job_ids:
            wait_until(lambda: harness.job(job_id).status == JobStatus.DONE, timeout=WAIT,
                       what=f"job {job_id} to be done (it is {harness.job(job_id).status.value})")
            done = harness.job(job_id)
            assert [o["name"] for o in done.outputs] == ["logs/stderr.log", "logs/stdout.log", "results/out.csv"]
            # its agent may report running before the manager records queued (then history lacks it)
            assert done.waiting is None and {JobStatus.SUBMITTED, JobStatus.RUNNING} <= {t.status for t in done.history}
    finally:
        process.stop()
        harness.close()


def test_jobs_waiting_past_the_horizon_fail_with_its_reason(cases, jobs, storage, tmp_path):
    process, spec = private_sshd(tmp_path)
    horizon = WaitPolicy(horizon=timedelta(seconds=3), first_delay=timedelta(seconds=0.5),
                         max_delay=timedelta(seconds=1))
    harness = Harness((cases, jobs, storage), spec, waiting=horizon)
    try:
        stop_with_connections(process)  # and it stays down for longer than the horizon
        job_ids = [harness.submitted_job().job_id for _ in range(3)]
        for job_id in job_ids:
            harness.start(job_id)
        settle(harness, job_ids)
        for job_id in job_ids:
            failed = harness.job(job_id)
            assert failed.status == JobStatus.FAILED
            assert failed.error.startswith("simulator flaky unreachable since ")
            assert "longer than the 3 s a start waits" in failed.error
    finally:
        process.stop()
        harness.close()


# --- the API unreachable across a job's cleanup and done ---


@pytest.fixture(params=["direct", "slurm"])
def spec(request, tmp_path):
    simulator = request.getfixturevalue("sshd" if request.param == "direct" else "slurm_sshd")
    return simulator_spec(simulator, tmp_path / "jobs")


def test_outputs_the_agent_could_not_deliver_are_brought_home_by_the_reconciler(cases, jobs, outputs, live, storage,
                                                                                azurite, spec, tmp_path):
    endpoint = StatusEndpoint(jobs, outputs, live, lose={"cleanup", "done"})  # the API is down from the script's end
    harness = Harness((cases, jobs, storage), spec, callback_base_url=endpoint.base_url, retry_seconds=2,
                      ca_bundle=str(azurite.ca_bundle))
    clock = SystemClock()
    reconciler = Reconciler(jobs, SshSimulatorGateway(harness.pool), [spec], outputs, harness.queue,
                            JobChanges(jobs, clock), clock, harness.sites, stale_after=timedelta(0))
    try:
        job = harness.submitted_job()
        harness.start(job.job_id)
        kept = harness.wait_for_state(job.job_id, "undelivered")
        assert kept["reason"].startswith("simgate did not take the cleanup report")
        assert harness.job(job.job_id).status in (JobStatus.QUEUED, JobStatus.RUNNING)  # not failed
        endpoint.lose.clear()  # the API is back
        cycle = reconciler.run()
        assert cycle.handed_over == 1 and harness.job(job.job_id).status == JobStatus.CLEANUP
        wait_until(lambda: harness.job(job.job_id).status == JobStatus.DONE, timeout=WAIT,
                   what=f"the job to be done (it is {harness.job(job.job_id).status.value})")
    finally:
        endpoint.close()
        harness.close()
    done = harness.job(job.job_id)
    run = tmp_path / "jobs" / job.job_id
    on_the_simulator = {"results/out.csv": run / "run" / "results" / "out.csv",
                        "logs/stdout.log": run / "stdout.log", "logs/stderr.log": run / "stderr.log"}
    assert {o["name"]: o["md5"] for o in done.outputs} == {
        name: hashlib.md5(path.read_bytes()).hexdigest() for name, path in on_the_simulator.items()}
    assert [t.status for t in done.history][-2:] == [JobStatus.CLEANUP, JobStatus.DONE]
    assert done.history[-2].source == "reconciler" and done.history[-1].source == "agent"
