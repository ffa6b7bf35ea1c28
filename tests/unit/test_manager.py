"""The manager's use cases with in-memory ports: exactly once, failures, waiting out an unreachable
simulator, cancel, placement."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone

import pytest

from shared.config import SimulatorSpec
from shared.domain.cases import parse_definition
from shared.domain.jobs import Job, JobStatus, Transition, agent_token_hash, new_job_id
from shared.errors import (
    HostKeyMismatch,
    SchedulerUnavailable,
    SimulatorAuthenticationFailed,
    SimulatorUnreachable,
    StaleWrite,
    SubmissionRejected,
    TransientError,
)
from shared.services.changes import JobChanges
from shared.services.manager import AgentOptions, Delivery, Manager, WaitPolicy
from shared.services.sites import Sites
from tests.factories import case_document
from tests.fakes import (
    FakeClock,
    FakeSimulatorGateway,
    InMemoryCaseRepository,
    InMemoryJobRepository,
    InMemorySiteStore,
    RecordingJobQueue,
)

NOW = datetime(2026, 5, 1, tzinfo=timezone.utc)
FIRST = Delivery(1, 5)
LAST = Delivery(5, 5)


def spec(name: str = "hpc", **changes) -> SimulatorSpec:
    values = {"name": name, "host": "hpc.example.org", "user": "sim", "host_key": "ssh-ed25519 AAAAC3Nz",
              "private_key_path": "/keys/id", "scheduler": "slurm", "slurm_partition": "batch", **changes}
    return SimulatorSpec(**values)


class World:
    def __init__(self, specs=None, case_changes=None) -> None:
        self.cases = InMemoryCaseRepository()
        self.cases.publish(parse_definition(case_document("mixer", **(case_changes or {}))), "carol", NOW)
        self.jobs = InMemoryJobRepository()
        self.gateway = FakeSimulatorGateway()
        self.queue = RecordingJobQueue()
        self.clock = FakeClock(NOW + timedelta(minutes=1))
        self.sites = InMemorySiteStore()
        changes = JobChanges(self.jobs, self.clock)
        self.governor = Sites(self.sites, self.jobs, changes, self.queue, self.gateway, specs or [spec()], self.clock)
        self.manager = Manager(self.cases, self.jobs, self.gateway, specs or [spec()],
                               AgentOptions("https://simgate.example.org/api"), changes,
                               self.clock, self.queue, self.governor, max_deliveries=FIRST.max_count,
                               waiting=WaitPolicy(horizon=timedelta(hours=1), max_delay=timedelta(minutes=5)))

    def submitted_job(self, **changes) -> Job:
        job = Job(job_id=new_job_id("alice", NOW), owner="alice", title="Test 1", case_id="mixer", case_version=1,
                  fields={"speed": 42, "label": "it's $(rm -rf /)", "fast": True}, status=JobStatus.SUBMITTED,
                  created=NOW, updated=NOW,
                  history=[Transition(status=JobStatus.SUBMITTED, at=NOW, source="api:alice")], **changes)
        self.jobs.add(job)
        return job

    def job(self, job_id: str) -> Job:
        return self.jobs.get(job_id).item

    def start(self, job_id: str, delivery: Delivery = FIRST, attempt: int = 0) -> str:
        return self.manager.handle(json.dumps({"action": "start", "job_id": job_id, "attempt": attempt}),
                                   delivery.count)

    def scheduled_start(self, job_id: str) -> str:
        """Deliver the start message the manager scheduled last, once its time has come."""
        message = self.queue.sent[-1]
        assert message.action == "start" and message.job_id == job_id
        due = self.queue.not_before[message.message_id]
        self.clock.advance(max(0.0, (due - self.clock.now()).total_seconds()))
        return self.start(job_id, attempt=message.attempt)

    def cancel(self, job_id: str, delivery: Delivery = FIRST) -> str:
        return self.manager.handle(json.dumps({"action": "cancel", "job_id": job_id}), delivery.count)


def test_start_sends_the_rendered_bundle_in_one_call_and_records_queued():
    world = World()
    job = world.submitted_job()
    assert world.start(job.job_id).startswith("queued on hpc (slurm job 1001)")
    stored = world.job(job.job_id)
    assert stored.status == JobStatus.QUEUED and stored.simulator == "hpc" and stored.scheduler_job_id == "1001"
    assert stored.history[-1].source == "manager" and world.gateway.start_calls == [("hpc", job.job_id)]
    bundle = world.gateway.delivered[("hpc", job.job_id)]
    description = bundle.job
    assert stored.agent_token_hash == agent_token_hash(description.token) and len(description.token) >= 40
    assert stored.pending_token_hashes == [] and stored.waiting is None
    assert description.status_url == f"https://simgate.example.org/api/job/{job.job_id}/status"
    assert description.entry_command == ("/bin/sh", "run.sh")
    assert description.outputs == ("results/*.csv",)
    assert description.resources.partition == "batch"  # the simulator's default fills in
    assert bundle.scripts["params.py"].startswith("LABEL = \"it's $(rm -rf /)\"")
    assert json.loads(bundle.to_bytes()) == {"job": description.to_dict(), "scripts": bundle.scripts}


def test_the_same_start_three_times_submits_once():
    world = World()
    job = world.submitted_job()
    outcomes = [world.start(job.job_id) for _ in range(3)]
    assert world.gateway.submit_count == 1
    assert outcomes[1:] == ["nothing to do: the job is queued"] * 2


def test_a_crash_before_the_simulator_answered_resumes_and_submits_once():
    world = World()
    job = world.submitted_job()
    world.gateway.fail("start", KeyboardInterrupt())  # the process dies: nothing is caught
    with pytest.raises(KeyboardInterrupt):
        world.start(job.job_id)
    assert world.job(job.job_id).status == JobStatus.SUBMITTED
    world.start(job.job_id, Delivery(2, 5))
    assert world.gateway.submit_count == 1 and world.job(job.job_id).status == JobStatus.QUEUED


def test_a_crash_after_the_simulator_submitted_finds_the_submission_and_its_token_stays_valid():
    world = World()
    job = world.submitted_job()
    world.gateway.fail("after_start", KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        world.start(job.job_id)
    marker = world.gateway.markers[("hpc", job.job_id)]
    waiting = world.job(job.job_id)
    assert waiting.status == JobStatus.SUBMITTED
    assert waiting.accepts_token_hash(marker.token_hash)  # the job's agent may report already
    assert "found already submitted" in world.start(job.job_id, Delivery(2, 5))
    stored = world.job(job.job_id)
    assert world.gateway.submit_count == 1 and stored.status == JobStatus.QUEUED
    assert stored.agent_token_hash == marker.token_hash  # the token the running job really has
    assert stored.pending_token_hashes == [] and stored.accepts_token_hash(marker.token_hash)


@pytest.mark.parametrize("error, words", [
    (HostKeyMismatch("simulator hpc presented a host key that differs from the pinned one"), "host key"),
    (SimulatorAuthenticationFailed("simulator hpc refused the key for user sim"), "refused the key"),
    (SubmissionRejected("sbatch: error: invalid partition specified: nope"), "invalid partition"),
])
def test_a_permanent_fault_fails_the_job_at_once_without_retry(error, words):
    world = World()
    job = world.submitted_job()
    world.gateway.fail("start", error)
    world.start(job.job_id)  # returns: the message is completed, not retried
    stored = world.job(job.job_id)
    assert stored.status == JobStatus.FAILED and words in stored.error and error.title in stored.error
    assert world.queue.sent == []


def test_an_unreachable_simulator_keeps_the_job_waiting_visibly_with_a_scheduled_retry():
    world = World()
    job = world.submitted_job()
    world.gateway.fail("start", SimulatorUnreachable("simulator hpc at hpc:22 unreachable: refused"))
    outcome = world.start(job.job_id)  # returns: nothing raised, the message is completed
    stored = world.job(job.job_id)
    assert stored.status == JobStatus.SUBMITTED and outcome == stored.detail
    assert stored.waiting.attempts == 1 and stored.waiting.since == world.clock.now()
    assert stored.detail == (f"waiting for simulator hpc: unreachable since 2026-05-01 00:01:00 UTC, "
                             f"next attempt at {stored.waiting.next_attempt_at:%Y-%m-%d %H:%M:%S} UTC")
    (retry,) = world.queue.sent
    assert retry.message_id == f"{job.job_id}:start:1" and retry.attempt == 1
    due = world.queue.not_before[retry.message_id]
    assert due == stored.waiting.next_attempt_at and timedelta(seconds=8) <= due - world.clock.now() <= timedelta(seconds=10)
    assert world.start(job.job_id).startswith("nothing to do: start 0 was superseded")  # a late copy of the first
    assert world.scheduled_start(job.job_id).startswith("queued on hpc")
    queued = world.job(job.job_id)
    assert queued.status == JobStatus.QUEUED and queued.waiting is None and world.gateway.submit_count == 1
    assert queued.detail.startswith("queued on hpc")


def test_retries_back_off_and_a_start_past_the_horizon_fails_with_its_reason():
    world = World()
    job = world.submitted_job()
    world.gateway.fail("start", SchedulerUnavailable("slurmctld is down"), times=100)
    world.start(job.job_id)
    delays = []
    while world.job(job.job_id).status == JobStatus.SUBMITTED:
        before = world.clock.now()
        world.scheduled_start(job.job_id)
        delays.append((world.clock.now() - before).total_seconds())
    assert delays == sorted(delays[:5]) + delays[5:] and max(delays) <= 300 and delays[0] >= 8
    failed = world.job(job.job_id)
    assert failed.status == JobStatus.FAILED and failed.waiting is None
    assert failed.error.startswith("simulator hpc unreachable since 2026-05-01T00:01:00+00:00, longer than the 1 h a")
    assert failed.error.endswith("slurmctld is down")
    assert world.clock.now() - NOW - timedelta(minutes=1) >= timedelta(hours=1)


def test_a_transient_fault_elsewhere_retries_and_the_last_delivery_fails_the_job():
    world = World()
    job = world.submitted_job()
    world.gateway.fail("start", TransientError("the jobs table answered 503"), times=5)
    for count in range(1, 5):
        with pytest.raises(TransientError):
            world.start(job.job_id, Delivery(count, 5))
        assert world.job(job.job_id).status == JobStatus.SUBMITTED
    world.start(job.job_id, LAST)
    stored = world.job(job.job_id)
    assert stored.status == JobStatus.FAILED
    assert stored.error.startswith("gave up after 5 attempts") and "503" in stored.error


def test_a_cancel_while_waiting_for_the_simulator_wins_over_the_next_attempt():
    world = World()
    job = world.submitted_job()
    world.gateway.fail("start", SimulatorUnreachable("down"))
    world.start(job.job_id)
    stored = world.jobs.get(job.job_id)
    world.jobs.update(stored.item.request_cancel("alice", NOW), stored.etag)
    world.scheduled_start(job.job_id)
    assert world.job(job.job_id).status == JobStatus.CANCELLED and world.gateway.submit_count == 0


def test_a_job_whose_scripts_cannot_render_fails_with_the_reason():
    fields = [*case_document()["fields"], {"name": "steps", "type": "integer", "required": True}]
    world = World(case_changes={"fields": fields})
    job = world.submitted_job()
    world.start(job.job_id)
    stored = world.job(job.job_id)
    assert stored.status == JobStatus.FAILED and "required" in stored.error
    assert world.gateway.submit_count == 0


def test_a_cancel_requested_before_the_start_wins():
    world = World()
    job = world.submitted_job()
    from shared.domain.jobs import CancelRequest
    world.jobs.update(world.job(job.job_id).request_cancel("alice", NOW), world.jobs.get(job.job_id).etag)
    world.start(job.job_id)
    stored = world.job(job.job_id)
    assert stored.status == JobStatus.CANCELLED and "cancelled by alice" in stored.detail
    assert world.gateway.submit_count == 0 and isinstance(stored.cancel_requested, CancelRequest)


def test_a_cancel_processed_before_the_start_message_wins():
    world = World()
    job = world.submitted_job()
    world.cancel(job.job_id)
    assert world.job(job.job_id).status == JobStatus.CANCELLED and world.gateway.cancel_calls == []
    assert world.start(job.job_id) == "nothing to do: the job is cancelled"
    assert world.gateway.submit_count == 0


def test_a_cancel_that_reaches_the_simulator_during_a_start_keeps_the_job_from_starting():
    world = World()
    job = world.submitted_job(simulator="hpc")  # a start was under way and chose its simulator
    world.gateway.cancel(spec(), job.job_id)  # the cancel message's remote step
    world.start(job.job_id)
    assert world.job(job.job_id).status == JobStatus.CANCELLED and world.gateway.submit_count == 0


def test_cancel_stops_a_queued_job_on_its_simulator_and_says_who_asked():
    world = World()
    job = world.submitted_job()
    world.start(job.job_id)
    stored = world.jobs.get(job.job_id)
    world.jobs.update(stored.item.request_cancel("alice", NOW), stored.etag)
    world.cancel(job.job_id)
    stored = world.job(job.job_id)
    assert stored.status == JobStatus.CANCELLED and world.gateway.cancel_calls == [("hpc", job.job_id)]
    assert stored.detail == f"cancelled by alice at {NOW.isoformat()}; stopped on hpc"
    assert world.cancel(job.job_id) == "nothing to do: the job is cancelled"  # idempotent


def test_a_cancel_that_cannot_reach_the_simulator_cancels_the_job_on_its_last_delivery():
    world = World()
    job = world.submitted_job()
    world.start(job.job_id)
    world.gateway.fail("cancel", SimulatorUnreachable("no route to host"), times=2)
    with pytest.raises(SimulatorUnreachable):
        world.cancel(job.job_id)
    world.cancel(job.job_id, LAST)
    stored = world.job(job.job_id)
    assert stored.status == JobStatus.CANCELLED and "could not be told" in stored.detail


def test_a_job_cancelled_while_it_was_submitted_is_stopped_again():
    world = World()
    job = world.submitted_job()
    original_update = world.jobs.update

    def cancel_first(job_to_write, etag):
        if job_to_write.status == JobStatus.QUEUED:  # the user's cancel lands just before the record
            current = world.jobs.get(job.job_id)
            cancelled = current.item.move(JobStatus.CANCELLED, at=NOW, source="api:alice")
            original_update(cancelled, current.etag)
            raise StaleWrite("changed")
        return original_update(job_to_write, etag)

    world.jobs.update = cancel_first
    world.start(job.job_id)
    assert world.job(job.job_id).status == JobStatus.CANCELLED
    assert world.gateway.cancel_calls == [("hpc", job.job_id)]


def test_an_agent_that_reports_before_the_manager_records_keeps_its_status():
    world = World()
    job = world.submitted_job()
    original_start = world.gateway.start

    def start_then_agent_reports(simulator, job_id, bundle):
        submission = original_start(simulator, job_id, bundle)
        current = world.jobs.get(job_id)
        world.jobs.update(current.item.move(JobStatus.RUNNING, at=NOW, source="agent"), current.etag)
        return submission

    world.gateway.start = start_then_agent_reports
    world.start(job.job_id)
    stored = world.job(job.job_id)
    assert stored.status == JobStatus.RUNNING and stored.simulator == "hpc" and stored.scheduler_job_id == "1001"


def test_a_job_changed_during_its_start_is_read_again_and_started_once():
    world = World()
    job = world.submitted_job()
    original_update = world.jobs.update
    calls = []

    def rival_first(job_to_write, etag):  # e.g. the reconciler refreshed its waiting detail meanwhile
        calls.append(job_to_write.status)
        if len(calls) == 1:
            raise StaleWrite("another writer wrote first")
        return original_update(job_to_write, etag)

    world.jobs.update = rival_first
    world.start(job.job_id)
    assert world.job(job.job_id).status == JobStatus.QUEUED and world.gateway.submit_count == 1
    assert len(world.gateway.delivered) == 1


def test_a_job_cancelled_during_its_start_is_not_sent():
    world = World()
    job = world.submitted_job()
    original_update = world.jobs.update

    def cancelled_first(job_to_write, etag):
        if job_to_write.pending_token_hashes and not world.job(job.job_id).cancel_requested:
            stored = world.jobs.get(job.job_id)
            original_update(stored.item.request_cancel("alice", NOW), stored.etag)
            raise StaleWrite("cancelled meanwhile")
        return original_update(job_to_write, etag)

    world.jobs.update = cancelled_first
    assert world.start(job.job_id) == "nothing to do: the job is submitted"
    assert world.gateway.start_calls == []


def test_placement_takes_the_offer_that_starts_soonest_and_records_why():
    specs = [spec("a", scheduler="direct", max_parallel_jobs=1), spec("b", scheduler="direct", max_parallel_jobs=2)]
    world = World(specs)
    placed = []
    for _ in range(3):
        job = world.submitted_job()
        world.start(job.job_id)
        placed.append(world.job(job.job_id))
    assert [job.simulator for job in placed] == ["a", "b", "b"]  # a is full after the first: b starts sooner
    assert placed[1].placement.startswith("b: the soonest of 2 available offers (estimated start now)")
    assert all(job.status == JobStatus.QUEUED for job in placed)


def test_an_unreachable_site_is_passed_over_when_another_can_take_the_job():
    specs = [spec("a", scheduler="direct"), spec("b", scheduler="direct")]
    world = World(specs)
    world.gateway.fail("survey:a", SimulatorUnreachable("down"))
    job = world.submitted_job()
    world.start(job.job_id)
    assert world.job(job.job_id).simulator == "b"


def test_a_case_restricted_to_one_site_goes_there_without_asking_anyone():
    world = World([spec("a"), spec("c")], case_changes={"simulators": ["c"]})
    job = world.submitted_job()
    world.start(job.job_id)
    assert world.job(job.job_id).simulator == "c" and world.gateway.surveys == []


def test_a_start_without_room_leaves_the_job_submitted_saying_why_and_sends_nothing():
    world = World([spec("a", scheduler="direct", max_parallel_jobs=1)])
    first, second = world.submitted_job(), world.submitted_job()
    world.start(first.job_id)
    outcome = world.start(second.job_id)
    waiting = world.job(second.job_id)
    assert outcome == waiting.detail == "waiting for a slot on a (1/1 in use, 1st in line)"
    assert waiting.status == JobStatus.SUBMITTED and waiting.simulator == "a" and not waiting.sent
    assert [job_id for _, job_id in world.gateway.start_calls] == [first.job_id]


def test_a_case_no_configured_simulator_may_run_fails_clearly():
    world = World(case_changes={"simulators": ["elsewhere"]})
    job = world.submitted_job()
    world.start(job.job_id)
    stored = world.job(job.job_id)
    assert stored.status == JobStatus.FAILED and "no configured simulator may run case mixer" in stored.error


def test_dead_lettered_messages_settle_their_jobs():
    world = World()
    start = world.submitted_job()
    world.manager.handle_dead_letter(json.dumps({"action": "start", "job_id": start.job_id}),
                                     "MaxDeliveryCountExceeded", "RuntimeError: boom")
    stored = world.job(start.job_id)
    assert stored.status == JobStatus.FAILED and "(MaxDeliveryCountExceeded)" in stored.error
    assert "boom" not in stored.error  # an exception's text is for the log, not for the job's owner

    queued = world.submitted_job()
    world.start(queued.job_id)
    world.manager.handle_dead_letter(json.dumps({"action": "cancel", "job_id": queued.job_id}), None, None)
    assert world.job(queued.job_id).status == JobStatus.CANCELLED


@pytest.mark.parametrize("body", [b"not json", b'{"action": "explode", "job_id": "x"}',
                                  b'{"action": "start", "job_id": "../../etc"}', b"[]"])
def test_messages_that_are_not_for_the_manager_are_dropped(body):
    assert World().manager.handle(body, FIRST.count) == "dropped: not a manager message"


def test_a_message_for_a_deleted_job_is_completed():
    world = World()
    assert world.start(new_job_id("alice", NOW)) == "nothing to do: the job no longer exists"


def test_every_line_the_manager_logs_about_a_job_names_the_job(caplog):
    world = World()
    job = world.submitted_job()
    world.gateway.fail("start", SimulatorUnreachable("down"))
    with caplog.at_level(logging.INFO, logger="simgate.manager"):
        world.start(job.job_id)
        world.scheduled_start(job.job_id)
    assert caplog.records and all(r.job_id == job.job_id for r in caplog.records)
    assert {r.simulator for r in caplog.records if hasattr(r, "simulator")} == {"hpc"}
    assert [r.delivery for r in caplog.records if hasattr(r, "delivery")][:1] == [1]


def test_a_token_that_never_reached_the_simulator_is_forgotten_and_one_that_may_have_is_kept():
    from shared.errors import SimulatorNotReached

    world = World()
    job = world.submitted_job()
    world.gateway.fail("start", SimulatorNotReached("no connection"))
    world.start(job.job_id)
    assert world.job(job.job_id).pending_token_hashes == []
    world.gateway.fail("start", SimulatorUnreachable("connection lost while the command ran"))
    world.scheduled_start(job.job_id)
    (kept,) = world.job(job.job_id).pending_token_hashes  # the agent may hold it: it must be able to report
    world.scheduled_start(job.job_id)
    assert world.job(job.job_id).status == JobStatus.QUEUED and world.job(job.job_id).pending_token_hashes == []
