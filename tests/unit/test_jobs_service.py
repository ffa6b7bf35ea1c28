"""The job use cases with in-memory ports."""

import json
from datetime import datetime, timezone

import pytest

from shared.api import requests
from shared.api.requests import PageQuery
from shared.auth import Principal
from shared.domain.cases import parse_definition
from shared.domain.jobs import JobStatus
from shared.errors import Conflict, Forbidden, NotFound, PreconditionFailed, ValidationFailed
from tests.factories import case_document
from tests.fakes import fake_app

ALICE = Principal("alice", "Alice")
BOB = Principal("bob", "Bob")
ADMIN = Principal("carol", "Carol", frozenset({"simgate.admin"}), is_admin=True)
NOW = datetime(2026, 5, 1, tzinfo=timezone.utc)


@pytest.fixture
def world():
    world = fake_app()
    fields = [*case_document()["fields"], {"name": "steps", "type": "integer", "min": 1, "max": 10}]
    world.cases.publish(parse_definition(case_document("mixer", fields=fields)), "carol", NOW)
    return world


def create(world, principal=ALICE, key=None, **body):
    request = requests.NewJob.model_validate({"case_id": "mixer", "job_title": "Test 1", **body})
    stored, replayed = world.app.jobs.create(principal, request.case_id, request.job_title, request.fields,
                                             owner=request.user, idempotency_key=key)
    return stored.item


def set_fields(world, job_id, values, principal=ALICE, if_match=None):
    return world.app.jobs.set_fields(principal, job_id, requests.FieldsUpdate(fields=values).fields, if_match=if_match)


def run(world, job_id, principal=ALICE):
    return world.app.jobs.run(principal, job_id).item


def stored_job(world, job_id):
    return world.jobs.get(job_id).item


def test_a_new_job_is_a_draft_with_the_case_defaults_and_pins_the_version(world):
    job = create(world)
    assert job.status == JobStatus.DRAFT and job.owner == "alice" and job.case_version == 1
    assert job.fields == {"speed": 10, "label": "batch", "fast": False, "steps": None}
    assert job.history[0].source == "api:alice"
    world.cases.publish(parse_definition(case_document("mixer", title="v2")), "carol", NOW)
    assert stored_job(world, job.job_id).case_version == 1


def test_initial_values_may_come_with_the_create_and_are_checked(world):
    with pytest.raises(ValidationFailed):
        create(world, fields=[{"name": "speed", "value": 2000}])
    assert not world.jobs.rows
    assert create(world, fields={"speed": 20}).fields["speed"] == 20.0


def test_jobs_are_created_for_the_caller_only_unless_admin(world):
    with pytest.raises(Forbidden):
        create(world, user="bob")
    assert create(world, user="alice").owner == "alice"
    assert create(world, principal=ADMIN, user="bob").owner == "bob"


def test_an_unknown_case_is_not_found(world):
    with pytest.raises(NotFound):
        create(world, case_id="nope")
    with pytest.raises(NotFound):
        create(world, case_id="../x")


def test_the_same_idempotency_key_returns_the_same_job_and_refuses_another_request(world):
    first = create(world, key="k-1")
    assert create(world, key="k-1").job_id == first.job_id
    assert len(world.jobs.rows) == 1
    with pytest.raises(ValidationFailed, match="Idempotency-Key"):
        create(world, key="k-1", job_title="Other")
    assert create(world, key="k-2").job_id != first.job_id
    assert create(world, principal=BOB, key="k-1").owner == "bob"  # keys are per user


def test_set_fields_checks_every_value_and_changes_nothing_on_error(world):
    job = create(world)
    with pytest.raises(ValidationFailed) as caught:
        set_fields(world, job.job_id, {"speed": 500, "steps": 2.5, "nope": 1, "label": "ok"})
    assert {(e["field"], e["rule"]) for e in caught.value.errors} == {
        ("speed", "max"), ("steps", "type"), ("nope", "unknown")}
    assert stored_job(world, job.job_id).fields == job.fields
    assert set_fields(world, job.job_id, {"speed": 50}).item.fields["speed"] == 50.0


