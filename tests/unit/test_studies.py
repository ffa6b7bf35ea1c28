"""Sweeps, previews and comparisons as use cases, on in-memory ports."""

from datetime import datetime, timezone

import pytest

from shared.api.models import PreviewAnswer
from shared.auth import Principal
from shared.domain.cases import parse_definition
from shared.domain.jobs import JobStatus
from shared.domain.messages import JobMessage, SweepMessage
from shared.domain.outputs import ReportedFile
from shared.domain.sweeps import SweepPlan
from shared.errors import BadRequest, Conflict, NotFound, ValidationFailed
from shared.services.outputs import sealed_outputs
from shared.services.ports import PageRequest
from shared.services.previews import PREVIEW_JOB_ID
from shared.services.sweeps import RESUME_AFTER, SweepRequest
from tests.factories import case_document
from tests.fakes import fake_app

ALICE = Principal("alice", "Alice")
BOB = Principal("bob", "Bob")
NOW = datetime(2026, 5, 1, tzinfo=timezone.utc)
GRID = {"speed": [10, 20, 30], "fast": [True, False]}


@pytest.fixture
def world():
    world = fake_app()
    world.cases.publish(parse_definition(case_document("mixer")), "carol", NOW)
    world.cases.publish(parse_definition(case_document("other")), "carol", NOW)
    return world


def create(world, caller=ALICE, key=None, run=False, **plan):
    request = SweepRequest(case_id="mixer", title="Speeds", plan=SweepPlan(**{"vary": GRID, **plan}), run=run)
    sweep, replayed = world.app.sweeps.create(caller, request, idempotency_key=key)
    return sweep, sweep.member_ids(), replayed


def starts(world):
    return [m for m in world.queue.sent if isinstance(m, JobMessage)]


def jobs_of(world, sweep_id):
    return [job for job, _ in world.jobs.rows.values() if job.sweep_id == sweep_id]


def test_a_sweep_is_one_draft_job_per_combination_on_one_version(world):
    sweep, job_ids, replayed = create(world, base={"label": "base"})
    assert not replayed and sweep.total == 6 and sweep.materialised and len(job_ids) == 6
    members = sorted(jobs_of(world, sweep.sweep_id), key=lambda j: j.sweep_index)
    assert [j.job_id for j in members] == job_ids
    assert [j.title for j in members[:2]] == ["Speeds · speed=10, fast=true", "Speeds · speed=10, fast=false"]
    assert {j.status for j in members} == {JobStatus.DRAFT} and {j.case_version for j in members} == {1}
    assert members[3].fields == {"speed": 20, "label": "base", "fast": False}
    assert starts(world) == []
    net = world.queue.sent[0]  # should the request die, the manager finishes the sweep a minute later
    assert isinstance(net, SweepMessage) and net.sweep_id == sweep.sweep_id
    assert world.app.manager.handle(net.body(), 1) == "nothing to do: its members are written"


def test_a_bad_value_anywhere_writes_nothing(world):
    with pytest.raises(ValidationFailed) as refused:
        create(world, vary={"speed": [10, 500], "colour": ["red"]})
    assert [e["field"] for e in refused.value.errors] == ["vary.speed[1]", "vary.colour"]
    assert world.jobs.rows == {} and world.sweeps.rows == {}


def test_more_members_than_the_setting_allows_writes_nothing():
    world = fake_app(SWEEP_MAX_MEMBERS="5")
    world.cases.publish(parse_definition(case_document("mixer")), "carol", NOW)
    with pytest.raises(ValidationFailed) as refused:
        create(world)
    assert "6 runs; at most 5" in refused.value.errors[0]["message"]
    assert world.jobs.rows == {} and world.sweeps.rows == {}


def test_a_running_sweep_puts_every_member_in_line_and_queues_its_start(world):
    sweep, job_ids, _ = create(world, run=True)
    members = jobs_of(world, sweep.sweep_id)
    assert {j.status for j in members} == {JobStatus.SUBMITTED}
    assert {e.job_id for e in world.sites.line()} == set(job_ids)
    assert sorted(m.job_id for m in starts(world)) == sorted(job_ids)


