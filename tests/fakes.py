"""In-memory implementations of the ports, for unit tests of the services."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
from datetime import datetime, timedelta, timezone

from shared.config import Settings
from shared.domain import live
from shared.domain.addresses import DeliveryResult, Target, check_addresses
from shared.domain.bundle import JobBundle
from shared.domain.cases import CaseDefinition, CaseHeader, PublishedCase
from shared.domain.jobs import Job, agent_token_hash
from shared.domain.messages import JobMessage
from shared.domain.notifications import Attempt, Delivery, Stream, Subscription
from shared.domain.reconcile import Observation
from shared.domain.sites import DurationHistory, Ledger, LineEntry
from shared.domain.sweeps import Sweep
from shared.errors import InvalidContinuation, NotFound, StaleWrite, TransientError
from shared.services.ports import (
    CancelOutcome,
    CaseRepository,
    Clock,
    Handover,
    IdempotencyKeyReused,
    IdempotencyRecord,
    JobQueue,
    JobRepository,
    Link,
    LiveStore,
    NotificationStore,
    OutputStore,
    Page,
    Publication,
    SimulatorGateway,
    SiteStore,
    StagedFile,
    Stored,
    Submission,
    Survey,
    SweepStore,
    WebhookSender,
)
from shared.wiring import Adapters, App, build

NOW = datetime(2026, 5, 1, tzinfo=timezone.utc)


def encode_continuation(position: dict[str, str]) -> str:
    return "after:" + position["after"]


def decode_continuation(token: str | None) -> dict[str, str] | None:
    if not token:
        return None
    if not token.startswith("after:"):
        raise InvalidContinuation("not a token this fake issued")
    return {"after": token.removeprefix("after:")}


class FakeClock(Clock):
    """Time that moves only when slept through (or moved by the test)."""

    def __init__(self, now: datetime = NOW) -> None:
        self.current = now
        self.elapsed = 0.0
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return self.current

    def monotonic(self) -> float:
        return self.elapsed

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        self.elapsed += seconds
        self.current += timedelta(seconds=seconds)

    def wait_for(self, condition, predicate, seconds: float) -> bool:
        if not predicate():
            self.sleep(seconds)
        return predicate()


class InMemoryCaseRepository(CaseRepository):
    def __init__(self) -> None:
        self.versions: dict[str, list[PublishedCase]] = {}
        self.writes = 0

    def list_headers(self, per_page: int, continuation: str | None = None, skip: int = 0) -> Page[CaseHeader]:
        after = (decode_continuation(continuation) or {}).get("after", "")
        ids = [i for i in sorted(self.versions) if i > after]
        ids = ids[skip:] if continuation is None else ids
        chosen = ids[:per_page]
        more = len(ids) > per_page
        return Page([self.versions[i][-1].header() for i in chosen],
                    encode_continuation({"after": chosen[-1]}) if more else None)

    def latest_version(self, case_id: str) -> int:
        if case_id not in self.versions:
            raise NotFound(f"there is no case '{case_id}'")
        return self.versions[case_id][-1].version

    def get(self, case_id: str, version: int | None = None) -> PublishedCase:
        version = version or self.latest_version(case_id)
        for published in self.versions.get(case_id, []):
            if published.version == version:
                return published
        self.latest_version(case_id)
        raise NotFound(f"case '{case_id}' has no version {version}")

    def publish(self, definition: CaseDefinition, published_by: str, now: datetime) -> Publication:
        history = self.versions.setdefault(definition.id, [])
        if history and history[-1].digest == definition.digest():
            return Publication(history[-1], changed=False)
        published = PublishedCase(definition=definition, version=len(history) + 1, published=now,
                                  published_by=published_by, digest=definition.digest())
        history.append(published)
        self.writes += 1
        return Publication(published, changed=True)


class InMemoryJobRepository(JobRepository):
    """Jobs with ETags that change on every write, like Table storage."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[Job, str]] = {}
        self.idempotency: dict[tuple[str, str], tuple[str, str]] = {}
        self._versions = itertools.count(1)

    def _etag(self) -> str:
        return f'W/"{next(self._versions)}"'

    def add(self, job: Job, idempotency: IdempotencyRecord | None = None) -> Stored[Job]:
        if idempotency:
            found = self.idempotency.get((job.owner, idempotency.key_hash))
            if found:
                raise IdempotencyKeyReused(*found)
            self.idempotency[(job.owner, idempotency.key_hash)] = (job.job_id, idempotency.request_hash)
        etag = self._etag()
        self.rows[job.job_id] = (job, etag)
        return Stored(job, etag)

    def find(self, job_id: str) -> Stored[Job] | None:
        return Stored(*self.rows[job_id]) if job_id in self.rows else None

    def get(self, job_id: str) -> Stored[Job]:
        """For tests: the stored job, which must exist."""
        return Stored(*self.rows[job_id])

    def update(self, job: Job, etag: str) -> Stored[Job]:
        found = self.find(job.job_id)
        if found is None:
            raise NotFound(f"there is no job '{job.job_id}'")
        if found.etag != etag:
            raise StaleWrite("changed")
        etag = self._etag()
        self.rows[job.job_id] = (job, etag)
        return Stored(job, etag)

    def delete(self, job: Job, etag: str) -> None:
        found = self.find(job.job_id)
        if found is None or found.etag != etag:
            raise StaleWrite("changed")
        del self.rows[job.job_id]
        if job.idempotency_key_hash:
            self.idempotency.pop((job.owner, job.idempotency_key_hash), None)

    def list_jobs(self, owner, per_page, continuation=None, *, skip=0, status=None, case_id=None, sweep=None):
        after = (decode_continuation(continuation) or {}).get("after", "")
        jobs = sorted((j for j, _ in self.rows.values() if owner in (None, j.owner) and j.job_id > after
                       and status in (None, j.status) and case_id in (None, j.case_id)
                       and (sweep is None or j.sweep_id == sweep.sweep_id)), key=lambda j: j.job_id)
        jobs = jobs[skip:] if continuation is None else jobs
        chosen = jobs[:per_page]
        more = len(jobs) > per_page
        return Page([j.summary() for j in chosen], encode_continuation({"after": chosen[-1].job_id}) if more else None)


    def add_many(self, jobs):
        written = set()
        for job in jobs:
            if job.job_id not in self.rows:
                self.rows[job.job_id] = (job, self._etag())
                written.add(job.job_id)
        return written

    def members(self, sweep):
        return sorted((j for j, _ in self.rows.values() if j.sweep_id == sweep.sweep_id), key=lambda j: j.job_id)