def test_set_fields_honours_if_match(world):
    job = create(world)
    etag = world.jobs.get(job.job_id).etag
    fresh = set_fields(world, job.job_id, {"speed": 1}, if_match=etag)
    with pytest.raises(PreconditionFailed):
        set_fields(world, job.job_id, {"speed": 2}, if_match=etag)
    assert stored_job(world, job.job_id).fields["speed"] == 1.0
    set_fields(world, job.job_id, {"speed": 3}, if_match=fresh.etag)


def test_run_needs_every_required_value(world):
    job = create(world)
    with pytest.raises(ValidationFailed) as caught:
        run(world, job.job_id)
    assert caught.value.errors[0]["field"] == "steps"
    assert stored_job(world, job.job_id).status == JobStatus.DRAFT and not world.queue.sent


def test_run_submits_once_and_queues_a_start_message_derived_from_the_job(world):
    job = create(world, fields={"steps": 3})
    assert run(world, job.job_id).status == JobStatus.SUBMITTED
    (message,) = world.queue.sent
    assert message.message_id == f"{job.job_id}:start"
    assert json.loads(message.body()) == {"action": "start", "job_id": job.job_id}
    assert message.properties()["case_id"] == "mixer"
    with pytest.raises(Conflict):
        set_fields(world, job.job_id, {"speed": 1})
    # Running again while submitted resends the same message (a crash may have lost it) ...
    assert run(world, job.job_id).status == JobStatus.SUBMITTED
    assert [m.message_id for m in world.queue.sent] == [message.message_id] * 2
    # ... once queued it changes nothing; a finished job cannot run again.
    repo = world.jobs
    stored = repo.get(job.job_id)
    repo.update(stored.item.move(JobStatus.QUEUED, at=NOW, source="manager"), stored.etag)
    assert run(world, job.job_id).status == JobStatus.QUEUED and len(world.queue.sent) == 2
    stored = repo.get(job.job_id)
    repo.update(stored.item.move(JobStatus.FAILED, at=NOW, source="manager", reason="x"), stored.etag)
    with pytest.raises(Conflict):
        run(world, job.job_id)


def test_other_users_jobs_do_not_exist_for_them(world):
    job = create(world)
    service = world.app.jobs
    for action in (lambda: service.get(BOB, job.job_id),
                   lambda: set_fields(world, job.job_id, {"speed": 1}, principal=BOB),
                   lambda: run(world, job.job_id, principal=BOB),
                   lambda: service.cancel(BOB, job.job_id),
                   lambda: service.delete(BOB, job.job_id)):
        with pytest.raises(NotFound):
            action()
    assert service.get(ADMIN, job.job_id).item.job_id == job.job_id
    assert stored_job(world, job.job_id) == job


def test_cancel(world):
    queue, service = world.queue, world.app.jobs
    draft = create(world)
    assert service.cancel(ALICE, draft.job_id).item.status == JobStatus.CANCELLED
    assert not queue.sent
    with pytest.raises(Conflict):
        service.cancel(ALICE, draft.job_id)
    active = create(world, fields={"steps": 1})
    run(world, active.job_id)
    marked = service.cancel(ALICE, active.job_id).item
    assert marked.status == JobStatus.SUBMITTED and marked.cancel_requested.by == "alice"
    assert queue.sent[-1].message_id == f"{active.job_id}:cancel"
    # Running a job that is marked for cancellation does not start it again.
    sent = len(queue.sent)
    run(world, active.job_id)
    assert len(queue.sent) == sent


def test_delete_removes_the_job_and_its_outputs_but_not_an_active_job(world):
    repo, outputs = world.jobs, world.outputs
    job = create(world, key="k")
    outputs.blobs.update({f"{job.job_id}/a.csv": b"1", "other/a.csv": b"2"})
    world.app.jobs.delete(ALICE, job.job_id)
    assert job.job_id not in repo.rows and list(outputs.blobs) == ["other/a.csv"]
    assert create(world, key="k").job_id != job.job_id  # the key is free again
    active = create(world, fields={"steps": 1})
    run(world, active.job_id)
    with pytest.raises(Conflict, match="cancel it"):
        world.app.jobs.delete(ALICE, active.job_id)


