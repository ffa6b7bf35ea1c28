"""Status webhooks from the agent: its token, the status machine, the upload grant and the manifest."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from shared.api.requests import StatusReport
from shared.auth import Principal
from shared.domain.jobs import Job, JobStatus, Transition, agent_token_hash, new_job_id
from shared.errors import StaleWrite, Unauthorized, ValidationFailed
from tests.fakes import fake_app

NOW = datetime(2026, 5, 1, tzinfo=timezone.utc)
TOKEN = "job-token-0123456789"
ALICE = Principal("alice", "Alice")


@pytest.fixture
def world():
    return fake_app()


def queued_job(jobs, token=TOKEN) -> Job:
    job = Job(job_id=new_job_id("alice", NOW), owner="alice", title="Test 1", case_id="mixer", case_version=1,
              fields={}, status=JobStatus.QUEUED, created=NOW, updated=NOW, simulator="hpc",
              agent_token_hash=agent_token_hash(token),
              history=[Transition(status=JobStatus.QUEUED, at=NOW, source="manager")])
    jobs.add(job)
    return job


def report(world, job_id, token=TOKEN, **body):
    world.clock.current = NOW + timedelta(minutes=1)
    reports = world.app.agent_reports
    agent = reports.authenticate(job_id, f"Bearer {token}" if token else None)  # before the body, as the edge does
    return reports.record(agent, StatusReport.model_validate(body).to_report())


def test_the_seed_spellings_walk_a_job_to_done_with_its_outputs(world):
    jobs, outputs = world.jobs, world.outputs
    job = queued_job(jobs)
    assert report(world, job.job_id, status="Running")[0].status == JobStatus.RUNNING
    files = [{"name": "results/homogeneity.csv", "size": 4}, {"name": "logs/stdout.log", "size": 2}]
    cleaned, grant = report(world, job.job_id, status="clean up", files=files)
    assert cleaned.status == JobStatus.CLEANUP and set(grant) == {"results/homogeneity.csv", "logs/stdout.log"}
    assert all(link.expires_at <= NOW + timedelta(hours=1) for link in grant.values())
    assert all(link.url.startswith(f"memory://staging/{job.job_id}/") for link in grant.values())
    outputs.upload(job.job_id, "results/homogeneity.csv", b"1,2\n")
    outputs.upload(job.job_id, "logs/stdout.log", b"ok")
    manifest = [{**files[0], "md5": hashlib.md5(b"1,2\n").hexdigest()}, {**files[1], "md5": hashlib.md5(b"ok").hexdigest()}]
    done, _ = report(world, job.job_id, status="done", files=manifest)
    assert done.status == JobStatus.DONE and done.progress == 1.0
    listed = world.app.outputs.list(ALICE, job.job_id)
    assert [(o.output_id, o.name, o.content_type) for o in listed] == [
        ("log1", "logs/stdout.log", "text/plain"), ("csv1", "results/homogeneity.csv", "text/csv")]
    link = world.app.outputs.download(ALICE, job.job_id, "csv1")
    assert "rscd=homogeneity.csv" in link.url and link.expires_at == outputs.NOW + timedelta(minutes=15)
    assert link.url.startswith(f"memory://{job.job_id}/results/homogeneity.csv?")  # the sealed copy
    assert outputs.sealed(job.job_id) == {"results/homogeneity.csv": b"1,2\n", "logs/stdout.log": b"ok"}
    assert outputs.staging(job.job_id) == {}  # emptied at done
    outputs.upload(job.job_id, "results/homogeneity.csv", b"evil")  # an old upload link writes after done
    assert outputs.sealed(job.job_id)["results/homogeneity.csv"] == b"1,2\n"


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_no_token_or_a_wrong_one_is_401(world, token):
    job = queued_job(world.jobs)
    with pytest.raises(Unauthorized):
        report(world, job.job_id, token=token, status="running")
    assert world.jobs.get(job.job_id).item.status == JobStatus.QUEUED


def test_another_jobs_token_is_401(world):
    mine = queued_job(world.jobs)
    queued_job(world.jobs, token="the-other-jobs-token")  # a real token, of another job
    with pytest.raises(Unauthorized):
        report(world, mine.job_id, token="the-other-jobs-token", status="running")
    assert world.jobs.get(mine.job_id).item.status == JobStatus.QUEUED


def test_the_token_dies_with_the_job(world):
    job = queued_job(world.jobs)
    report(world, job.job_id, status="failed", detail="the entry script failed", exit_code=2, stderr_tail="boom")
    failed = world.jobs.get(job.job_id).item
    assert failed.error == "the entry script failed; exit code 2; stderr: boom"
    with pytest.raises(Unauthorized):
        report(world, job.job_id, status="running")


def test_an_unknown_status_is_422():
    with pytest.raises(ValidationFailed):
        StatusReport.model_validate({"status": "exploded"})


def test_repeated_and_late_reports_are_no_ops_answered_with_the_current_status(world):
    job = queued_job(world.jobs)
    report(world, job.job_id, status="cleanup", files=[])
    before = world.jobs.get(job.job_id)
    late, grant = report(world, job.job_id, status="running")
    assert late.status == JobStatus.CLEANUP and grant is None and world.jobs.get(job.job_id).etag == before.etag


def test_progress_while_running_is_recorded(world):
    job = queued_job(world.jobs)
    report(world, job.job_id, status="running")
    updated, _ = report(world, job.job_id, status="running", progress=0.4, detail="mixing")
    assert updated.progress == 0.4 and updated.detail == "mixing" and len(updated.history) == 2


def test_a_done_that_claims_an_output_never_uploaded_is_422_and_not_done(world):
    jobs, outputs = world.jobs, world.outputs
    job = queued_job(jobs)
    report(world, job.job_id, status="cleanup", files=[{"name": "a.csv", "size": 3}, {"name": "b.csv", "size": 3}])
    outputs.upload(job.job_id, "a.csv", b"abc")
    outputs.upload(job.job_id, "b.csv", b"ab")
    with pytest.raises(ValidationFailed) as caught:
        report(world, job.job_id, status="done", files=[{"name": "a.csv", "size": 3}, {"name": "b.csv", "size": 3},
                                                        {"name": "c.csv", "size": 1}])
    messages = [e["message"] for e in caught.value.errors]
    assert messages == ["b.csv is 2 bytes in storage, not 3", "c.csv was never uploaded"]
    assert jobs.get(job.job_id).item.status == JobStatus.CLEANUP
    assert outputs.sealed(job.job_id) == {}  # nothing unverified is copied into the outputs
    assert set(outputs.staging(job.job_id)) == {"a.csv", "b.csv"}  # kept: the agent may upload again


def test_an_upload_that_changes_while_it_is_sealed_is_checked_again(world):
    outputs = world.outputs
    job = queued_job(world.jobs)
    report(world, job.job_id, status="cleanup", files=[{"name": "a.csv", "size": 3}])
    outputs.upload(job.job_id, "a.csv", b"abc")
    original, calls = outputs.seal, []

    def rewritten_between_check_and_copy(job_id, files):
        calls.append(1)
        if len(calls) == 1:
            outputs.upload(job_id, "a.csv", b"xyz")
        original(job_id, files)

    outputs.seal = rewritten_between_check_and_copy
    with pytest.raises(ValidationFailed) as caught:
        report(world, job.job_id, status="done", files=[{"name": "a.csv", "size": 3,
                                                         "md5": hashlib.md5(b"abc").hexdigest()}])
    assert caught.value.errors[0]["message"] == "a.csv has another MD5 in storage" and len(calls) == 1
    assert outputs.sealed(job.job_id) == {}


def test_an_upload_rewritten_at_every_attempt_leaves_the_job_in_cleanup_to_try_again(world):
    outputs = world.outputs
    job = queued_job(world.jobs)
    report(world, job.job_id, status="cleanup", files=[{"name": "a.csv", "size": 3}])
    outputs.upload(job.job_id, "a.csv", b"abc")
    original = outputs.seal

    def rewritten_each_time(job_id, files):
        outputs.upload(job_id, "a.csv", b"abc" if outputs.staging(job_id)["a.csv"] == b"xyz" else b"xyz")
        original(job_id, files)

    outputs.seal = rewritten_each_time
    with pytest.raises(StaleWrite):  # a 503: the agent reports done again
        report(world, job.job_id, status="done", files=[{"name": "a.csv", "size": 3}])
    assert world.jobs.get(job.job_id).item.status == JobStatus.CLEANUP and outputs.sealed(job.job_id) == {}


def test_a_done_seals_even_when_its_staging_area_cannot_be_emptied_now(world):
    outputs = world.outputs
    job = queued_job(world.jobs)
    report(world, job.job_id, status="cleanup", files=[{"name": "a.csv", "size": 3}])
    outputs.upload(job.job_id, "a.csv", b"abc")
    outputs.failing.add(job.job_id)
    done, _ = report(world, job.job_id, status="done", files=[{"name": "a.csv", "size": 3}])
    assert done.status == JobStatus.DONE and outputs.sealed(job.job_id) == {"a.csv": b"abc"}
    assert outputs.staging(job.job_id) == {"a.csv": b"abc"}  # left for the reconciler's sweep


@pytest.mark.parametrize("name", ["../other-job/x.csv", "/etc/passwd", "a/../../b", "~/x", "a\\b", "a//b", ""])
def test_output_names_outside_the_job_are_refused(name):
    with pytest.raises(ValidationError):
        StatusReport.model_validate({"status": "cleanup", "files": [{"name": name, "size": 1}]})