class InMemorySweepStore(SweepStore):
    def __init__(self) -> None:
        self.rows: dict[str, tuple[Sweep, str]] = {}
        self.idempotency: dict[tuple[str, str], tuple[str, str]] = {}
        self._versions = itertools.count(1)

    def add(self, sweep, idempotency=None):
        if idempotency:
            found = self.idempotency.get((sweep.owner, idempotency.key_hash))
            if found:
                raise IdempotencyKeyReused(*found)
            self.idempotency[(sweep.owner, idempotency.key_hash)] = (sweep.sweep_id, idempotency.request_hash)
        etag = f'W/"s{next(self._versions)}"'
        self.rows[sweep.sweep_id] = (sweep, etag)
        return Stored(sweep, etag)

    def find(self, sweep_id):
        return Stored(*self.rows[sweep_id]) if sweep_id in self.rows else None

    def idempotent(self, owner, key_hash):
        return self.idempotency.get((owner, key_hash))

    def update(self, sweep, etag):
        found = self.find(sweep.sweep_id)
        if found is None:
            raise NotFound(f"there is no sweep '{sweep.sweep_id}'")
        if found.etag != etag:
            raise StaleWrite("changed")
        etag = f'W/"s{next(self._versions)}"'
        self.rows[sweep.sweep_id] = (sweep, etag)
        return Stored(sweep, etag)

    def list_sweeps(self, owner, per_page, continuation=None, *, skip=0, case_id=None):
        after = (decode_continuation(continuation) or {}).get("after", "")
        sweeps = sorted((s for s, _ in self.rows.values() if s.owner == owner and s.sweep_id > after
                         and case_id in (None, s.case_id)), key=lambda s: s.sweep_id)
        sweeps = sweeps[skip:] if continuation is None else sweeps
        chosen = sweeps[:per_page]
        more = len(sweeps) > per_page
        return Page(chosen, encode_continuation({"after": chosen[-1].sweep_id}) if more else None)