def test_list_pages_newest_first_filters_and_is_per_user(world):
    service = world.app.jobs
    created = []
    for i in range(5):
        created.append(create(world, job_title=f"Job {i}"))
        world.clock.advance(1)
    create(world, principal=BOB)
    first = service.list(ALICE, PageQuery(per_page=2).to_page_request())
    assert [s.title for s in first.items] == ["Job 4", "Job 3"]
    third = service.list(ALICE, PageQuery(page=3, per_page=2).to_page_request())
    assert [s.title for s in third.items] == ["Job 0"] and third.continuation is None
    service.cancel(ALICE, created[1].job_id)
    cancelled = service.list(ALICE, PageQuery().to_page_request(), status=JobStatus.CANCELLED)
    assert [s.title for s in cancelled.items] == ["Job 1"]
    with pytest.raises(Forbidden):
        service.list(ALICE, PageQuery().to_page_request(), user="bob")
    assert len(service.list(ADMIN, PageQuery().to_page_request(), user="bob").items) == 1


def test_waiting_for_a_status_returns_when_it_changes(world):
    repo, clock = world.jobs, world.clock
    job = create(world)
    moves = iter([None, JobStatus.SUBMITTED])
    plain_sleep = clock.sleep

    def sleep(seconds):
        plain_sleep(seconds)
        target = next(moves, None)
        if target:
            stored = repo.get(job.job_id)
            repo.update(stored.item.move(target, at=NOW, source="test"), stored.etag)

    clock.sleep = sleep
    result = world.app.jobs.wait_for_status(ALICE, job.job_id, wait=20)
    assert result.item.status == JobStatus.SUBMITTED and clock.monotonic() == 2.0
    unchanged = world.app.jobs.wait_for_status(ALICE, job.job_id, wait=3)
    assert unchanged.item.status == JobStatus.SUBMITTED and clock.monotonic() == 5.0


def test_wait_is_bounded():
    with pytest.raises(Exception):
        requests.StatusQuery(wait=26)


def test_relaunch_makes_a_new_draft_of_the_same_case_version_and_values(world):
    job = create(world, fields={"steps": 3, "speed": 12})
    run(world, job.job_id)
    world.cases.publish(parse_definition(case_document("mixer", title="v2")), "carol", NOW)
    stored = world.jobs.get(job.job_id)
    world.jobs.update(stored.item.move(JobStatus.FAILED, at=NOW, source="manager", reason="x"), stored.etag)
    again = world.app.jobs.relaunch(ALICE, job.job_id).item
    assert (again.status, again.case_version, again.fields, again.title) == (
        JobStatus.DRAFT, 1, job.fields | {"steps": 3, "speed": 12.0}, "Test 1 (2)")
    assert again.job_id != job.job_id and again.owner == "alice"
    assert again.history[0].reason == f"relaunched from job {job.job_id}"
    assert world.app.jobs.relaunch(ALICE, again.job_id).item.title == "Test 1 (3)"
    with pytest.raises(NotFound):
        world.app.jobs.relaunch(BOB, job.job_id)
    by_admin = world.app.jobs.relaunch(ADMIN, job.job_id).item
    assert by_admin.owner == ADMIN.user_id and by_admin.history[0].source == f"api:{ADMIN.user_id}"
    assert by_admin.history[0].reason == f"relaunched from job {job.job_id} of alice"
    assert world.app.jobs.get(ADMIN, by_admin.job_id).item.fields == job.fields | {"steps": 3, "speed": 12.0}
    with pytest.raises(NotFound):  # the admin's draft is the admin's: its original owner does not see it
        world.app.jobs.get(ALICE, by_admin.job_id)
