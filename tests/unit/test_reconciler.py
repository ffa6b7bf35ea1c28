"""The reconciler's cycle with in-memory ports: which jobs it looks at, how it asks, what it writes."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

import pytest

from shared.config import SimulatorSpec
from shared.domain.jobs import CancelRequest, Job, JobStatus, Transition, new_job_id
from shared.domain.reconcile import Observation
from shared.domain.sites import UNPLACED, LineEntry
from shared.errors import SimulatorUnreachable
from shared.services.changes import JobChanges
from shared.services.reconciler import Reconciler
from shared.services.sites import Sites
from tests.fakes import (
    FakeClock,
    FakeSimulatorGateway,
    InMemoryJobRepository,
    InMemoryOutputStore,
    InMemorySiteStore,
    RecordingJobQueue,
)

NOW = datetime(2026, 5, 1, 12, tzinfo=timezone.utc)
STALE = NOW - timedelta(minutes=30)
HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDq5oY1Q2TQ0YcXv0l1gRkq7r0bqJXHn7nN8ZVUCMXw5"


def spec(name: str, scheduler: str = "direct") -> SimulatorSpec:
    return SimulatorSpec(name=name, host="hpc.example", user="sim", host_key=HOST_KEY,
                         private_key_path="/keys/id", scheduler=scheduler, workdir="/scratch/simgate")


class World:
    def __init__(self) -> None:
        self.jobs = InMemoryJobRepository()
        self.gateway = FakeSimulatorGateway()
        self.outputs = InMemoryOutputStore()
        self.queue = RecordingJobQueue()
        clock = FakeClock(NOW)
        self.sites = InMemorySiteStore()
        specs = [spec("hpc"), spec("cluster", "slurm")]
        changes = JobChanges(self.jobs, clock)
        governor = Sites(self.sites, self.jobs, changes, self.queue, self.gateway, specs, clock)
        self.reconciler = Reconciler(self.jobs, self.gateway, specs, self.outputs, self.queue, changes, clock,
                                     governor, stale_after=timedelta(minutes=10))

    def job(self, status: JobStatus, *, simulator: str | None = "hpc", updated: datetime = STALE, seq: int = 0,
            **changes) -> Job:
        created = STALE - timedelta(seconds=seq)
        job = Job(job_id=new_job_id("alice", created), owner="alice", title="t", case_id="mixer", case_version=1,
                  fields={}, status=status, created=created, updated=updated, simulator=simulator,
                  history=[Transition(status=status, at=updated, source="manager")], **changes)
        self.jobs.add(job)
        if status.active:  # every active job is in its site's line, as the API and the manager leave it
            self.sites.enter(LineEntry(site=simulator or UNPLACED, job_id=job.job_id, owner=job.owner, since=created))
        return job

    def observe(self, job: Job, simulator: str = "hpc", **facts) -> None:
        self.gateway.observations[(simulator, job.job_id)] = Observation.model_validate(
            {"exists": True, "delivered": True, "submitted": True, **facts})

    def stored(self, job: Job) -> Job:
        return self.jobs.get(job.job_id).item


@pytest.fixture
def world() -> World:
    return World()


def test_each_simulator_is_asked_once_about_all_its_stale_jobs(world):
    on_hpc = [world.job(JobStatus.RUNNING, seq=i) for i in range(3)]
    on_cluster = world.job(JobStatus.QUEUED, simulator="cluster", seq=9)
    world.job(JobStatus.RUNNING, updated=NOW - timedelta(minutes=2), seq=20)  # fresh: not asked about
    world.job(JobStatus.DONE, seq=21)  # finished: not asked about
    world.job(JobStatus.DRAFT, simulator=None, seq=22)
    cycle = world.reconciler.run()
    calls = {name: sorted(ids) for name, ids in world.gateway.observe_calls}
    assert calls == {"hpc": sorted(j.job_id for j in on_hpc), "cluster": [on_cluster.job_id]}
    assert cycle.examined == 4 and len(world.gateway.observe_calls) == 2


def test_a_lost_done_is_recorded_with_outputs_checked_against_storage(world):
    job = world.job(JobStatus.CLEANUP)
    world.outputs.upload(job.job_id, "results/a.csv", b"1,2\n")
    world.observe(job, state="uploaded", alive=False,
                  manifest=[{"name": "results/a.csv", "size": 4, "md5": hashlib.md5(b"1,2\n").hexdigest()}])
    cycle = world.reconciler.run()
    done = world.stored(job)
    assert done.status == JobStatus.DONE and done.progress == 1.0
    assert [o["output_id"] for o in done.outputs] == ["csv1"]
    assert world.outputs.sealed(job.job_id) == {"results/a.csv": b"1,2\n"}  # sealed from staging,
    assert world.outputs.staging(job.job_id) == {}  # which is emptied
    assert done.history[-1].source == "reconciler" and "lost" in done.history[-1].reason
    assert cycle.moved == {"done": 1} and str(cycle).startswith("1 stale jobs examined; 1 moved to done")


def test_a_seal_that_loses_the_race_with_the_jobs_end_leaves_no_copy_behind(world):
    job = world.job(JobStatus.CLEANUP)
    world.outputs.upload(job.job_id, "results/a.csv", b"1,2\n")
    world.observe(job, state="uploaded", alive=False, manifest=[{"name": "results/a.csv", "size": 4}])
    original = world.outputs.seal

    def cancelled_meanwhile(job_id, files):
        original(job_id, files)
        stored = world.jobs.get(job.job_id)
        world.jobs.update(stored.item.move(JobStatus.CANCELLED, at=NOW, source="manager"), stored.etag)

    world.outputs.seal = cancelled_meanwhile
    world.reconciler.run()
    assert world.stored(job).status == JobStatus.CANCELLED
    assert world.outputs.sealed(job.job_id) == {} and world.outputs.staging(job.job_id) == {}


def test_a_manifest_that_storage_does_not_hold_fails_the_job_instead(world):
    job = world.job(JobStatus.CLEANUP)
    world.observe(job, state="uploaded", alive=False, manifest=[{"name": "results/a.csv", "size": 4}])
    world.reconciler.run()
    failed = world.stored(job)
    assert failed.status == JobStatus.FAILED and failed.outputs == []
    assert failed.error == "the agent's outputs are not in storage as it recorded them: results/a.csv was never uploaded"


def test_a_manifest_storage_does_not_hold_is_delivered_again_while_the_files_are_on_the_simulator(world):
    job = world.job(JobStatus.CLEANUP)
    files = [{"name": "results/a.csv", "size": 4}]
    world.observe(job, state="uploaded", alive=False, manifest=files, files=files)
    cycle = world.reconciler.run()
    stored = world.stored(job)
    assert stored.status == JobStatus.CLEANUP and cycle.handed_over == 1
    ((simulator, grants),) = world.gateway.handed_over
    assert simulator == "hpc" and set(grants[job.job_id]) == {"results/a.csv"}


def test_undelivered_outputs_move_the_job_to_cleanup_and_their_agents_get_fresh_grants_in_one_batch(world):
    running = world.job(JobStatus.RUNNING)
    in_cleanup = world.job(JobStatus.CLEANUP, seq=1)
    elsewhere = world.job(JobStatus.RUNNING, simulator="cluster", seq=2)
    for job, simulator in ((running, "hpc"), (in_cleanup, "hpc"), (elsewhere, "cluster")):
        world.observe(job, simulator, state="undelivered", alive=False, reason="simgate did not take the report",
                      files=[{"name": "out.csv", "size": 3}, {"name": "logs/stdout.log", "size": 2}])
    cycle = world.reconciler.run()
    assert {world.stored(j).status for j in (running, in_cleanup, elsewhere)} == {JobStatus.CLEANUP}
    assert world.stored(running).history[-1].source == "reconciler"
    assert "new upload grant" in world.stored(running).history[-1].reason
    assert sorted((name, sorted(grants)) for name, grants in world.gateway.handed_over) == [
        ("cluster", [elsewhere.job_id]), ("hpc", sorted([running.job_id, in_cleanup.job_id]))]
    (_, hpc_grants), = [h for h in world.gateway.handed_over if h[0] == "hpc"]
    assert set(hpc_grants[running.job_id]) == {"out.csv", "logs/stdout.log"}
    assert cycle.handed_over == 3 and "3 upload grants handed over" in str(cycle)


def test_a_hand_over_that_cannot_reach_the_simulator_waits_for_the_next_cycle(world):
    job = world.job(JobStatus.RUNNING)
    world.observe(job, state="undelivered", alive=False, files=[{"name": "out.csv", "size": 3}])
    world.gateway.fail("hand_over:hpc", SimulatorUnreachable("down"))
    cycle = world.reconciler.run()
    assert world.stored(job).status == JobStatus.CLEANUP and cycle.handed_over == 0


def test_a_submitted_job_waiting_for_its_simulator_is_left_to_its_scheduled_start(world):
    from shared.domain.jobs import Waiting

    due = Waiting(simulator="hpc", since=STALE, attempts=3, next_attempt_at=NOW + timedelta(minutes=1))
    lost = Waiting(simulator="hpc", since=STALE, attempts=4, next_attempt_at=NOW - timedelta(hours=1))
    waiting = world.job(JobStatus.SUBMITTED, simulator=None, waiting=due)
    forgotten = world.job(JobStatus.SUBMITTED, simulator=None, seq=1, waiting=lost)
    world.reconciler.run()
    assert [(m.job_id, m.message_id) for m in world.queue.sent] == [(forgotten.job_id, f"{forgotten.job_id}:start:4")]
    assert waiting.job_id not in {m.job_id for m in world.queue.sent}


def test_a_manifest_with_a_hostile_name_fails_the_job(world):
    job = world.job(JobStatus.CLEANUP)
    world.observe(job, state="uploaded", alive=False, manifest=[{"name": "../other-job/x.csv", "size": 4}])
    world.reconciler.run()
    assert world.stored(job).status == JobStatus.FAILED


def test_a_vanished_job_fails_and_a_live_one_is_left_alone(world):
    gone, working = world.job(JobStatus.RUNNING), world.job(JobStatus.RUNNING, seq=1)
    world.observe(gone, state="running", alive=False)
    world.observe(working, state="running", alive=True)
    world.reconciler.run()
    assert world.stored(gone).status == JobStatus.FAILED
    assert world.stored(gone).error.startswith("job vanished from simulator")
    assert world.stored(working) == working


def test_a_job_missing_from_the_answer_is_not_judged(world):
    job = world.job(JobStatus.RUNNING)  # the simulator's answer says nothing about it
    world.reconciler.run()
    assert world.stored(job) == job


def test_an_unreachable_simulator_is_skipped_without_failing_its_jobs(world):
    on_hpc = world.job(JobStatus.RUNNING)
    on_cluster = world.job(JobStatus.RUNNING, simulator="cluster", seq=1)
    world.observe(on_cluster, simulator="cluster", state="failed", reason="the entry script failed", exit_code=1)
    world.gateway.fail("observe:hpc", SimulatorUnreachable("simulator hpc at hpc.example:22 unreachable"))
    cycle = world.reconciler.run()
    assert world.stored(on_hpc) == on_hpc and cycle.unreachable == ["hpc"]
    assert world.stored(on_cluster).status == JobStatus.FAILED


def test_news_that_arrives_during_the_cycle_wins(world):
    job = world.job(JobStatus.RUNNING)
    world.observe(job, state="running", alive=False)
    original = world.gateway.observe

    def agent_reports_meanwhile(simulator, job_ids):
        stored = world.jobs.get(job.job_id)
        world.jobs.update(stored.item.move(JobStatus.CLEANUP, at=NOW, source="agent"), stored.etag)
        return original(simulator, job_ids)

    world.gateway.observe = agent_reports_meanwhile
    world.reconciler.run()
    assert world.stored(job).status == JobStatus.CLEANUP


def test_a_job_on_a_simulator_no_longer_configured_fails_with_that_reason(world):
    job = world.job(JobStatus.QUEUED, simulator="retired")
    world.reconciler.run()
    assert world.stored(job).error == "simulator retired is no longer configured"


def test_stale_submitted_jobs_and_cancel_requests_have_their_messages_sent_again(world):
    waiting = world.job(JobStatus.SUBMITTED, simulator=None)
    cancelling = world.job(JobStatus.RUNNING, seq=1, cancel_requested=CancelRequest(by="alice", at=STALE))
    cycle = world.reconciler.run()
    sent = sorted((m.action, m.job_id, m.message_id) for m in world.queue.sent)
    assert sent == sorted([("start", waiting.job_id, f"{waiting.job_id}:start"),
                           ("cancel", cancelling.job_id, f"{cancelling.job_id}:cancel")])
    assert world.gateway.observe_calls == [] and dict(cycle.resent) == {"start": 1, "cancel": 1}
    assert world.stored(waiting) == waiting and world.stored(cancelling) == cancelling


def test_a_second_cycle_changes_nothing_more(world):
    job = world.job(JobStatus.QUEUED)
    world.observe(job, state="running", alive=True)
    world.reconciler.run()
    repaired = world.stored(job)
    assert repaired.status == JobStatus.RUNNING and repaired.updated == NOW
    world.reconciler.run()  # updated is now fresh: not stale any more
    assert world.stored(job) == repaired


# --- the sweep: what old upload grants wrote is removed once their job has ended or is gone ---


def test_the_sweep_removes_the_uploads_of_ended_and_deleted_jobs_and_leaves_the_others(world):
    outputs = world.outputs
    done = world.job(JobStatus.DONE, updated=NOW, seq=1)
    failed = world.job(JobStatus.FAILED, updated=NOW, seq=2)
    cancelled = world.job(JobStatus.CANCELLED, updated=NOW, seq=3)
    uploading = world.job(JobStatus.CLEANUP, updated=NOW, seq=4)  # fresh: its agent is uploading
    running = world.job(JobStatus.RUNNING, updated=NOW, seq=5)
    deleted = new_job_id("alice", STALE - timedelta(seconds=6))  # a job that no longer exists
    outputs.blobs[f"{done.job_id}/results/a.csv"] = b"sealed"
    outputs.blobs[f"{failed.job_id}/results/a.csv"] = b"copied by a seal that lost the race with the end"
    for job_id in (done.job_id, failed.job_id, cancelled.job_id, uploading.job_id, running.job_id, deleted):
        outputs.upload(job_id, "results/a.csv", b"written with a stale grant")
    cycle = world.reconciler.run()
    assert outputs.staging(done.job_id) == {} and outputs.sealed(done.job_id) == {"results/a.csv": b"sealed"}
    for job_id in (failed.job_id, cancelled.job_id, deleted):
        assert outputs.staging(job_id) == {} and outputs.sealed(job_id) == {}
    for job in (uploading, running):
        assert outputs.staging(job.job_id) == {"results/a.csv": b"written with a stale grant"}
    assert cycle.swept == 4 and "staged uploads of 4 ended or deleted jobs removed" in str(cycle)
    assert world.reconciler.run().swept == 0  # nothing left to remove


def test_a_job_whose_uploads_cannot_be_removed_now_is_swept_in_a_later_cycle(world):
    stuck, other = world.job(JobStatus.DONE, updated=NOW), world.job(JobStatus.FAILED, updated=NOW, seq=1)
    for job in (stuck, other):
        world.outputs.upload(job.job_id, "out.csv", b"x")
    world.outputs.failing.add(stuck.job_id)  # e.g. a lease the grant keeps taking until it expires
    assert world.reconciler.run().swept == 1 and world.outputs.staging(stuck.job_id) == {"out.csv": b"x"}
    world.outputs.failing.clear()
    assert world.reconciler.run().swept == 1 and world.outputs.staging(stuck.job_id) == {}


def test_the_sweep_runs_even_when_the_repairs_fail(world):
    job = world.job(JobStatus.FAILED, updated=NOW)
    world.outputs.upload(job.job_id, "out.csv", b"x")
    world.job(JobStatus.RUNNING)
    world.gateway.fail("observe:hpc", RuntimeError("a bug"))
    with pytest.raises(RuntimeError):
        world.reconciler.run()
    assert world.outputs.staging(job.job_id) == {}


def test_handed_over_grants_point_into_the_staging_area(world):
    job = world.job(JobStatus.RUNNING)
    world.observe(job, state="undelivered", alive=False, files=[{"name": "out.csv", "size": 3}])
    world.reconciler.run()
    ((_, grants),) = world.gateway.handed_over
    assert grants[job.job_id]["out.csv"].url.startswith(f"memory://staging/{job.job_id}/out.csv?")