class RecordingJobQueue(JobQueue):
    def __init__(self) -> None:
        self.sent: list[JobMessage] = []
        self.not_before: dict[str, datetime | None] = {}  # message id -> when it may be delivered

    def send(self, message: JobMessage, not_before: datetime | None = None) -> None:
        self.sent.append(message)
        self.not_before[message.message_id] = not_before

    def check(self) -> None:
        pass


class InMemoryOutputStore(OutputStore):
    """One container's blobs by name, laid out as the Blob adapter lays them out: uploads under
    ``staging/<job id>/``, sealed outputs under ``<job id>/``. ``upload`` writes as a grant does."""

    NOW = NOW

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.snapshots: dict[tuple[str, str], bytes] = {}  # (blob, snapshot) of outputs sealed by snapshot
        self.failing: set[str] = set()  # jobs whose staging area storage refuses to empty

    def upload(self, job_id: str, name: str, content: bytes) -> None:
        """What an agent (or anyone holding the grant) writes with an upload link."""
        self.blobs[f"staging/{job_id}/{name}"] = content

    def sealed(self, job_id: str) -> dict[str, bytes]:
        return {key.removeprefix(f"{job_id}/"): value for key, value in self.blobs.items()
                if key.startswith(f"{job_id}/")}

    def staging(self, job_id: str) -> dict[str, bytes]:
        return {key.removeprefix(f"staging/{job_id}/"): value for key, value in self.blobs.items()
                if key.startswith(f"staging/{job_id}/")}

    def upload_links(self, job_id, names, ttl):
        return {name: Link(f"memory://staging/{job_id}/{name}?sp=cw", self.NOW + ttl) for name in names}

    def staged(self, job_id, names):
        found = {}
        for name in names:
            content = self.blobs.get(f"staging/{job_id}/{name}")
            if content is not None:
                found[name] = StagedFile(len(content), hashlib.md5(content).hexdigest(), self._version(content))
        return found

    def read(self, job_id, name, snapshot, offset, length):
        content = self.snapshots[(f"{job_id}/{name}", snapshot)] if snapshot else self.blobs[f"{job_id}/{name}"]
        return content[offset:offset + length]

    def seal(self, job_id, files):
        for name, file in files.items():
            content = self.blobs.get(f"staging/{job_id}/{name}")
            if content is None or self._version(content) != file.version:
                raise StaleWrite(f"{name} of job {job_id} changed while it was sealed")
            self.blobs[f"{job_id}/{name}"] = content

    def discard_staging(self, job_id):
        return self._remove(f"staging/{job_id}/", job_id)

    def staged_jobs(self, limit):
        return sorted({key.split("/")[1] for key in self.blobs if key.startswith("staging/")})[:limit]

    def delete_outputs(self, job_id):
        return self._remove(f"staging/{job_id}/", job_id) + self._remove(f"{job_id}/", job_id)

    def download_link(self, job_id, name, snapshot, filename, content_type, ttl):
        query = f"snapshot={snapshot}&" if snapshot else ""
        return Link(f"memory://{job_id}/{name}?{query}sp=r&rscd={filename}", self.NOW + ttl)

    def _remove(self, prefix: str, job_id: str) -> int:
        if job_id in self.failing:
            raise TransientError(f"storage refused to delete the blobs of job {job_id}")
        doomed = [name for name in self.blobs if name.startswith(prefix)]
        for name in doomed:
            del self.blobs[name]
        for key in [k for k in self.snapshots if k[0].startswith(prefix)]:
            del self.snapshots[key]
        return len(doomed)

    @staticmethod
    def _version(content: bytes) -> str:
        return hashlib.sha256(content).hexdigest()