def test_the_same_create_with_one_key_is_one_sweep(world):
    first, ids, _ = create(world, key="k1")
    again, ids_again, replayed = create(world, key="k1")
    assert replayed and again.sweep_id == first.sweep_id and ids_again == ids
    assert len(world.sweeps.rows) == 1 and len(jobs_of(world, first.sweep_id)) == 6
    with pytest.raises(ValidationFailed):
        create(world, key="k1", vary={"speed": [1]})


def interrupted(world, key=None, run=False, written=2):
    """A create that stored its sweep and ``written`` members, then died."""
    sweep, ids, _ = create(world, key=key, run=run)
    stored = world.sweeps.find(sweep.sweep_id)
    world.sweeps.update(stored.item.model_copy(update={"materialised": False}), stored.etag)
    for job_id in ids[written:]:
        del world.jobs.rows[job_id]
    world.queue.sent.clear()
    return sweep, ids


def test_a_retried_create_finishes_an_interrupted_one_without_a_duplicate(world):
    sweep, ids = interrupted(world, key="k2", run=True)
    again, ids_again, replayed = create(world, key="k2", run=True)
    assert replayed and again.materialised and ids_again == ids
    assert sorted(j.job_id for j in jobs_of(world, sweep.sweep_id)) == sorted(ids)
    # the new members start, and the ones written before are started again (their start may be lost)
    assert sorted(m.job_id for m in starts(world)) == sorted(ids)


def test_a_read_a_while_later_has_the_manager_finish_an_interrupted_create(world):
    sweep, ids = interrupted(world)
    assert world.app.sweeps.view(ALICE, sweep.sweep_id).state == "creating" and world.queue.sent == []
    world.clock.advance(RESUME_AFTER.total_seconds() + 1)
    assert len(world.app.sweeps.view(ALICE, sweep.sweep_id).members) == 2
    message = world.queue.sent.pop()
    assert isinstance(message, SweepMessage)
    assert world.app.manager.handle(message.body(), 1) == "4 of 6 members written"
    view = world.app.sweeps.view(ALICE, sweep.sweep_id)
    assert view.state == "draft" and [m.job.job_id for m in view.members] == ids
    assert world.app.manager.handle(message.body(), 2) == "nothing to do: its members are written"


def test_a_large_sweep_is_written_by_the_manager_from_the_queue(world):
    sweep, ids, _ = create(world, run=True, vary={"speed": list(range(101))})
    assert not sweep.materialised and world.jobs.rows == {} and len(ids) == 101
    message = world.queue.sent.pop()
    assert world.app.manager.handle(message.body(), 1) == "101 of 101 members written"
    assert sorted(m.job_id for m in starts(world)) == sorted(ids)
    assert world.app.sweeps.view(ALICE, sweep.sweep_id).counts == {"submitted": 101}


def finish(world, job_id, status):
    stored = world.jobs.get(job_id)
    world.jobs.update(stored.item.move(JobStatus.SUBMITTED, at=NOW, source="t").move(status, at=NOW, source="t"),
                      stored.etag)


def test_a_view_counts_members_by_status_and_their_progress(world):
    sweep, ids, _ = create(world)
    finish(world, ids[0], JobStatus.DONE)
    finish(world, ids[1], JobStatus.FAILED)
    stored = world.jobs.get(ids[2])
    world.jobs.update(stored.item.move(JobStatus.SUBMITTED, at=NOW, source="t").move(
        JobStatus.RUNNING, at=NOW, source="t", progress=0.5), stored.etag)
    view = world.app.sweeps.view(ALICE, sweep.sweep_id)
    assert view.counts == {"done": 1, "failed": 1, "running": 1, "draft": 3}
    assert view.progress == pytest.approx(2.5 / 6) and view.state == "active"
    assert view.members[2].values == {"speed": 20, "fast": True}
    with pytest.raises(NotFound):
        world.app.sweeps.view(BOB, sweep.sweep_id)


