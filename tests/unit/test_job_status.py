"""The job status machine: every pair of statuses, aliases, history."""

import itertools
from datetime import datetime, timedelta, timezone

import pytest

from shared.domain.jobs import Job, JobStatus, decide, new_job_id, parse_status, partition_of
from shared.errors import Conflict, ValidationFailed

S = JobStatus
LINE = [S.DRAFT, S.SUBMITTED, S.QUEUED, S.RUNNING, S.CLEANUP, S.DONE]
NOW = datetime(2026, 5, 1, tzinfo=timezone.utc)


def expected(current: JobStatus, target: JobStatus) -> str:
    """The rules of DESIGN.md, written out independently of the implementation."""
    if current == target:
        return "noop"
    if current in (S.DONE, S.FAILED, S.CANCELLED):
        return "refuse"
    if current == S.DRAFT:
        return "move" if target in (S.SUBMITTED, S.CANCELLED) else "refuse"
    if target in (S.FAILED, S.CANCELLED):
        return "move"
    return "move" if LINE.index(target) > LINE.index(current) else "noop"


@pytest.mark.parametrize("current, target", list(itertools.product(JobStatus, JobStatus)))
def test_every_transition(current, target):
    assert decide(current, target) == expected(current, target)


def test_the_table_has_the_shape_the_design_describes():
    moves = {(c, t) for c, t in itertools.product(JobStatus, JobStatus) if decide(c, t) == "move"}
    assert (S.DRAFT, S.SUBMITTED) in moves and (S.RUNNING, S.CLEANUP) in moves and (S.CLEANUP, S.DONE) in moves
    assert (S.SUBMITTED, S.RUNNING) in moves  # a lost "queued" report does not block the job
    assert not any(c in (S.DONE, S.FAILED, S.CANCELLED) for c, _ in moves)
    assert decide(S.CLEANUP, S.RUNNING) == "noop"  # late arrival
    assert decide(S.DRAFT, S.RUNNING) == "refuse"


@pytest.mark.parametrize("text, status", [
    ("Running", S.RUNNING), ("clean up", S.CLEANUP), ("clean_up", S.CLEANUP), ("done", S.DONE),
    ("queued", S.QUEUED), ("COMPLETED", S.DONE), ("EXECUTING", S.RUNNING), ("ERROR", S.FAILED),
    ("ABORTED", S.CANCELLED), ("canceled", S.CANCELLED), ("PENDING", S.DRAFT),
])
def test_seed_and_uws_spellings(text, status):
    assert parse_status(text) == status


def test_an_unknown_status_is_a_validation_error():
    with pytest.raises(ValidationFailed) as caught:
        parse_status("exploded")
    assert caught.value.errors[0]["field"] == "status"


def job(status=S.DRAFT) -> Job:
    return Job(job_id=new_job_id("alice", NOW), owner="alice", title="Test 1", case_id="smoothie",
               case_version=1, fields={}, status=status, created=NOW, updated=NOW)


def test_a_move_records_history_and_a_noop_returns_the_same_job():
    later = NOW + timedelta(seconds=5)
    moved = job(S.QUEUED).move(S.RUNNING, at=later, source="agent", reason="started")
    assert (moved.status, moved.updated, moved.detail) == (S.RUNNING, later, "started")
    assert moved.history[-1].model_dump() == {"status": S.RUNNING, "at": later, "source": "agent", "reason": "started"}
    assert moved.move(S.QUEUED, at=later, source="manager") is moved


def test_failing_records_the_reason_as_the_error():
    failed = job(S.QUEUED).move(S.FAILED, at=NOW, source="manager", reason="simulator unreachable")
    assert failed.error == "simulator unreachable"


def test_nothing_leaves_a_terminal_status():
    with pytest.raises(Conflict):
        job(S.DONE).move(S.RUNNING, at=NOW, source="agent")


def test_cancelling_a_draft_is_immediate_and_an_active_job_is_marked():
    cancelled = job().request_cancel("alice", NOW)
    assert cancelled.status == S.CANCELLED and cancelled.cancel_requested.by == "alice"
    marked = job(S.RUNNING).request_cancel("alice", NOW)
    assert marked.status == S.RUNNING and marked.cancel_requested.by == "alice"
    assert marked.request_cancel("bob", NOW) is marked
    with pytest.raises(Conflict):
        job(S.FAILED).request_cancel("alice", NOW)


def test_fields_change_only_in_draft():
    assert job().with_fields({"x": 1}, NOW).fields == {"x": 1}
    with pytest.raises(Conflict):
        job(S.SUBMITTED).with_fields({"x": 1}, NOW)


def test_job_ids_locate_their_owner_partition_and_sort_newest_first():
    older, newer = new_job_id("alice", NOW), new_job_id("alice", NOW + timedelta(milliseconds=1))
    assert partition_of(older) == partition_of(newer) != partition_of(new_job_id("bob", NOW))
    assert newer < older
    assert partition_of("../../etc") is None and partition_of(older + "x") is None
