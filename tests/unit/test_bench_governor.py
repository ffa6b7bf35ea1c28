"""The pure helpers of bench/governor.py: overlap counting, when a job was on the simulator, the
finished jobs it writes, and the acquire timer's outcomes."""

from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

from bench.governor import BATCH, OWNERS, Acquires, Burst, batches, epoch, finished_jobs, history_job, most_at_once
from shared.adapters.job_store import _entity, _job
from shared.domain.jobs import JobStatus, partition_of


def test_most_at_once_counts_the_deepest_overlap():
    assert most_at_once([]) == 0
    assert most_at_once([(0, 10), (1, 2), (1.5, 3), (5, 6)]) == 3


def test_an_interval_ending_as_another_begins_does_not_overlap_it():
    assert most_at_once([(0, 1), (1, 2), (2, 3)]) == 1


def test_a_job_is_on_the_simulator_from_queued_or_running_whichever_its_history_shows_first():
    def shown(*moves):
        return {"status": "done", "history": [{"status": s, "at": f"2026-05-01T00:00:0{t}+00:00"} for s, t in moves]}

    burst = Burst([], 0.0, 0, [shown(("submitted", 0), ("queued", 1), ("running", 2), ("done", 5)),
                               shown(("submitted", 0), ("running", 3), ("done", 6)),
                               shown(("submitted", 0), ("failed", 1))])
    base = epoch("2026-05-01T00:00:00+00:00")
    assert [(a - base, b - base) for a, b in burst.on_simulator("queued", "running")] == [(1, 5), (3, 6)]


def test_finished_jobs_are_done_on_local_and_spread_over_owner_partitions():
    by_partition = finished_jobs(OWNERS * 3 + 1)
    jobs = [job for group in by_partition.values() for job in group]
    assert len(jobs) == OWNERS * 3 + 1
    assert len(by_partition) == OWNERS
    assert all(job.status == JobStatus.DONE and job.simulator == "local" for job in jobs)
    assert all(partition_of(job.job_id) == partition for partition, group in by_partition.items() for job in group)


def test_a_finished_job_reads_back_as_the_app_would_have_left_it():
    job = history_job("user-001", 1, datetime(2026, 5, 1, tzinfo=timezone.utc))
    read = _job(_entity(job))
    assert read == job
    assert [t.status.value for t in read.history] == ["submitted", "queued", "running", "cleanup", "done"]


def test_batches_split_each_partition_into_transactions_of_at_most_a_hundred():
    assert [len(group) for group in batches({"a": list(range(2 * BATCH + 50)), "b": [1, 2, 3]})] == [
        BATCH, BATCH, 50, 3]


def test_acquires_are_told_apart_by_what_they_answered():
    acquires = Acquires()
    answers = iter([None, None, "wait", None])
    timed = acquires.wrap(lambda spec, job, case: next(answers))
    for job_id in ("a", "a", "b", "b"):
        timed(None, SimpleNamespace(job_id=job_id), None)
    assert {k: len(v) for k, v in acquires.seconds.items() if v} == {"granted": 2, "again": 1, "waited": 1}