class InMemorySiteStore(SiteStore):
    """Ledgers and histories with ETags (a counter), line entries in a dict per site."""

    def __init__(self) -> None:
        self.ledgers: dict[str, tuple[Ledger, str]] = {}
        self.lines: dict[str, dict[str, LineEntry]] = {}
        self.histories: dict[tuple[str, str, int], tuple[DurationHistory, str]] = {}
        self._etags = itertools.count(1)
        self.ledger_writes = 0

    def ledger(self, site):
        found = self.ledgers.get(site)
        return Stored(*found) if found else None

    def save_ledger(self, site, ledger, etag):
        current = self.ledgers.get(site)
        if (current[1] if current else None) != etag:
            raise StaleWrite(f"the ledger of {site} changed")
        self.ledger_writes += 1
        self.ledgers[site] = (ledger, f"e{next(self._etags)}")
        return Stored(*self.ledgers[site])

    def enter(self, entry):
        self.lines.setdefault(entry.site, {})[entry.job_id] = entry

    def leave(self, site, job_id):
        self.lines.get(site, {}).pop(job_id, None)

    def line(self, site=None):
        if site is not None:
            return list(self.lines.get(site, {}).values())
        return [entry for entries in self.lines.values() for entry in entries.values()]

    def history(self, site, case_id, case_version):
        found = self.histories.get((site, case_id, case_version))
        return Stored(*found) if found else None

    def save_history(self, site, case_id, case_version, history, etag):
        key = (site, case_id, case_version)
        current = self.histories.get(key)
        if (current[1] if current else None) != etag:
            raise StaleWrite("the history changed")
        self.histories[key] = (history, f"e{next(self._etags)}")


