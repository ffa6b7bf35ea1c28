"""The governor across the whole app on in-memory ports: grants before a start, one release when a job
leaves, the line's order, fair shares, licences, the reconciler's recount and offers."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from shared.api.requests import StatusReport
from shared.auth import Principal
from shared.config import Settings, SimulatorSpec
from shared.domain.cases import parse_definition
from shared.domain.jobs import JobStatus
from shared.errors import (
    ConfigurationError,
    Conflict,
    Forbidden,
    SimulatorUnreachable,
    TransientError,
    ValidationFailed,
)
from shared.services.changes import JobChanges
from shared.services.sites import Sites
from shared.wiring import Adapters, build
from tests.factories import case_document
from tests.fakes import TEST_SETTINGS, fake_app

ALICE = Principal("alice", "Alice")
BOB = Principal("bob", "Bob")
ADMIN = Principal("carol", "Carol", frozenset({"simgate.admin"}), is_admin=True)
NOW = datetime(2026, 5, 1, tzinfo=timezone.utc)
HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDq5oY1Q2TQ0YcXv0l1gRkq7r0bqJXHn7nN8ZVUCMXw5"


def site(name: str, **limits) -> SimulatorSpec:
    return SimulatorSpec(name=name, host="sim.example", user="sim", host_key=HOST_KEY, private_key_path="/keys/id",
                         **limits)


def world_with(*sites: SimulatorSpec, settings: dict | None = None, **case_changes):
    world = fake_app(simulators=list(sites), **(settings or {}))
    world.cases.publish(parse_definition(case_document("mixer", **case_changes)), "carol", NOW)
    return world


def submit(world, principal=ALICE, simulator=None) -> str:
    stored, _ = world.app.jobs.create(principal, "mixer", "Test", {})
    world.clock.advance(0.001)  # distinct times: the line's order is the order of the runs
    world.app.jobs.run(principal, stored.item.job_id, simulator=simulator)
    return stored.item.job_id


def deliver(world) -> None:
    """Hand every queued message to the manager, as the queue would, until none is left."""
    while world.queue.sent:
        message = world.queue.sent.pop(0)
        world.app.manager.handle(message.body(), 1)


def job(world, job_id):
    return world.jobs.get(job_id).item


def end(world, job_id, status="failed"):
    """The job's agent reports its end with the token it was started with."""
    simulator = job(world, job_id).simulator
    token = world.simulators.delivered[(simulator, job_id)].job.token
    reports = world.app.agent_reports
    agent = reports.authenticate(job_id, f"Bearer {token}")
    body = {"status": status, **({"detail": "solver diverged"} if status == "failed" else {"files": []})}
    if status == "done":
        reports.record(agent, StatusReport.model_validate({"status": "running"}).to_report())
        world.clock.advance(90)
    return reports.record(agent, StatusReport.model_validate(body).to_report())


def on_site(world, ids):
    return [i for i in ids if job(world, i).status != JobStatus.SUBMITTED]


def test_starts_beyond_the_slots_wait_in_line_and_say_so():
    world = world_with(site("local", max_parallel_jobs=2))
    ids = [submit(world) for _ in range(5)]
    deliver(world)
    assert on_site(world, ids) == ids[:2]
    assert [job(world, i).detail for i in ids[2:]] == [
        f"waiting for a slot on local (2/2 in use, {place} in line)" for place in ("1st", "2nd", "3rd")]
    assert len(world.simulators.start_calls) == 2  # nothing sent over SSH for the waiting ones


def test_a_release_starts_the_oldest_waiting_job_once():
    world = world_with(site("local", max_parallel_jobs=2))
    ids = [submit(world) for _ in range(4)]
    deliver(world)
    end(world, ids[0])
    (nudge,) = world.queue.sent
    assert nudge.job_id == ids[2] and nudge.message_id != f"{ids[2]}:start"  # not a duplicate of its first start
    deliver(world)
    assert on_site(world, ids) == ids[:3]
    queued = job(world, ids[2]).history[-1]
    assert queued.reason.endswith(", after waiting for a slot on local (2/2 in use, 1st in line)")
    world.app.sites.release(job(world, ids[0]))  # released again (a retried write): nothing more
    assert world.queue.sent == [] and on_site(world, ids) == ids[:3]
    assert len(world.sites.ledger("local").item.grants) == 2


def test_licences_bound_the_runs_of_a_licensed_case():
    world = world_with(site("local", max_parallel_jobs=4, licences={"solver": 2}), licences={"solver": 1})
    ids = [submit(world) for _ in range(4)]
    deliver(world)
    assert on_site(world, ids) == ids[:2]
    assert job(world, ids[2]).detail == "waiting for licence solver (2/2 in use, 1st in line)"


