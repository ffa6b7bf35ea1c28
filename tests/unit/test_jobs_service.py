"""The job use cases with in-memory ports."""

from datetime import datetime, timedelta, timezone

import pytest

from shared.auth import Principal
from shared.domain.cases import parse_definition
from shared.domain.jobs import JobStatus
from shared.errors import Conflict, Forbidden, NotFound, PreconditionFailed, ValidationFailed
from shared.services import jobs
from tests.factories import case_document
from tests.fakes import InMemoryCaseRepository, InMemoryJobRepository, InMemoryOutputStore, RecordingJobQueue

ADMIN_ROLE = "simgate.admin"
ALICE = Principal("alice", "Alice")
BOB = Principal("bob", "Bob")
ADMIN = Principal("carol", "Carol", frozenset({ADMIN_ROLE}))
NOW = datetime(2026, 5, 1, tzinfo=timezone.utc)


@pytest.fixture
def ports():
    cases = InMemoryCaseRepository()
    fields = [*case_document()["fields"], {"name": "steps", "type": "integer", "min": 1, "max": 10}]
    cases.publish(parse_definition(case_document("mixer", fields=fields)), "carol", NOW)
    return cases, InMemoryJobRepository(), RecordingJobQueue(), InMemoryOutputStore()


def create(ports, principal=ALICE, key=None, **body):
    cases, repo, _, _ = ports
    request = jobs.NewJob.model_validate({"case_id": "mixer", "job_title": "Test 1", **body})
    stored, replayed = jobs.create_job(cases, repo, principal, ADMIN_ROLE, request, NOW, idempotency_key=key)
    return stored.item


def set_fields(ports, job_id, values, principal=ALICE, if_match=None):
    cases, repo, _, _ = ports
    return jobs.set_fields(cases, repo, principal, ADMIN_ROLE, job_id, jobs.FieldsUpdate(fields=values), NOW,
                           if_match=if_match)


def run(ports, job_id, principal=ALICE):
    cases, repo, queue, _ = ports
    return jobs.run_job(cases, repo, queue, principal, ADMIN_ROLE, job_id, NOW).item


def stored_job(ports, job_id):
    return ports[1].get(job_id).item


def test_a_new_job_is_a_draft_with_the_case_defaults_and_pins_the_version(ports):
    job = create(ports)
    assert job.status == JobStatus.DRAFT and job.owner == "alice" and job.case_version == 1
    assert job.fields == {"speed": 10, "label": "batch", "fast": False, "steps": None}
    assert job.history[0].source == "api:alice"
    ports[0].publish(parse_definition(case_document("mixer", title="v2")), "carol", NOW)
    assert stored_job(ports, job.job_id).case_version == 1


def test_initial_values_may_come_with_the_create_and_are_checked(ports):
    with pytest.raises(ValidationFailed):
        create(ports, fields=[{"name": "speed", "value": 2000}])
    assert not ports[1].rows
    assert create(ports, fields={"speed": 20}).fields["speed"] == 20.0


def test_jobs_are_created_for_the_caller_only_unless_admin(ports):
    with pytest.raises(Forbidden):
        create(ports, user="bob")
    assert create(ports, user="alice").owner == "alice"
    assert create(ports, principal=ADMIN, user="bob").owner == "bob"


def test_an_unknown_case_is_not_found(ports):
    with pytest.raises(NotFound):
        create(ports, case_id="nope")
    with pytest.raises(NotFound):
        create(ports, case_id="../x")


def test_the_same_idempotency_key_returns_the_same_job_and_refuses_another_request(ports):
    first = create(ports, key="k-1")
    assert create(ports, key="k-1").job_id == first.job_id
    assert len(ports[1].rows) == 1
    with pytest.raises(ValidationFailed, match="Idempotency-Key"):
        create(ports, key="k-1", job_title="Other")
    assert create(ports, key="k-2").job_id != first.job_id
    assert create(ports, principal=BOB, key="k-1").owner == "bob"  # keys are per user