class FakeSimulatorGateway(SimulatorGateway):
    """Simulators in memory: the same exactly-once rules as the agent (a marker per job; a cancel
    leaves a mark that a later start honours). ``fail`` makes a method raise, once or always;
    "after_start" fails after the job was submitted (its answer lost)."""

    def __init__(self, loads: dict[str, int] | None = None) -> None:
        self.delivered: dict[tuple[str, str], JobBundle] = {}
        self.markers: dict[tuple[str, str], Submission] = {}
        self.cancel_marks: set[tuple[str, str]] = set()
        self.submit_count = 0
        self.start_calls: list[tuple[str, str]] = []
        self.cancel_calls: list[tuple[str, str]] = []
        self.loads = loads or {}
        self.observations: dict[tuple[str, str], Observation] = {}
        self.observe_calls: list[tuple[str, list[str]]] = []
        self.handed_over: list[tuple[str, dict]] = []
        self.channels: dict[tuple[str, str], live.LiveDelta] = {}  # what a pull finds in a job's directory
        self.pull_calls: list[tuple[str, dict]] = []
        self.estimates: dict[str, datetime] = {}  # a Slurm site's own start estimate
        self.surveys: list[str] = []
        self._failures: dict[str, list[Exception]] = {}

    def fail(self, method: str, error: Exception, times: int = 1) -> None:
        self._failures.setdefault(method, []).extend([error] * times)

    def _maybe_fail(self, method: str) -> None:
        pending = self._failures.get(method)
        if pending:
            raise pending.pop(0)

    def start(self, simulator, job_id, bundle):
        self.start_calls.append((simulator.name, job_id))
        self._maybe_fail("start")
        key = (simulator.name, job_id)
        if key in self.markers:
            return dataclasses.replace(self.markers[key], resumed=True)
        if key in self.cancel_marks:
            return None
        self.delivered[key] = bundle
        self.submit_count += 1
        self.markers[key] = Submission(simulator.scheduler, str(1000 + self.submit_count),
                                       agent_token_hash(bundle.job.token))
        self._maybe_fail("after_start")
        return self.markers[key]

    def cancel(self, simulator, job_id):
        self._maybe_fail("cancel")
        key = (simulator.name, job_id)
        self.cancel_marks.add(key)
        self.cancel_calls.append(key)
        return CancelOutcome(stopped=key in self.markers, state="queued" if key in self.markers else "not delivered")

    def survey(self, simulator, resources):
        self._maybe_fail(f"survey:{simulator.name}")
        self.surveys.append(simulator.name)
        return Survey(load=self.loads.get(simulator.name, 0), estimated_start=self.estimates.get(simulator.name))

    def observe(self, simulator, job_ids):
        self._maybe_fail(f"observe:{simulator.name}")
        self.observe_calls.append((simulator.name, list(job_ids)))
        return {job_id: self.observations[(simulator.name, job_id)] for job_id in job_ids
                if (simulator.name, job_id) in self.observations}

    def pull(self, simulator, requests):
        self._maybe_fail(f"pull:{simulator.name}")
        self.pull_calls.append((simulator.name, dict(requests)))
        return {job_id: self.channels.get((simulator.name, job_id)) for job_id in requests}

    def hand_over(self, simulator, grants):
        self._maybe_fail(f"hand_over:{simulator.name}")
        self.handed_over.append((simulator.name, grants))
        return Handover(started=list(grants), missing=[])


class InMemoryLiveStore(LiveStore):
    """Streams as byte strings per chunk, and live files as (bytes, taken at)."""

    def __init__(self, clock: FakeClock | None = None) -> None:
        self.chunks: dict[tuple[str, str, int], bytes] = {}
        self.files: dict[tuple[str, str], tuple[bytes, datetime]] = {}
        self.clock = clock or FakeClock()
        self.links_given: list[tuple[str, str]] = []
        self.marks: dict[str, datetime] = {}
        self.kept: dict[tuple[str, str], tuple[bytes, datetime]] = {}  # copies kept at a job's end

    def append(self, job_id, stream, offset, data):
        while data:
            index, position = live.chunk_of(offset)
            piece = data[:live.CHUNK_BYTES - position]
            key = (job_id, stream, index)
            if position == 0 and key not in self.chunks:
                self.chunks[key] = b""
                for old in [k for k in self.chunks if k[:2] == key[:2] and k[2] < index - live.WINDOW_CHUNKS]:
                    del self.chunks[old]
            held = self.chunks.get(key)
            if held is None or len(held) < position:
                return self.listing(job_id).extent(stream).end
            piece = piece[len(held) - position:] if len(held) > position else piece
            skipped = len(held) - position
            self.chunks[key] = held + piece
            offset += skipped + len(piece)
            data = data[skipped + len(piece):]
        return offset

    def listing(self, job_id):
        extents, chunks = {}, {}
        for stream in live.STREAMS:
            held = sorted(index for (job, name, index) in self.chunks if job == job_id and name == stream)
            if held:
                end = live.chunk_start(held[-1]) + len(self.chunks[(job_id, stream, held[-1])])
                extents[stream] = live.StreamExtent(live.chunk_start(held[0]), end)
                chunks[stream] = tuple(held)
        files = tuple(live.LiveFile(name=name, size=len(data), taken_at=at, kept=at.isoformat())
                      if (job, name) in self.kept else live.LiveFile(name=name, size=len(data), taken_at=at)
                      for (job, name), (data, at) in sorted({**self.files, **self.kept}.items()) if job == job_id)
        return live.LiveListing(streams=extents, files=files, chunks=chunks)

    def read(self, job_id, stream, offset, max_bytes):
        index, position = live.chunk_of(offset)
        return self.chunks.get((job_id, stream, index), b"")[position:position + max_bytes]

    def take(self, job_id, name, data: bytes) -> None:
        """What an agent's upload through a live file link does."""
        self.files[(job_id, name)] = (data, self.clock.now())

    def file_links(self, job_id, names, ttl):
        self.links_given += [(job_id, name) for name in names]
        return {name: Link(f"https://storage.example.org/live/{job_id}/{name}?sig=w", self.clock.now() + ttl)
                for name in names}

    def file_link(self, job_id, name, kept, filename, content_type, ttl):
        if (job_id, name) not in self.files:
            raise NotFound(f"no live file {name}")
        return Link(f"https://storage.example.org/live/{job_id}/{name}?sig=r&snapshot={kept}", self.clock.now() + ttl)

    def keep_files(self, job_id):
        names = [name for (job, name) in self.files if job == job_id]
        for name in names:
            self.kept[(job_id, name)] = self.files[(job_id, name)]
        return len(names)

    def discard_files(self, job_id):
        gone = [key for key in self.files if key[0] == job_id]
        for key in gone:
            del self.files[key]
            self.kept.pop(key, None)
        return len(gone)

    def mark_followed(self, job_id):
        self.marks[job_id] = self.clock.now()

    def followed(self, since, limit):
        for job_id in [j for j, at in self.marks.items() if at < since]:
            del self.marks[job_id]
        return sorted(self.marks)[:limit]

    def delete(self, job_id):
        gone = [key for key in self.chunks if key[0] == job_id]
        for key in gone:
            del self.chunks[key]
        return len(gone) + self.discard_files(job_id)