def test_each_user_gets_a_share_from_the_start():
    world = world_with(site("shared", max_parallel_jobs=4, max_jobs_per_user=2))
    alices = [submit(world, ALICE) for _ in range(5)]
    bobs = [submit(world, BOB) for _ in range(5)]
    deliver(world)
    assert on_site(world, alices) == alices[:2] and on_site(world, bobs) == bobs[:2]
    assert "its owner's share of shared (2/2" in job(world, alices[2]).detail


def test_a_newcomer_never_takes_a_slot_promised_to_an_older_waiting_job():
    world = world_with(site("local", max_parallel_jobs=1))
    first, older = submit(world), submit(world)
    deliver(world)
    end(world, first)  # the older one's start is on its way...
    newcomer = submit(world)
    world.app.manager.handle(world.queue.sent.pop().body(), 1)  # ...and the newcomer's start arrives first
    assert job(world, newcomer).status == JobStatus.SUBMITTED
    deliver(world)
    assert job(world, older).status == JobStatus.QUEUED


def test_two_instances_granting_at_once_never_overshoot():
    world = world_with(site("local", max_parallel_jobs=3))
    spec, case = world.app.settings.simulators[0], world.cases.get("mixer")
    other = Sites(world.sites, world.jobs, JobChanges(world.jobs, world.clock), world.queue, world.simulators,
                  [spec], world.clock)  # a second instance on the same storage
    ids = [submit(world) for _ in range(6)]
    save, racing = world.sites.save_ledger, []

    def raced(name, ledger, etag):  # between this instance's read and its write, the other one grants
        if not racing:
            racing.append(True)
            for job_id in reversed(ids):
                other.acquire(spec, job(world, job_id), case)
            racing.clear()
        return save(name, ledger, etag)

    world.sites.save_ledger = raced
    for job_id in ids:
        world.app.sites.acquire(spec, job(world, job_id), case)
    assert len(world.sites.ledger("local").item.grants) == 3


def test_cancelling_a_waiting_job_releases_nothing_it_does_not_hold_and_never_reaches_the_simulator():
    world = world_with(site("local", max_parallel_jobs=1))
    running, waiting = submit(world), submit(world)
    deliver(world)
    world.app.jobs.cancel(ALICE, waiting)
    deliver(world)
    assert job(world, waiting).status == JobStatus.CANCELLED
    assert world.simulators.cancel_calls == []
    assert set(world.sites.ledger("local").item.grants) == {running}
    assert world.sites.line("local")[0].job_id == running


def test_the_recount_releases_what_a_crash_left_held_and_starts_the_next():
    world = world_with(site("local", max_parallel_jobs=1), settings={"RECONCILE_STALE_AFTER_SECONDS": "600"})
    first, second = submit(world), submit(world)
    deliver(world)
    world.app.sites.release = lambda job: None  # the instance dies before it releases
    end(world, first)
    assert world.queue.sent == [] and set(world.sites.ledger("local").item.grants) == {first}
    cycle = world.app.reconciler.run()
    assert cycle.recount.released == 1 and cycle.recount.woken == 1
    deliver(world)
    assert job(world, second).status == JobStatus.QUEUED
    assert set(world.sites.ledger("local").item.grants) == {second}
    assert [e.job_id for e in world.sites.line("local")] == [second]


def test_a_lost_start_is_sent_again_but_a_job_waiting_in_its_line_is_left_to_the_line():
    world = world_with(site("local", max_parallel_jobs=1), settings={"RECONCILE_STALE_AFTER_SECONDS": "60"})
    submit(world), submit(world)
    deliver(world)  # the first runs, the second waits for the slot
    lost = submit(world)
    world.queue.sent.clear()  # its start message never reached the queue
    world.clock.advance(120)
    world.app.reconciler.run()
    assert [(m.action, m.job_id) for m in world.queue.sent] == [("start", lost)]


def test_offers_count_history_and_mark_an_unreachable_site():
    world = world_with(site("a", max_parallel_jobs=2), site("b", scheduler="slurm", max_parallel_jobs=2))
    ids = [submit(world, simulator="a") for _ in range(2)]
    deliver(world)
    for job_id in ids:
        end(world, job_id, "done")
    draft, _ = world.app.jobs.create(ALICE, "mixer", "Next", {})
    world.simulators.fail("survey:b", SimulatorUnreachable("simulator b: connection refused"), times=5)
    _, (a, b) = world.app.jobs.offers(ALICE, draft.item.job_id)
    assert a.available and a.estimated_start == world.clock.now() and a.start_basis == "room now"
    assert a.basis.startswith("median of 2 finished runs")
    assert a.estimated_duration_s == pytest.approx(90, abs=1)
    assert not b.available and "connection refused" in b.reason and b.basis == "no history"


