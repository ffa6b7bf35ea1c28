"""The governor's records against real Azurite Table storage: ledgers written with ETags, lines kept
beside the jobs (never in a listing of jobs), and instances granting at once never past a limit."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.adapters.job_store import TableJobRepository
from shared.adapters.site_store import TableSiteStore
from shared.adapters.system_clock import SystemClock
from shared.config import SimulatorSpec
from shared.domain.cases import PublishedCase, parse_definition
from shared.domain.jobs import Job, JobStatus, Transition, new_job_id
from shared.domain.sites import UNPLACED, DurationHistory, Grant, Ledger, LineEntry
from shared.errors import StaleWrite
from shared.services.changes import JobChanges
from shared.services.sites import Sites
from tests.concurrency import run_together
from tests.factories import case_document
from tests.fakes import FakeSimulatorGateway, RecordingJobQueue

pytestmark = pytest.mark.integration
NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDq5oY1Q2TQ0YcXv0l1gRkq7r0bqJXHn7nN8ZVUCMXw5"


@pytest.fixture
def store(storage, own_table):
    return TableSiteStore(storage, own_table)


@pytest.fixture
def jobs(storage, own_table):
    return TableJobRepository(storage, own_table)


def entry(job_id: str, site: str = "local", **licences) -> LineEntry:
    return LineEntry(site=site, job_id=job_id, owner="alice", licences=licences, since=NOW)


def test_a_ledger_is_replaced_only_while_it_is_unchanged(store):
    assert store.ledger("local") is None
    first = store.save_ledger("local", Ledger().granting(Grant(job_id="j1", owner="alice", since=NOW)), None)
    with pytest.raises(StaleWrite):
        store.save_ledger("local", Ledger(), None)  # created meanwhile by someone else
    second = store.save_ledger("local", first.item.without(["j1"]), first.etag)
    with pytest.raises(StaleWrite):
        store.save_ledger("local", first.item, first.etag)  # changed since it was read
    assert store.ledger("local").item == second.item == Ledger()


def test_lines_are_per_site_and_never_appear_among_the_jobs(store, jobs):
    job = Job(job_id=new_job_id("alice", NOW), owner="alice", title="t", case_id="c", case_version=1, fields={},
              created=NOW, updated=NOW)
    jobs.add(job)
    store.enter(entry(job.job_id, solver=1))
    store.enter(entry("other", site=UNPLACED))
    store.save_ledger("local", Ledger(), None)
    store.save_history("local", "c", 1, DurationHistory(seconds=[3.0]), None)
    assert store.line("local") == [entry(job.job_id, solver=1)]
    assert {e.job_id for e in store.line()} == {job.job_id, "other"}
    assert [s.job_id for s in jobs.list_jobs(None, 50).items] == [job.job_id]
    store.leave("local", job.job_id)
    store.leave("local", job.job_id)  # not there any more: nothing happens
    assert store.line("local") == [] and store.history("local", "c", 1).item.seconds == [3.0]


def test_instances_granting_at_once_never_grant_past_the_limit(storage, own_table, jobs):
    spec = SimulatorSpec(name="local", host="h", user="u", host_key=HOST_KEY, private_key_path="/k",
                         max_parallel_jobs=3, licences={"solver": 2})
    case = parse_definition(case_document("mixer", licences={"solver": 1}))
    published = PublishedCase(definition=case, version=1, published=NOW, published_by="t", digest=case.digest())
    submitted = []
    for i in range(8):
        at = NOW + timedelta(seconds=i)
        job = Job(job_id=new_job_id("alice", at), owner="alice", title="t", case_id="mixer", case_version=1,
                  fields={}, status=JobStatus.SUBMITTED, created=at, updated=at, simulator="local",
                  history=[Transition(status=JobStatus.SUBMITTED, at=at, source="api:alice")])
        jobs.add(job)
        submitted.append(job)
    clock = SystemClock()

    def instance() -> Sites:  # each with its own clients, as separate hosts would be
        return Sites(TableSiteStore(storage, own_table), jobs, JobChanges(jobs, clock), RecordingJobQueue(),
                     FakeSimulatorGateway(), [spec], clock)

    instances = [instance() for _ in range(4)]
    for job in submitted:  # in line as a run puts them, before any start
        instances[0].enlist(job, published, "local")
    errors = run_together(lambda s: [s.acquire(spec, job, published) for job in reversed(submitted)], instances)
    assert errors == []
    grants = TableSiteStore(storage, own_table).ledger("local").item.grants
    assert len(grants) == 2  # the licence is the tighter limit
    assert set(grants) == {submitted[0].job_id, submitted[1].job_id}  # oldest first
