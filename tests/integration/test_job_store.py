"""The job repository against real Azurite Table storage."""

from datetime import datetime, timedelta, timezone

import pytest

from shared.adapters.job_store import IDEMPOTENCY_PREFIX, TableJobRepository
from shared.adapters.system_clock import SystemClock
from shared.domain.jobs import Job, JobStatus, new_job_id, partition_of
from shared.errors import InvalidContinuation, StaleWrite
from shared.services.changes import JobChanges
from shared.services.ports import IdempotencyKeyReused, IdempotencyRecord
from tests.concurrency import run_together

pytestmark = pytest.mark.integration
NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone.utc)


@pytest.fixture
def repository(storage, own_table):
    return TableJobRepository(storage, own_table)


def new_job(owner="alice", at=NOW, **changes) -> Job:
    values = dict(job_id=new_job_id(owner, at), owner=owner, title="Test 1", case_id="smoothie", case_version=2,
                  fields={"speed": 10.0, "label": "x", "fast": False, "note": None}, created=at, updated=at)
    return Job(**{**values, **changes})


def test_a_job_reads_back_exactly(repository):
    job = new_job()
    stored = repository.add(job)
    read = repository.find(job.job_id)
    assert read.item == job and read.etag == stored.etag


def test_unknown_and_malformed_ids_are_not_found(repository):
    assert repository.find(new_job_id("alice", NOW)) is None
    assert repository.find("not-a-job-id") is None


def test_a_stale_etag_is_refused(repository):
    job = new_job()
    first = repository.add(job)
    repository.update(job.with_fields({"speed": 1.0}, NOW), first.etag)
    with pytest.raises(StaleWrite):
        repository.update(job.with_fields({"speed": 2.0}, NOW), first.etag)
    assert repository.find(job.job_id).item.fields["speed"] == 1.0


def test_two_concurrent_writers_lose_no_update(repository):
    job = new_job()
    repository.add(job)
    changes = JobChanges(repository, SystemClock())
    names = [f"field_{i}" for i in range(8)]

    def writer(name):
        changes.apply(job.job_id, lambda current: current.with_fields({name: 1.0}, NOW))

    assert run_together(writer, names) == []
    assert set(names) <= set(repository.find(job.job_id).item.fields)


def test_listing_pages_newest_first_with_filters_and_per_owner(repository):
    created = [new_job(at=NOW + timedelta(seconds=i), title=f"Job {i}",
                       status=JobStatus.DONE if i % 3 == 0 else JobStatus.DRAFT,
                       case_id="heat-rod" if i % 2 else "smoothie") for i in range(12)]
    for job in created:
        repository.add(job)
    repository.add(new_job(owner="bob"))
    # Its idempotency row shares the partition but is not listed as a job.
    repository.add(new_job(at=NOW - timedelta(seconds=1), title="Oldest"), IdempotencyRecord("k" * 64, "r" * 64))

    seen, token, sizes = [], None, []
    while True:
        page = repository.list_jobs("alice", 5, token)
        seen += [s.title for s in page.items]
        sizes.append(len(page.items))
        token = page.continuation
        if token is None:
            break
    assert seen == [f"Job {i}" for i in reversed(range(12))] + ["Oldest"] and sizes == [5, 5, 3]
    done = repository.list_jobs("alice", 2, status=JobStatus.DONE)
    assert [s.title for s in done.items] == ["Job 9", "Job 6"] and done.continuation
    rest = repository.list_jobs("alice", 2, done.continuation, status=JobStatus.DONE)
    assert [s.title for s in rest.items] == ["Job 3", "Job 0"]
    heat_done = repository.list_jobs("alice", 10, status=JobStatus.DONE, case_id="heat-rod")
    assert [s.title for s in heat_done.items] == ["Job 9", "Job 3"]
    assert len(repository.list_jobs("bob", 10).items) == 1


def test_a_page_by_number_is_the_page_the_tokens_lead_to(repository):
    for i in range(23):
        repository.add(new_job(at=NOW + timedelta(seconds=i), title=f"Job {i}"))
    by_token, token = [], None
    for _ in range(4):
        page = repository.list_jobs("alice", 5, token)
        by_token.append([s.title for s in page.items])
        token = page.continuation
    fourth = repository.list_jobs("alice", 5, skip=15)
    assert [s.title for s in fourth.items] == by_token[3] == [f"Job {i}" for i in range(7, 2, -1)]
    last = repository.list_jobs("alice", 5, fourth.continuation)
    assert [s.title for s in last.items] == ["Job 2", "Job 1", "Job 0"] and last.continuation is None
    assert repository.list_jobs("alice", 5, skip=23).items == []


def test_continuation_tokens_only_work_for_the_listing_that_issued_them(repository, storage, own_table):
    for i in range(4):
        repository.add(new_job(at=NOW + timedelta(seconds=i)))
        repository.add(new_job(owner="bob", at=NOW + timedelta(seconds=i)))
    token = repository.list_jobs("alice", 2).continuation
    # another instance of the app (its own tokens object) checks with the same stored key
    assert len(TableJobRepository(storage, own_table).list_jobs("alice", 2, token).items) == 2
    body, _, signature = token.partition(".")
    forged = [token[:-2] + ("AA" if not token.endswith("AA") else "BB"), body, f"{body[:-1]}x.{signature}",
              "not-a-token", "é.é"]
    for bad in forged:
        with pytest.raises(InvalidContinuation):
            repository.list_jobs("alice", 2, bad)
    with pytest.raises(InvalidContinuation):  # bob's listing, or alice's with other filters
        repository.list_jobs("bob", 2, token)
    with pytest.raises(InvalidContinuation):
        repository.list_jobs("alice", 2, token, status=JobStatus.DRAFT)


def test_an_idempotency_key_is_stored_with_its_job_atomically(repository, storage):
    record = IdempotencyRecord("a" * 64, "b" * 64)
    job = new_job(idempotency_key_hash=record.key_hash)
    repository.add(job, record)
    with pytest.raises(IdempotencyKeyReused) as caught:
        repository.add(new_job(idempotency_key_hash=record.key_hash), record)
    assert (caught.value.item_id, caught.value.request_hash) == (job.job_id, record.request_hash)
    assert len(list(repository._table.query_entities(f"PartitionKey eq '{partition_of(job.job_id)}'"))) == 2

    repository.delete(job, repository.find(job.job_id).etag)
    assert list(repository._table.query_entities(f"PartitionKey eq '{partition_of(job.job_id)}'")) == []
    repository.add(new_job(idempotency_key_hash=record.key_hash), record)  # the key is free again


def test_large_field_values_are_split_over_properties(repository):
    job = new_job(fields={f"text_{i}": "é" * 1000 for i in range(100)})
    repository.add(job)
    assert repository.find(job.job_id).item.fields == job.fields
    entity = repository._table.get_entity(partition_of(job.job_id), job.job_id)
    assert entity["job_chunks"] > 1
    assert not entity["RowKey"].startswith(IDEMPOTENCY_PREFIX)