def test_a_slurm_sites_own_estimate_is_used_and_labelled():
    world = world_with(site("hpc", scheduler="slurm"))
    world.simulators.estimates["hpc"] = NOW + timedelta(hours=3)
    draft, _ = world.app.jobs.create(ALICE, "mixer", "Next", {})
    _, (offer,) = world.app.jobs.offers(ALICE, draft.item.job_id)
    assert offer.estimated_start == NOW + timedelta(hours=3) and "sbatch --test-only" in offer.start_basis


def test_a_full_site_estimates_the_start_from_history():
    world = world_with(site("local", max_parallel_jobs=1))
    first = submit(world)
    deliver(world)
    end(world, first, "done")  # 90 s of history
    running = submit(world)
    deliver(world)
    draft, _ = world.app.jobs.create(ALICE, "mixer", "Next", {})
    _, (offer,) = world.app.jobs.offers(ALICE, draft.item.job_id)
    assert offer.estimated_start == job(world, running).updated + timedelta(seconds=90)


def test_choosing_a_site_is_checked():
    world = world_with(site("local"), site("gpu", licences={"solver": 1}), simulators=["local", "gpu"],
                       licences={"solver": 1})
    stored, _ = world.app.jobs.create(ALICE, "mixer", "Test", {})
    for name, words in (("nope", "there is no simulator 'nope'"), ("local", "has no licence solver")):
        with pytest.raises(ValidationFailed) as refused:
            world.app.jobs.run(ALICE, stored.item.job_id, simulator=name)
        assert refused.value.errors[0]["field"] == "simulator" and words in refused.value.errors[0]["message"]
    assert job(world, stored.item.job_id).status == JobStatus.DRAFT and world.sites.line() == []
    world.app.jobs.run(ALICE, stored.item.job_id, simulator="gpu")
    placed = job(world, stored.item.job_id)
    assert placed.simulator == "gpu" and placed.placement == "gpu: chosen by alice"


def test_publishing_a_case_that_needs_a_licence_no_site_has_is_refused():
    world = world_with(site("local", licences={"solver": 1}))
    document = case_document("needy", licences={"solver": 2, "mesher": 1})
    with pytest.raises(ValidationFailed) as refused:
        world.app.cases.publish(ADMIN, document)
    fields = {e["field"] for e in refused.value.errors}
    assert fields == {"licences.solver", "licences.mesher"}


def test_the_admin_view_shows_usage_and_the_line_and_is_for_admins_only():
    world = world_with(site("local", max_parallel_jobs=1, licences={"solver": 1}))
    ids = [submit(world) for _ in range(3)]
    deliver(world)
    (view,) = world.app.sites.overview(ADMIN)
    assert view.running == 1 and view.per_user == {"alice": 1} and view.reachable
    assert [(w.job_id, w.place) for w in view.waiting] == [(ids[1], 1), (ids[2], 2)]
    with pytest.raises(Forbidden):
        world.app.sites.overview(ALICE)


@pytest.mark.parametrize("limits, words", [
    ({"max_parallel_jobs": 0}, "max_parallel_jobs"),
    ({"licences": {"solver": "two"}}, "licences.solver"),
    ({"licences": {"bad name!": 1}}, "licence name"),
    ({"max_jobs_per_user": -1}, "max_jobs_per_user"),
])
def test_a_malformed_limit_names_the_setting(limits, words):
    spec = {**json.loads(site("local").model_dump_json()), **limits}
    with pytest.raises(ConfigurationError) as refused:
        Settings.from_environ({**TEST_SETTINGS, "SIMULATORS": json.dumps([spec])})
    assert "SIMULATORS" in str(refused.value) and words in str(refused.value)


def test_jobs_active_before_sites_had_lines_are_taken_in_once_with_the_grants_they_hold():
    from commands.enlist_active import enlist_active

    world = world_with(site("local", max_parallel_jobs=1))
    running, waiting = submit(world), submit(world)
    deliver(world)
    world.sites.lines.clear()
    world.sites.ledgers.clear()  # as before the upgrade: no lines, no grants
    assert enlist_active(world.app) == 2 and enlist_active(world.app) == 2
    assert {e.job_id for e in world.sites.line("local")} == {running, waiting}
    assert set(world.sites.ledger("local").item.grants) == {running}


def test_the_recount_keeps_what_a_job_read_before_its_placement_still_needs():
    world = world_with(site("local", max_parallel_jobs=2))
    job_id = submit(world)
    unplaced = job(world, job_id)  # read by a cycle just before the manager placed and granted it
    deliver(world)
    recount = world.app.sites.recount({job_id: unplaced}, at="t")
    assert recount.removed == 0 and recount.released == 0
    assert world.sites.ledger("local").item.holds(job_id) and world.sites.line("local")[0].job_id == job_id