def test_set_fields_checks_every_value_and_changes_nothing_on_error(ports):
    job = create(ports)
    with pytest.raises(ValidationFailed) as caught:
        set_fields(ports, job.job_id, {"speed": 500, "steps": 2.5, "nope": 1, "label": "ok"})
    assert {(e["field"], e["rule"]) for e in caught.value.errors} == {
        ("speed", "max"), ("steps", "type"), ("nope", "unknown")}
    assert stored_job(ports, job.job_id).fields == job.fields
    assert set_fields(ports, job.job_id, {"speed": 50}).item.fields["speed"] == 50.0


def test_set_fields_honours_if_match(ports):
    job = create(ports)
    etag = ports[1].get(job.job_id).etag
    fresh = set_fields(ports, job.job_id, {"speed": 1}, if_match=etag)
    with pytest.raises(PreconditionFailed):
        set_fields(ports, job.job_id, {"speed": 2}, if_match=etag)
    assert stored_job(ports, job.job_id).fields["speed"] == 1.0
    set_fields(ports, job.job_id, {"speed": 3}, if_match=fresh.etag)


def test_run_needs_every_required_value(ports):
    job = create(ports)
    with pytest.raises(ValidationFailed) as caught:
        run(ports, job.job_id)
    assert caught.value.errors[0]["field"] == "steps"
    assert stored_job(ports, job.job_id).status == JobStatus.DRAFT and not ports[2].sent


def test_run_submits_once_and_queues_a_start_message_derived_from_the_job(ports):
    job = create(ports, fields={"steps": 3})
    assert run(ports, job.job_id).status == JobStatus.SUBMITTED
    (message,) = ports[2].sent
    assert message.message_id == f"{job.job_id}:start" and message.body == {"action": "start", "job_id": job.job_id}
    assert message.application_properties["case_id"] == "mixer"
    with pytest.raises(Conflict):
        set_fields(ports, job.job_id, {"speed": 1})
    # Running again while submitted resends the same message (a crash may have lost it) ...
    assert run(ports, job.job_id).status == JobStatus.SUBMITTED
    assert [m.message_id for m in ports[2].sent] == [message.message_id] * 2
    # ... once queued it changes nothing; a finished job cannot run again.
    repo = ports[1]
    stored = repo.get(job.job_id)
    repo.update(stored.item.move(JobStatus.QUEUED, at=NOW, source="manager"), stored.etag)
    assert run(ports, job.job_id).status == JobStatus.QUEUED and len(ports[2].sent) == 2
    stored = repo.get(job.job_id)
    repo.update(stored.item.move(JobStatus.FAILED, at=NOW, source="manager", reason="x"), stored.etag)
    with pytest.raises(Conflict):
        run(ports, job.job_id)


def test_other_users_jobs_do_not_exist_for_them(ports):
    job = create(ports)
    cases, repo, queue, outputs = ports
    for action in (lambda: jobs.load_job(repo, BOB, ADMIN_ROLE, job.job_id),
                   lambda: set_fields(ports, job.job_id, {"speed": 1}, principal=BOB),
                   lambda: run(ports, job.job_id, principal=BOB),
                   lambda: jobs.cancel_job(repo, queue, BOB, ADMIN_ROLE, job.job_id, NOW),
                   lambda: jobs.delete_job(repo, outputs, BOB, ADMIN_ROLE, job.job_id)):
        with pytest.raises(NotFound):
            action()
    assert jobs.load_job(repo, ADMIN, ADMIN_ROLE, job.job_id).item.job_id == job.job_id
    assert stored_job(ports, job.job_id) == job


