"""Upload grants die with their job, against Azurite's tables and blobs with the real services: a
grant used after its job is done, or after it was deleted, still writes (storage cannot revoke a
SAS), but only into the job's staging area, which the reconciler's sweep empties; what users download
of a done job never changes, and a deleted job's storage returns to nothing."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta

import pytest
import requests

from shared.adapters.job_store import TableJobRepository
from shared.adapters.live_store import BlobLiveStore
from shared.adapters.output_store import BlobOutputStore
from shared.adapters.site_store import TableSiteStore
from shared.adapters.system_clock import SystemClock
from shared.auth import Principal
from shared.domain.jobs import Job, JobStatus, Transition, agent_token_hash, new_job_id
from shared.domain.outputs import ReportedFile
from shared.domain.reports import AgentReport
from shared.services.agent_reports import AgentReports
from shared.services.changes import JobChanges
from shared.services.followers import Answers, Signals
from shared.services.jobs import Jobs
from shared.services.outputs import Outputs
from shared.services.reconciler import Reconciler
from shared.services.sites import Sites
from tests.conftest import own_container
from tests.fakes import FakeSimulatorGateway, InMemoryCaseRepository, RecordingJobQueue

pytestmark = pytest.mark.integration

ALICE = Principal("alice", "Alice")
TOKEN = "job-token-0123456789"
FILES = {"results/table.csv": b"label,speed\nmango,42.0\n", "logs/stdout.log": b"mixed\n"}


@pytest.fixture(scope="module")
def container(storage):
    for name in own_container(storage, "grants-"):
        yield storage.container(name)


class App:
    """The services that issue grants, seal outputs, delete jobs and sweep, on Azurite."""

    def __init__(self, storage, table: str, container) -> None:
        clock = SystemClock()
        self.container = container
        self.jobs = TableJobRepository(storage, table)
        self.store = BlobOutputStore(storage, container.container_name)
        changes = JobChanges(self.jobs, clock)
        live = BlobLiveStore(storage, container.container_name)
        self.reports = AgentReports(self.jobs, self.store, changes, clock, live=live)
        signals = Signals(clock)
        sites = Sites(TableSiteStore(storage, table), self.jobs, changes, RecordingJobQueue(), FakeSimulatorGateway(),
                      [], clock)
        self.service = Jobs(InMemoryCaseRepository(), self.jobs, self.store, RecordingJobQueue(), changes, clock,
                            signals=signals, answers=Answers(signals, clock, 0), live=live, sites=sites)
        self.outputs = Outputs(self.service, self.store, live)
        self.reconciler = Reconciler(self.jobs, FakeSimulatorGateway(), [], self.store, RecordingJobQueue(), changes,
                                     clock, sites, stale_after=timedelta(minutes=10))

    def running_job(self) -> Job:
        at = SystemClock().now()
        job = Job(job_id=new_job_id("alice", at), owner="alice", title="grants", case_id="mixer", case_version=1,
                  fields={}, status=JobStatus.RUNNING, created=at, updated=at, simulator="hpc",
                  agent_token_hash=agent_token_hash(TOKEN),
                  history=[Transition(status=JobStatus.RUNNING, at=at, source="agent")])
        self.jobs.add(job)
        return job

    def report(self, job_id: str, status: JobStatus, files: list[dict]):
        agent = self.reports.authenticate(job_id, f"Bearer {TOKEN}")
        return self.reports.record(agent, AgentReport(status=status,
                                                      files=tuple(ReportedFile.model_validate(f) for f in files)))

    def everything_under(self, prefix: str) -> list:
        """Every blob under the prefix, with its snapshots and blobs of uncommitted blocks only."""
        return list(self.container.list_blobs(name_starts_with=prefix, include=["snapshots", "uncommittedblobs"]))

    def bytes_of(self, job_id: str) -> int:
        return sum(b.size or 0 for prefix in (f"{job_id}/", f"staging/{job_id}/") for b in self.everything_under(prefix))


@pytest.fixture
def app(storage, own_table, container):
    return App(storage, own_table, container)


def put(url: str, data: bytes, azurite, **headers) -> int:
    return requests.put(url, data=data, headers={"x-ms-blob-type": "BlockBlob", **headers},
                        verify=str(azurite.ca_bundle), timeout=10).status_code


def upload(url: str, data: bytes, azurite) -> int:
    """As the agent uploads a small file (its MD5 checked by storage and kept as the blob's)."""
    md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
    return put(url, data, azurite, **{"Content-MD5": md5, "x-ms-blob-content-md5": md5})


def stale_writes(grant: dict, azurite) -> None:
    """What anyone holding an old grant can still do to its blobs: write, snapshot, lease, stage blocks."""
    verify = str(azurite.ca_bundle)
    for name, link in grant.items():
        assert put(link.url, b"written with a stale grant " * 1000, azurite) == 201
        assert requests.put(f"{link.url}&comp=snapshot", verify=verify, timeout=10).status_code == 201
    csv = grant["results/table.csv"].url
    leased = requests.put(f"{csv}&comp=lease", headers={"x-ms-lease-action": "acquire", "x-ms-lease-duration": "-1"},
                          verify=verify, timeout=10)
    assert leased.status_code == 201
    block = base64.b64encode(b"block-00").decode()
    assert requests.put(f"{grant['logs/stdout.log'].url}&comp=block&blockid={block}", data=b"y" * 4096,
                        verify=verify, timeout=10).status_code == 201


def downloaded(app: App, job_id: str, azurite) -> dict[str, tuple[bytes, str]]:
    """Each output as a user downloads it, with its MD5."""
    found = {}
    for output in app.outputs.list(ALICE, job_id):
        response = requests.get(app.outputs.download(ALICE, job_id, output.output_id).url,
                                verify=str(azurite.ca_bundle), timeout=10)
        assert response.status_code == 200
        found[output.name] = (response.content, hashlib.md5(response.content).hexdigest())
    return found


def walk_to_done(app: App, azurite) -> tuple[Job, dict]:
    """A job through cleanup (its grant) and the agent's uploads to done; the job and its grant."""
    job = app.running_job()
    _, grant = app.report(job.job_id, JobStatus.CLEANUP, [{"name": n, "size": len(d)} for n, d in FILES.items()])
    for name, data in FILES.items():
        assert upload(grant[name].url, data, azurite) == 201
    manifest = [{"name": n, "size": len(d), "md5": hashlib.md5(d).hexdigest()} for n, d in FILES.items()]
    done, _ = app.report(job.job_id, JobStatus.DONE, manifest)
    assert done.status == JobStatus.DONE
    return done, grant


def test_a_grant_used_after_done_changes_no_download_and_its_writes_are_swept(app, azurite):
    job, grant = walk_to_done(app, azurite)
    expected = {name: (data, hashlib.md5(data).hexdigest()) for name, data in FILES.items()}
    assert downloaded(app, job.job_id, azurite) == expected
    assert app.everything_under(f"staging/{job.job_id}/") == []  # emptied at done
    sealed_bytes = app.bytes_of(job.job_id)
    assert sealed_bytes == sum(len(d) for d in FILES.values())

    stale_writes(grant, azurite)  # the job is done: storage takes the writes all the same (201) ...
    assert app.bytes_of(job.job_id) > sealed_bytes
    assert downloaded(app, job.job_id, azurite) == expected  # ... and users download what was verified

    cycle = app.reconciler.run()
    assert cycle.swept == 1
    assert app.everything_under(f"staging/{job.job_id}/") == []  # snapshots, lease, blocks: all gone
    assert app.bytes_of(job.job_id) == sealed_bytes
    assert sorted(b.name for b in app.everything_under(f"{job.job_id}/")) == sorted(
        f"{job.job_id}/{name}" for name in FILES)
    assert downloaded(app, job.job_id, azurite) == expected
    assert app.reconciler.run().swept == 0


def test_a_grant_used_after_delete_leaves_nothing_once_swept(app, azurite):
    job, grant = walk_to_done(app, azurite)
    app.service.delete(ALICE, job.job_id)
    assert app.jobs.find(job.job_id) is None and app.bytes_of(job.job_id) == 0

    stale_writes(grant, azurite)  # a deleted job's grant writes again: into staging, never its outputs
    assert app.everything_under(f"{job.job_id}/") == []
    assert app.bytes_of(job.job_id) > 0

    assert app.reconciler.run().swept == 1
    assert app.everything_under(f"staging/{job.job_id}/") == app.everything_under(f"{job.job_id}/") == []
    assert app.bytes_of(job.job_id) == 0


def test_uploads_of_a_job_still_delivering_are_left_alone(app, azurite):
    job = app.running_job()
    _, grant = app.report(job.job_id, JobStatus.CLEANUP, [{"name": "results/table.csv", "size": 4}])
    assert upload(grant["results/table.csv"].url, b"1,2\n", azurite) == 201
    assert app.reconciler.run().swept == 0
    assert [b.name for b in app.everything_under(f"staging/{job.job_id}/")] == [
        f"staging/{job.job_id}/results/table.csv"]
    done, _ = app.report(job.job_id, JobStatus.DONE, [{"name": "results/table.csv", "size": 4}])
    assert done.status == JobStatus.DONE and downloaded(app, job.job_id, azurite) == {
        "results/table.csv": (b"1,2\n", hashlib.md5(b"1,2\n").hexdigest())}


def test_a_cancelled_jobs_partial_uploads_are_swept(app, azurite):
    job = app.running_job()
    _, grant = app.report(job.job_id, JobStatus.CLEANUP, [{"name": "results/table.csv", "size": 4}])
    assert upload(grant["results/table.csv"].url, b"1,", azurite) == 201
    app.report(job.job_id, JobStatus.CANCELLED, [])
    assert app.reconciler.run().swept == 1 and app.bytes_of(job.job_id) == 0