def rebuilt(world, *sites: SimulatorSpec, **settings):
    """The app built again on the same storage with other settings, as after a redeployment."""
    environ = {**TEST_SETTINGS, "SIMULATORS": json.dumps([json.loads(s.model_dump_json()) for s in sites]),
               **settings}
    adapters = Adapters(cases=world.cases, jobs=world.jobs, outputs=world.outputs, live=world.live,
                        queue=world.queue, simulators=world.simulators, clock=world.clock, sites=world.sites,
                        sweeps=world.sweeps, notifications=world.notifications, notify_queue=world.notify_queue,
                        webhooks=world.webhooks)
    return build(Settings.from_environ(environ), adapters)


def test_a_job_waiting_on_a_site_no_longer_configured_fails_saying_so():
    world = world_with(site("a", max_parallel_jobs=1))
    _, waiting = submit(world), submit(world)
    deliver(world)
    app = rebuilt(world, site("b"), RECONCILE_STALE_AFTER_SECONDS="60")  # "a" is gone from SIMULATORS
    world.clock.advance(120)
    app.reconciler.run()
    while world.queue.sent:
        app.manager.handle(world.queue.sent.pop(0).body(), 1)
    assert job(world, waiting).status == JobStatus.FAILED and "simulator a" in job(world, waiting).error


def test_a_site_that_lost_the_licence_a_case_needs_fails_its_start_instead_of_waiting_for_ever():
    world = world_with(site("a", licences={"solver": 1}), licences={"solver": 1})
    job_id = submit(world)
    app = rebuilt(world, site("a"))  # the licence was taken out of SIMULATORS after publishing
    app.manager.handle(world.queue.sent.pop(0).body(), 1)
    assert job(world, job_id).status == JobStatus.FAILED and "has no licence solver" in job(world, job_id).error


def test_a_job_cancelled_while_its_grant_is_taken_gives_it_back_at_once():
    world = world_with(site("local", max_parallel_jobs=1))
    job_id = submit(world)
    acquire = world.app.sites.acquire

    def cancelled_meanwhile(spec, current, case):
        granted = acquire(spec, current, case)
        world.app.jobs.cancel(ALICE, job_id)
        world.app.manager.handle(world.queue.sent.pop().body(), 1)  # the cancel, handled by another delivery
        return granted

    world.app.sites.acquire = cancelled_meanwhile
    deliver(world)
    assert job(world, job_id).status == JobStatus.CANCELLED and world.simulators.start_calls == []
    assert world.sites.ledger("local").item.grants == {}


def test_when_a_promised_job_leaves_the_next_one_is_woken():
    world = world_with(site("local", max_parallel_jobs=1))
    first, promised, next_one = submit(world), submit(world), submit(world)
    deliver(world)
    end(world, first)  # the slot is promised to the second; its start is on its way...
    world.queue.sent.clear()
    world.app.jobs.cancel(ALICE, promised)  # ...when it is cancelled: the third must not wait a cycle
    deliver(world)
    assert job(world, promised).status == JobStatus.CANCELLED and job(world, next_one).status == JobStatus.QUEUED


def test_the_recount_runs_even_when_the_repairs_fail():
    world = world_with(site("local", max_parallel_jobs=1), settings={"RECONCILE_STALE_AFTER_SECONDS": "60"})
    first, second = submit(world), submit(world)
    deliver(world)
    world.app.sites.release = lambda job: None  # the instance dies before it releases
    end(world, first)
    find, failures = world.jobs.find, [TransientError("storage answered 503")]

    def flaky_find(job_id):  # the cycle's first read of a job fails
        if failures:
            raise failures.pop()
        return find(job_id)

    world.jobs.find = flaky_find
    world.clock.advance(120)
    with pytest.raises(TransientError):
        world.app.reconciler.run()
    deliver(world)
    assert job(world, second).status == JobStatus.QUEUED


def test_a_case_whose_licences_no_one_site_has_all_of_is_refused():
    world = world_with(site("x", licences={"solver": 1}), site("y", licences={"mesher": 1}))
    with pytest.raises(ValidationFailed):
        world.app.cases.publish(ADMIN, case_document("split", licences={"solver": 1, "mesher": 1}))


def test_a_choice_for_a_job_already_on_its_way_is_a_conflict_unless_it_is_the_same():
    world = world_with(site("a"), site("b"))
    job_id = submit(world, simulator="a")
    world.app.jobs.run(ALICE, job_id, simulator="a")  # a retried request
    with pytest.raises(Conflict):
        world.app.jobs.run(ALICE, job_id, simulator="b")