def test_cancel(ports):
    cases, repo, queue, _ = ports
    draft = create(ports)
    assert jobs.cancel_job(repo, queue, ALICE, ADMIN_ROLE, draft.job_id, NOW).item.status == JobStatus.CANCELLED
    assert not queue.sent
    with pytest.raises(Conflict):
        jobs.cancel_job(repo, queue, ALICE, ADMIN_ROLE, draft.job_id, NOW)
    active = create(ports, fields={"steps": 1})
    run(ports, active.job_id)
    marked = jobs.cancel_job(repo, queue, ALICE, ADMIN_ROLE, active.job_id, NOW).item
    assert marked.status == JobStatus.SUBMITTED and marked.cancel_requested.by == "alice"
    assert queue.sent[-1].message_id == f"{active.job_id}:cancel"
    # Running a job that is marked for cancellation does not start it again.
    sent = len(queue.sent)
    run(ports, active.job_id)
    assert len(queue.sent) == sent


def test_delete_removes_the_job_and_its_outputs_but_not_an_active_job(ports):
    cases, repo, queue, outputs = ports
    job = create(ports, key="k")
    outputs.blobs.update({f"{job.job_id}/a.csv": b"1", "other/a.csv": b"2"})
    jobs.delete_job(repo, outputs, ALICE, ADMIN_ROLE, job.job_id)
    assert job.job_id not in repo.rows and list(outputs.blobs) == ["other/a.csv"]
    assert create(ports, key="k").job_id != job.job_id  # the key is free again
    active = create(ports, fields={"steps": 1})
    run(ports, active.job_id)
    with pytest.raises(Conflict, match="cancel it"):
        jobs.delete_job(repo, outputs, ALICE, ADMIN_ROLE, active.job_id)


def test_list_pages_newest_first_filters_and_is_per_user(ports):
    cases, repo, _, _ = ports
    created = []
    for i in range(5):
        request = jobs.NewJob(case_id="mixer", job_title=f"Job {i}")
        created.append(jobs.create_job(cases, repo, ALICE, ADMIN_ROLE, request, NOW + timedelta(seconds=i))[0].item)
    create(ports, principal=BOB)
    first = jobs.list_jobs(repo, ALICE, ADMIN_ROLE, jobs.JobListQuery(per_page=2))
    assert [s.title for s in first.items] == ["Job 4", "Job 3"]
    third = jobs.list_jobs(repo, ALICE, ADMIN_ROLE, jobs.JobListQuery(page=3, per_page=2))
    assert [s.title for s in third.items] == ["Job 0"] and third.continuation is None
    jobs.cancel_job(repo, ports[2], ALICE, ADMIN_ROLE, created[1].job_id, NOW)
    cancelled = jobs.list_jobs(repo, ALICE, ADMIN_ROLE, jobs.JobListQuery(status="cancelled"))
    assert [s.title for s in cancelled.items] == ["Job 1"]
    with pytest.raises(Forbidden):
        jobs.list_jobs(repo, ALICE, ADMIN_ROLE, jobs.JobListQuery(user="bob"))
    assert len(jobs.list_jobs(repo, ADMIN, ADMIN_ROLE, jobs.JobListQuery(user="bob")).items) == 1


def test_waiting_for_a_status_returns_when_it_changes(ports):
    cases, repo, _, _ = ports
    job = create(ports)
    clock = [0.0]
    moves = iter([None, JobStatus.SUBMITTED])

    def sleep(seconds):
        clock[0] += seconds
        target = next(moves)
        if target:
            stored = repo.get(job.job_id)
            repo.update(stored.item.move(target, at=NOW, source="test"), stored.etag)

    query = jobs.StatusQuery(wait=20)
    result = jobs.wait_for_status(repo, ALICE, ADMIN_ROLE, job.job_id, query, sleep=sleep, clock=lambda: clock[0])
    assert result.item.status == JobStatus.SUBMITTED and clock[0] == 2.0
    unchanged = jobs.wait_for_status(repo, ALICE, ADMIN_ROLE, job.job_id, jobs.StatusQuery(wait=3),
                                     sleep=lambda s: clock.__setitem__(0, clock[0] + s), clock=lambda: clock[0])
    assert unchanged.item.status == JobStatus.SUBMITTED and clock[0] == 5.0


def test_wait_is_bounded():
    with pytest.raises(Exception):
        jobs.StatusQuery(wait=26)