TEST_SETTINGS = {
    "SimgateStorage__tableServiceUri": "https://storage.example.org/tables",
    "SimgateStorage__blobServiceUri": "https://storage.example.org/blobs",
    "AGENT_CALLBACK_URL": "https://simgate.example.org/api",
}


class InMemoryNotificationStore(NotificationStore):
    """Subscriptions, streams, events and the delivery log, with ETags like Table storage."""

    def __init__(self) -> None:
        self.subscriptions: dict[str, tuple[Subscription, str]] = {}
        self.streams: dict[tuple[str, str], tuple[Stream, str]] = {}
        self.events: dict[tuple[str, str, int], Delivery] = {}
        self.log: dict[str, list[Attempt]] = {}
        self.marks: dict[str, datetime] = {}
        self._versions = itertools.count(1)

    def _etag(self) -> str:
        return f'W/"n{next(self._versions)}"'

    def add(self, subscription):
        etag = self._etag()
        self.subscriptions[subscription.subscription_id] = (subscription, etag)
        return Stored(subscription, etag)

    def find(self, subscription_id):
        found = self.subscriptions.get(subscription_id)
        return Stored(*found) if found else None

    def update(self, subscription, etag):
        found = self.find(subscription.subscription_id)
        if found is None:
            raise NotFound(f"there is no subscription '{subscription.subscription_id}'")
        if found.etag != etag:
            raise StaleWrite("changed")
        return self.add(subscription)

    def delete(self, subscription_id):
        self.subscriptions.pop(subscription_id, None)
        for table in (self.streams, self.events):
            for key in [k for k in table if k[0] == subscription_id]:
                del table[key]
        self.log.pop(subscription_id, None)

    def of_owner(self, owner):
        return sorted((s for s, _ in self.subscriptions.values() if s.owner == owner),
                      key=lambda s: s.subscription_id)

    def everyone(self):
        return sorted((s for s, _ in self.subscriptions.values()), key=lambda s: s.subscription_id)

    def stream(self, subscription_id, key):
        found = self.streams.get((subscription_id, key))
        return Stored(*found) if found else None

    def _move(self, subscription_id, stream, etag):
        found = self.streams.get((subscription_id, stream.key))
        if (found is None) != (etag is None) or (found is not None and found[1] != etag):
            raise StaleWrite("changed")

    def record(self, subscription_id, stream, etag, deliveries):
        self._move(subscription_id, stream, etag)
        if any((subscription_id, d.stream, d.sequence) in self.events for d in deliveries):
            raise StaleWrite("exists")
        etag = self._etag()
        self.streams[(subscription_id, stream.key)] = (stream, etag)
        for delivery in deliveries:
            self.events[(subscription_id, delivery.stream, delivery.sequence)] = delivery
        return etag

    def delivery(self, subscription_id, stream, sequence):
        return self.events.get((subscription_id, stream, sequence))

    def attempted(self, subscription_id, delivery, attempt, stream=None, etag=None):
        written = None
        if stream is not None:
            self._move(subscription_id, stream, etag)
            written = self._etag()
            self.streams[(subscription_id, stream.key)] = (stream, written)
        self.events[(subscription_id, delivery.stream, delivery.sequence)] = delivery
        self.log.setdefault(subscription_id, []).insert(0, attempt)
        return written

    def attempts(self, subscription_id, limit):
        return self.log.get(subscription_id, [])[:limit]

    def pending_streams(self, subscription_id):
        return [stream for (sub, _), (stream, _) in self.streams.items() if sub == subscription_id and stream.pending]

    def scan_mark(self, owner):
        return self.marks.get(owner)

    def set_scan_mark(self, owner, at):
        self.marks[owner] = at