def test_cancel_reaches_every_member_not_finished(world):
    sweep, ids, _ = create(world)
    finish(world, ids[0], JobStatus.DONE)
    assert world.app.sweeps.cancel(ALICE, sweep.sweep_id) == (5, 1)
    assert world.app.sweeps.view(ALICE, sweep.sweep_id).state == "finished"


def test_retry_relaunches_only_the_failed_members_once(world):
    sweep, ids, _ = create(world)
    finish(world, ids[0], JobStatus.DONE)
    finish(world, ids[1], JobStatus.FAILED)
    finish(world, ids[2], JobStatus.CANCELLED)
    retried = world.app.sweeps.retry(ALICE, sweep.sweep_id)
    assert len(retried) == 1 and retried[0] not in ids
    job = world.jobs.get(retried[0]).item
    assert (job.sweep_index, job.sweep_attempt, job.status) == (1, 1, JobStatus.SUBMITTED)
    assert job.fields == world.jobs.get(ids[1]).item.fields
    assert [m.job_id for m in starts(world)] == retried
    view = world.app.sweeps.view(ALICE, sweep.sweep_id)
    assert view.members[1].job.job_id == retried[0] and view.members[1].attempts == 2
    assert world.app.sweeps.retry(ALICE, sweep.sweep_id) == []  # the failed attempt is no longer current
    listed = world.app.sweeps.jobs(ALICE, sweep.sweep_id, PageRequest(50))
    assert len(listed.items) == 7 and {j.sweep_id for j in listed.items} == {sweep.sweep_id}


def test_a_preview_counts_checks_and_renders_a_sample_without_writing(world):
    plan = SweepPlan(base={"label": "x"}, vary={"speed": [10, 500]})
    preview = world.app.previews.plan(ALICE, "mixer", "Speeds", plan)
    assert preview.runs == 2 and [p.field for p in preview.problems] == ["vary.speed[1]"]
    assert [len(m.problems) for m in preview.members] == [0, 1] and preview.rendered == []
    good = world.app.previews.plan(ALICE, "mixer", "Speeds", SweepPlan(vary={"speed": [10, 20]}))
    assert good.problems == [] and good.runs == 2
    assert good.rendered[0].scripts["run.sh"] == "#!/bin/sh\necho batch 10.0 false 'Speeds · speed=10'\n"
    one = world.app.previews.plan(ALICE, "mixer", "One", SweepPlan(base={"speed": 3}))
    assert one.runs == 1 and one.rendered[0].values == {}
    assert world.jobs.rows == {} and world.sweeps.rows == {} and world.queue.sent == []
    assert PREVIEW_JOB_ID not in good.rendered[0].scripts["run.sh"]


def test_a_jobs_preview_is_byte_for_byte_what_its_start_renders(world):
    sweep, ids, _ = create(world)
    job = world.jobs.get(ids[0]).item
    preview = world.app.previews.job(ALICE, ids[0])
    case = world.cases.get("mixer", 1)
    assert preview.rendered[0].scripts == case.render(job.fields, job_id=job.job_id, job_title=job.title)
    assert preview.rendered[0].job_id == job.job_id and preview.runs == 1


def test_compare_needs_two_to_fifty_of_the_callers_jobs_of_one_case(world):
    sweep, ids, _ = create(world)
    compared = world.app.comparisons.jobs(ALICE, ids[:3])
    assert [(f.name, f.differs) for f in compared.fields] == [("speed", True), ("label", False), ("fast", True)]
    assert world.app.comparisons.sweep(ALICE, sweep.sweep_id).jobs[5].job_id == ids[5]
    with pytest.raises(BadRequest):
        world.app.comparisons.jobs(ALICE, [ids[0], ids[0]])
    with pytest.raises(NotFound):
        world.app.comparisons.jobs(BOB, ids[:2])
    other = world.app.jobs.create(ALICE, "other", "Other", {})[0].item
    with pytest.raises(ValidationFailed):
        world.app.comparisons.jobs(ALICE, [ids[0], other.job_id])


