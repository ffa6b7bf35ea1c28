"""Sweeps and their members against real Azurite Table storage."""

import time
from datetime import datetime, timezone

import pytest

from shared.adapters.job_store import TableJobRepository
from shared.adapters.sweep_store import TableSweepStore
from shared.domain.fields import FieldSpec
from shared.domain.jobs import JobStatus, new_job_id
from shared.domain.sweeps import Sweep, SweepPlan, check_plan, new_sweep_id
from shared.errors import StaleWrite
from shared.services.ports import IdempotencyKeyReused, IdempotencyRecord
from tests.integration.test_job_store import new_job

pytestmark = pytest.mark.integration
NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
FIELDS = [FieldSpec(name="speed", type="integer", min=0, max=100_000, default=1),
          FieldSpec(name="label", type="string", default="x")]


@pytest.fixture
def jobs(storage, own_table):
    return TableJobRepository(storage, own_table)


@pytest.fixture
def sweeps(storage, own_table):
    return TableSweepStore(storage, own_table)


def a_sweep(owner="alice", size=3, at=NOW, **changes) -> Sweep:
    plan = check_plan(FIELDS, SweepPlan(vary={"speed": list(range(size))}), 10_000).plan
    values = dict(sweep_id=new_sweep_id(owner, at), owner=owner, title="Speeds", case_id="smoothie", case_version=1,
                  mode=plan.mode, base=plan.base, vary=plan.vary, total=plan.size, created=at)
    return Sweep(**{**values, **changes})


def members(sweep: Sweep, attempt: int = 0):
    return [sweep.member(FIELDS, index, values, NOW, attempt=attempt)
            for index, values in enumerate(sweep.plan.members())]


def test_a_sweep_reads_back_and_updates_with_its_etag(sweeps):
    sweep = a_sweep()
    stored = sweeps.add(sweep)
    assert sweeps.find(sweep.sweep_id) == stored
    done = sweeps.update(sweep.model_copy(update={"materialised": True}), stored.etag)
    assert sweeps.find(sweep.sweep_id).item.materialised
    with pytest.raises(StaleWrite):
        sweeps.update(sweep, stored.etag)
    assert sweeps.find("sw-nonsense") is None and done.etag != stored.etag


def test_an_idempotency_key_is_stored_with_its_sweep(sweeps):
    record = IdempotencyRecord("a" * 64, "b" * 64)
    sweep = a_sweep()
    sweeps.add(sweep, record)
    with pytest.raises(IdempotencyKeyReused) as caught:
        sweeps.add(a_sweep(), record)
    assert (caught.value.item_id, caught.value.request_hash) == (sweep.sweep_id, record.request_hash)


def test_members_are_written_a_hundred_at_a_time_and_never_twice(jobs, sweeps):
    sweep = a_sweep(size=250)
    sweeps.add(sweep)
    wanted = members(sweep)
    assert jobs.add_many(wanted[:120]) == {job.job_id for job in wanted[:120]}
    # a retried create writes the rest; what exists already is left as it is
    first = jobs.find(wanted[0].job_id)
    jobs.update(first.item.move(JobStatus.CANCELLED, at=NOW, source="t"), first.etag)
    assert jobs.add_many(wanted) == {job.job_id for job in wanted[120:]}
    found = jobs.members(sweep)
    assert [job.job_id for job in found] == [job.job_id for job in wanted]
    assert found[0].status == JobStatus.CANCELLED


def test_the_job_list_filters_a_sweeps_members_in_its_order(jobs, sweeps):
    sweep = a_sweep(size=5)
    sweeps.add(sweep)
    jobs.add_many(members(sweep))
    jobs.add(new_job(job_id=new_job_id("alice", NOW)))  # created in the same millisecond: not a member
    retry = sweep.member(FIELDS, 2, {"speed": 2}, NOW, attempt=1)
    jobs.add_many([retry])
    page = jobs.list_jobs("alice", 4, sweep=sweep)
    assert [j.job_id for j in page.items[:2]] == [sweep.member_id(0), sweep.member_id(1)]
    assert {j.job_id for j in page.items[2:]} == {sweep.member_id(2), retry.job_id}  # a retry beside its member
    rest = jobs.list_jobs("alice", 4, page.continuation, sweep=sweep)
    assert [j.job_id for j in rest.items] == [sweep.member_id(3), sweep.member_id(4)]
    assert {j.sweep_id for j in page.items} == {sweep.sweep_id}
    assert len(jobs.list_jobs("alice", 20).items) == 7


def test_a_users_sweeps_list_newest_first_without_their_jobs(jobs, sweeps):
    older = a_sweep(at=NOW)
    newer = a_sweep(at=NOW.replace(hour=9), case_id="heat-rod")
    for sweep in (older, newer):
        sweeps.add(sweep)
    sweeps.add(a_sweep(owner="bob"))
    jobs.add(new_job())
    assert [s.sweep_id for s in sweeps.list_sweeps("alice", 10).items] == [newer.sweep_id, older.sweep_id]
    assert [s.sweep_id for s in sweeps.list_sweeps("alice", 10, case_id="heat-rod").items] == [newer.sweep_id]
    assert [j.title for j in jobs.list_jobs("alice", 10).items] == ["Test 1"]


def test_a_thousand_members_are_written_in_ten_transactions(jobs, sweeps):
    sweep = a_sweep(size=1000)
    sweeps.add(sweep)
    started = time.monotonic()
    assert len(jobs.add_many(members(sweep))) == 1000
    assert len(jobs.members(sweep)) == 1000
    print(f"1000 members written and read back in {time.monotonic() - started:.2f} s")


def test_many_jobs_of_one_owner_are_read_with_a_query_per_fourteen(jobs, sweeps):
    sweep = a_sweep(size=30)
    jobs.add_many(members(sweep))
    other = new_job(owner="bob")
    jobs.add(other)
    wanted = [*sweep.member_ids()[::-1], other.job_id, new_job_id("carol", NOW), "not-a-job"]
    found = jobs.find_many(wanted)
    assert set(found) == {*sweep.member_ids(), other.job_id}
    assert found[other.job_id].item == other and found[other.job_id].etag == jobs.find(other.job_id).etag


def test_jobs_far_apart_are_read_by_their_keys_once_the_span_between_them_holds_too_many(jobs):
    sweep = a_sweep(size=300)
    jobs.add_many(members(sweep))
    ends = [sweep.member_id(0), sweep.member_id(299)]
    assert set(jobs.find_many(ends)) == set(ends)


def test_a_job_whose_document_spans_many_chunks_is_read_whole(jobs):
    small, large = new_job(), new_job(fields={"speed": 1.0, "label": "x" * 70_000, "fast": False, "note": None})
    jobs.add(small)
    jobs.add(large)
    found = jobs.find_many([small.job_id, large.job_id])
    assert found[large.job_id].item == large and found[small.job_id].item == small


def test_members_with_large_values_are_written_in_transactions_under_the_size_limit(jobs, sweeps):
    sweep = a_sweep(size=100).model_copy(update={"base": {"label": "y" * 60_000}})
    sweeps.add(sweep)
    assert len(jobs.add_many(members(sweep))) == 100
    assert jobs.find(sweep.member_id(99)).item.fields["label"] == "y" * 60_000