class FakeWebhookSender(WebhookSender):
    """Records every POST; answers from ``results`` in turn (then 200). ``addresses`` maps host names
    to what they resolve to (a name not in it resolves to a public address)."""

    def __init__(self) -> None:
        self.posts: list[tuple[Target, dict[str, str], bytes]] = []
        self.results: list[DeliveryResult] = []
        self.addresses: dict[str, list[str]] = {}

    def check(self, target):
        return check_addresses(target.host, self.addresses.get(target.host, ["93.184.216.34"]),
                               allow_loopback=True)

    def send(self, target, headers, body):
        self.posts.append((target, headers, body))
        return self.results.pop(0) if self.results else DeliveryResult(status=200, latency_ms=1.0)

    def bodies(self) -> list[dict]:
        return [json.loads(body) for _, _, body in self.posts]


@dataclasses.dataclass
class FakeWorld:
    """An App built from fakes, with the fakes at hand."""

    app: App
    cases: InMemoryCaseRepository
    jobs: InMemoryJobRepository
    outputs: InMemoryOutputStore
    live: InMemoryLiveStore
    queue: RecordingJobQueue
    simulators: FakeSimulatorGateway
    clock: FakeClock
    sites: InMemorySiteStore
    sweeps: InMemorySweepStore
    notifications: InMemoryNotificationStore
    notify_queue: RecordingJobQueue
    webhooks: FakeWebhookSender


def fake_app(simulators: list | None = None, **settings: str) -> FakeWorld:
    """The whole application on in-memory ports, in one call."""
    environ = {**TEST_SETTINGS, **settings}
    if simulators is not None:
        environ["SIMULATORS"] = json.dumps([json.loads(s.model_dump_json()) for s in simulators])
    clock = FakeClock()
    world = dict(cases=InMemoryCaseRepository(), jobs=InMemoryJobRepository(), outputs=InMemoryOutputStore(),
                 live=InMemoryLiveStore(clock), queue=RecordingJobQueue(), simulators=FakeSimulatorGateway(),
                 clock=clock, sites=InMemorySiteStore(), sweeps=InMemorySweepStore(),
                 notifications=InMemoryNotificationStore(), notify_queue=RecordingJobQueue(),
                 webhooks=FakeWebhookSender())
    app = build(Settings.from_environ(environ), Adapters(**world))
    return FakeWorld(app=app, **world)