def test_a_sealed_csv_output_keeps_the_summary_of_its_numeric_columns(world):
    data = b"t,temp\n0,10\n1,14\n"
    world.outputs.upload("j1", "results/out.csv", data)
    world.outputs.upload("j1", "log.txt", b"hello")
    outputs = sealed_outputs(world.outputs, "j1", [ReportedFile(name="results/out.csv", size=len(data)),
                                                   ReportedFile(name="log.txt", size=5)])
    by_name = {o.name: o for o in outputs}
    assert by_name["log.txt"].summary is None
    assert by_name["results/out.csv"].summary.columns["temp"].mean == 12


def test_retry_while_a_sweep_is_being_created_is_a_conflict(world):
    sweep, _ = interrupted(world)
    with pytest.raises(Conflict):
        world.app.sweeps.retry(ALICE, sweep.sweep_id)


def test_starts_are_the_manager_messages_of_the_members(world):
    sweep, ids, _ = create(world, run=True)
    first = starts(world)[0]
    assert first == JobMessage.start(world.jobs.get(first.job_id).item)


def test_a_replay_finishes_on_the_sweeps_own_version_even_after_a_republish(world):
    sweep, ids = interrupted(world, key="k3")
    fields = [*case_document()["fields"], {"name": "extra", "type": "integer", "default": 5}]
    world.cases.publish(parse_definition(case_document("mixer", fields=fields)), "carol", NOW)
    again, _, replayed = create(world, key="k3")
    assert replayed and again.sweep_id == sweep.sweep_id
    assert all("extra" not in job.fields and job.case_version == 1 for job in jobs_of(world, sweep.sweep_id))


def test_the_same_key_with_vary_in_another_order_is_another_request(world):
    create(world, key="k4", vary={"speed": [10, 20], "fast": [True, False]})
    with pytest.raises(ValidationFailed):
        create(world, key="k4", vary={"fast": [True, False], "speed": [10, 20]})


def test_a_sweep_being_created_is_not_cancelled_halfway_and_is_nudged_once_a_minute(world):
    sweep, _ = interrupted(world)
    with pytest.raises(Conflict):
        world.app.sweeps.cancel(ALICE, sweep.sweep_id)
    world.clock.advance(RESUME_AFTER.total_seconds() + 1)
    for _ in range(5):
        world.app.sweeps.view(ALICE, sweep.sweep_id)
    assert len([m for m in world.queue.sent if isinstance(m, SweepMessage)]) == 1


def test_a_csv_output_that_cannot_be_summarised_never_stops_the_seal(world):
    broken = b'a,b\n"1,2\n'
    world.outputs.upload("j2", "results/broken.csv", broken)
    outputs = sealed_outputs(world.outputs, "j2", [ReportedFile(name="results/broken.csv", size=len(broken))])
    assert outputs[0].summary.columns == {} and outputs[0].summary.note.startswith("not summarised")


def test_a_preview_answers_for_values_of_any_type(world):
    preview = world.app.previews.plan(ALICE, "mixer", "Odd", SweepPlan(vary={"speed": [{"a": 1}, [1]]}))
    answer = PreviewAnswer.of(preview)
    assert not answer.valid and answer.members[0].values == {"speed": {"a": 1}}
    empty = world.app.previews.plan(ALICE, "mixer", "Empty", SweepPlan(rows=[]))
    assert [p.field for p in empty.problems] == ["table"] and empty.runs == 0


def test_a_draft_sweep_runs_its_drafts_once(world):
    sweep, ids, _ = create(world)
    world.app.jobs.cancel(ALICE, ids[0])
    assert world.app.sweeps.run(ALICE, sweep.sweep_id) == (5, 1)
    assert sorted(m.job_id for m in starts(world)) == sorted(ids[1:])
    assert world.app.sweeps.run(ALICE, sweep.sweep_id) == (0, 6)
    with pytest.raises(ValidationFailed):
        world.app.sweeps.run(ALICE, sweep.sweep_id, simulator="nowhere")
    with pytest.raises(NotFound):
        world.app.sweeps.run(BOB, sweep.sweep_id)
