"""Every port the use cases depend on. Adapters (shared/adapters) implement them for Azure and the
local stack; unit tests implement them with in-memory fakes (tests/fakes.py).

Nothing here imports an SDK: a port speaks simgate's domain types and raises simgate's errors.
"""

from __future__ import annotations

import abc
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from shared.config import SimulatorSpec
from shared.domain.addresses import DeliveryResult, Target
from shared.domain.bundle import JobBundle
from shared.domain.cases import CaseDefinition, CaseHeader, PublishedCase
from shared.domain.jobs import Job, JobStatus, JobSummary
from shared.domain.live import LiveDelta, LiveListing
from shared.domain.messages import QueueMessage
from shared.domain.notifications import Attempt, Delivery, Stream, Subscription
from shared.domain.reconcile import Observation
from shared.domain.sites import DurationHistory, Ledger, LineEntry
from shared.domain.sweeps import Sweep

Item = TypeVar("Item")


# --- time ---


class Clock(abc.ABC):
    """Wall-clock time for records, a monotonic clock for deadlines, and a way to wait."""

    @abc.abstractmethod
    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""

    @abc.abstractmethod
    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards."""

    @abc.abstractmethod
    def sleep(self, seconds: float) -> None: ...

    def wait_for(self, condition: threading.Condition, predicate: Callable[[], bool], seconds: float) -> bool:
        """Wait on ``condition`` (held by the caller) until ``predicate`` holds, at most ``seconds``."""
        return condition.wait_for(predicate, seconds)


# --- lists ---


@dataclass(frozen=True)
class Page(Generic[Item]):
    items: list[Item]
    continuation: str | None  # opaque; pass back to get the next page, None on the last page
    more: bool = False  # a next page exists that no token leads to (a page-numbered search)

    @property
    def has_next(self) -> bool:
        return self.more or self.continuation is not None


@dataclass(frozen=True)
class PageRequest:
    """Which page a list wants: ``per_page`` items after ``continuation``, or (page N without a token)
    after skipping ``skip`` rows."""

    per_page: int
    continuation: str | None = None
    skip: int = 0


# --- cases ---


@dataclass(frozen=True)
class Publication:
    case: PublishedCase
    changed: bool  # False when the definition equals the latest version: nothing was written


class CaseRepository(abc.ABC):
    """Published cases. Versions are immutable once published; the header tracks the latest one."""

    @abc.abstractmethod
    def list_headers(self, per_page: int, continuation: str | None = None, skip: int = 0) -> Page[CaseHeader]:
        """Headers in case id order, exactly ``per_page`` of them unless it is the last page; without a
        token, after the first ``skip`` (read cheaply)."""

    @abc.abstractmethod
    def latest_version(self, case_id: str) -> int:
        """The latest version number; NotFound for an unknown case."""

    @abc.abstractmethod
    def get(self, case_id: str, version: int | None = None) -> PublishedCase:
        """One version (the latest by default) with its scripts; NotFound if there is no such version."""

    @abc.abstractmethod
    def publish(self, definition: CaseDefinition, published_by: str, now: datetime) -> Publication:
        """Publish ``definition`` as a new version unless it equals the latest one."""


# --- jobs ---


@dataclass(frozen=True)
class Stored(Generic[Item]):
    """An item as read from storage, with the ETag a conditional update must match."""

    item: Item
    etag: str


@dataclass(frozen=True)
class IdempotencyRecord:
    key_hash: str  # hash of the client's Idempotency-Key: the key itself is not stored
    request_hash: str  # hash of what was asked for: the same key with another request is refused


class IdempotencyKeyReused(Exception):
    """Create found the key already used; carries what it was used for (the job or sweep made)."""

    def __init__(self, item_id: str, request_hash: str) -> None:
        super().__init__(item_id)
        self.item_id = item_id
        self.request_hash = request_hash


class JobRepository(abc.ABC):
    """Jobs, found by id with a point read and listed per owner, newest first. Writes are
    conditional on the ETag read: a concurrent change makes them raise StaleWrite."""

    @abc.abstractmethod
    def add(self, job: Job, idempotency: IdempotencyRecord | None = None) -> Stored[Job]:
        """Store a new job (and its idempotency record, atomically). IdempotencyKeyReused if the key
        was used before."""

    @abc.abstractmethod
    def find(self, job_id: str) -> Stored[Job] | None:
        """The job, or None when there is no job of that id (or the text is not a job id)."""

    def find_many(self, job_ids: Sequence[str]) -> dict[str, Stored[Job]]:
        """The jobs of these ids that exist, by id (a few reads for many jobs of one owner)."""
        found = {job_id: self.find(job_id) for job_id in dict.fromkeys(job_ids)}
        return {job_id: stored for job_id, stored in found.items() if stored is not None}

    def recent(self, job_id: str) -> Stored[Job] | None:
        """The job as lately known (a repository that remembers may answer without reading); ``find``
        by default. For reads that may be a few seconds old: never the base of a write's decision
        without its ETag."""
        return self.find(job_id)

    @abc.abstractmethod
    def update(self, job: Job, etag: str) -> Stored[Job]:
        """Replace the job if it still has ``etag``; StaleWrite if it changed meanwhile."""

    @abc.abstractmethod
    def delete(self, job: Job, etag: str) -> None:
        """Delete the job (and its idempotency record) if it still has ``etag``; StaleWrite otherwise."""

    @abc.abstractmethod
    def list_jobs(self, owner: str | None, per_page: int, continuation: str | None = None, *, skip: int = 0,
                  status: JobStatus | None = None, case_id: str | None = None,
                  sweep: Sweep | None = None) -> Page[JobSummary]:
        """The owner's jobs newest first (every owner's, owner by owner, for None), exactly ``per_page``
        of them unless it is the last page; without a token, after the first ``skip`` (read cheaply).
        With ``sweep``: only its members (every attempt), in the sweep's order."""

    @abc.abstractmethod
    def add_many(self, jobs: Sequence[Job]) -> set[str]:
        """Store new jobs of one owner, a hundred to a write; a job whose id is already stored is left
        as it is. The ids of the jobs written now."""

    @abc.abstractmethod
    def members(self, sweep: Sweep) -> list[Job]:
        """Every job of the sweep (each attempt of each member), in id order."""

    def any_unfinished(self, sweep: Sweep) -> bool:
        """Whether a job of the sweep has not finished (a query per such status, one row each at most)."""
        return any(self.list_jobs(sweep.owner, 1, status=status, sweep=sweep).items
                   for status in JobStatus if not status.terminal)

    def changed_since(self, owner: str, since: datetime) -> list[JobSummary]:
        """The owner's jobs updated at or after ``since`` (the notifier's catch-up)."""
        found: list[JobSummary] = []
        token: str | None = None
        while True:
            page = self.list_jobs(owner, 100, token)
            found += [job for job in page.items if job.updated >= since]
            token = page.continuation
            if not token:
                return found


class SweepStore(abc.ABC):
    """Sweeps, in their owner's partition of the jobs table: found by id with a point read, listed per
    owner newest first. Writes are conditional on the ETag read."""

    @abc.abstractmethod
    def add(self, sweep: Sweep, idempotency: IdempotencyRecord | None = None) -> Stored[Sweep]:
        """Store a new sweep (and its idempotency record, atomically). IdempotencyKeyReused if the key
        was used before; ValidationFailed if the sweep is too large to store."""

    @abc.abstractmethod
    def find(self, sweep_id: str) -> Stored[Sweep] | None: ...

    @abc.abstractmethod
    def idempotent(self, owner: str, key_hash: str) -> tuple[str, str] | None:
        """(sweep id, request hash) of the owner's sweep made with this Idempotency-Key, if one was."""

    @abc.abstractmethod
    def update(self, sweep: Sweep, etag: str) -> Stored[Sweep]:
        """Replace the sweep if it still has ``etag``; StaleWrite otherwise."""

    @abc.abstractmethod
    def list_sweeps(self, owner: str, per_page: int, continuation: str | None = None, *, skip: int = 0,
                    case_id: str | None = None) -> Page[Sweep]:
        """The owner's sweeps, newest first, paged like jobs."""



class JobQueue(abc.ABC):
    """The manager's queue: Service Bus in Azure, a Storage queue with the same semantics locally."""

    @abc.abstractmethod
    def send(self, message: QueueMessage, not_before: datetime | None = None) -> None:
        """Queue ``message`` (delivered no earlier than ``not_before`` when given); TransientError
        when the queue cannot take it now."""

    @abc.abstractmethod
    def check(self) -> None:
        """Raise a SimgateError when the queue cannot be reached."""


# --- outputs ---


@dataclass(frozen=True)
class Link:
    url: str
    expires_at: datetime


@dataclass(frozen=True)
class StagedFile:
    """An upload as storage holds it in the job's staging area, before it is sealed."""

    size: int
    md5: str | None  # hex, when storage knows it
    version: str  # storage's version of it (its ETag): sealing copies this version or nothing


class OutputStore(abc.ABC):
    """Where a job's outputs live. Agents upload into the job's staging area, the only place an
    upload grant reaches; at done the verified uploads are copied into the job's sealed outputs,
    which no grant can write, and downloads read those. Links are short-lived SAS URLs, made with a
    user delegation key (never an account key), https only."""

    @abc.abstractmethod
    def upload_links(self, job_id: str, names: list[str], ttl: timedelta) -> dict[str, Link]:
        """For each name, a link that can create and write that one blob of the job's staging area (no
        read, list or delete)."""

    @abc.abstractmethod
    def staged(self, job_id: str, names: list[str]) -> dict[str, StagedFile]:
        """What the staging area holds under each name; a name without an upload is absent."""

    @abc.abstractmethod
    def seal(self, job_id: str, files: dict[str, StagedFile]) -> None:
        """Copy exactly these versions of the staged uploads into the job's sealed outputs, each under
        its name; StaleWrite if one changed since it was read (nothing is copied for it then)."""

    @abc.abstractmethod
    def discard_staging(self, job_id: str) -> int:
        """Remove everything in the job's staging area, whatever a grant did there (snapshots,
        leases, blocks never committed); how many uploads were removed."""

    @abc.abstractmethod
    def staged_jobs(self, limit: int) -> list[str]:
        """The ids of the jobs that have anything in the staging area (one listing), at most ``limit``."""

    @abc.abstractmethod
    def delete_outputs(self, job_id: str) -> int:
        """Delete every output of the job, sealed and staged; how many were deleted."""

    @abc.abstractmethod
    def read(self, job_id: str, name: str, snapshot: str | None, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes of one sealed output from ``offset`` (a range: never the whole blob)."""

    @abc.abstractmethod
    def download_link(self, job_id: str, name: str, snapshot: str | None, filename: str, content_type: str,
                      ttl: timedelta) -> Link:
        """A read-only link to one sealed output, served as an attachment called ``filename``
        (``snapshot``: the snapshot that outputs sealed by snapshot were recorded with)."""


# --- live runs ---


class LiveStore(abc.ABC):
    """A running job's live channel in storage: each stream (stdout, stderr, series) in chunks of
    ``CHUNK_BYTES`` of which the last ``WINDOW_CHUNKS`` are kept, and the live files as last taken."""

    @abc.abstractmethod
    def append(self, job_id: str, stream: str, offset: int, data: bytes) -> int:
        """Put ``data`` at ``offset`` of the stream: bytes already there are skipped (a repeated delta
        changes nothing); an offset past the end is taken only at a chunk start (the sender skipped
        ahead). The offset the stream is stored up to afterwards: send from there."""

    @abc.abstractmethod
    def listing(self, job_id: str) -> LiveListing:
        """What storage holds of the job's streams and live files (one listing)."""

    @abc.abstractmethod
    def read(self, job_id: str, stream: str, offset: int, max_bytes: int) -> bytes:
        """Up to ``max_bytes`` of the stream from ``offset``, never past the end of the chunk holding it;
        empty when that chunk is not held."""

    @abc.abstractmethod
    def file_links(self, job_id: str, names: list[str], ttl: timedelta) -> dict[str, Link]:
        """For each live file, a link that creates and writes that one blob (no read, list or delete)."""

    @abc.abstractmethod
    def file_link(self, job_id: str, name: str, kept: str | None, filename: str, content_type: str,
                  ttl: timedelta) -> Link:
        """A read-only link to a live file as last taken (``kept``: the copy kept at the job's end),
        served as an attachment called ``filename``."""

    @abc.abstractmethod
    def keep_files(self, job_id: str) -> int:
        """At a job's end short of done: keep each live file as it is now, so that nothing written
        through a link later changes what is listed and read (the listing shows the kept copies from
        then on); how many were kept."""

    @abc.abstractmethod
    def discard_files(self, job_id: str) -> int:
        """Remove the job's live files (sealed outputs replace them at done); how many."""

    @abc.abstractmethod
    def delete(self, job_id: str) -> int:
        """Remove everything of the job's live channel; how many blobs."""

    @abc.abstractmethod
    def mark_followed(self, job_id: str) -> None:
        """Note that someone follows the job now (what a pull looks for)."""

    @abc.abstractmethod
    def followed(self, since: datetime, limit: int) -> list[str]:
        """The jobs someone followed since ``since`` (one listing); older marks are removed."""


# --- sites ---


class SiteStore(abc.ABC):
    """The governor's records beside the jobs: per site, its ledger of grants (written with ETag
    conditions), one line entry per job active on it (or waiting for a site: ``UNPLACED``), and the
    run times of each case version's finished runs there."""

    @abc.abstractmethod
    def ledger(self, site: str) -> Stored[Ledger] | None:
        """The site's ledger, None before its first grant."""

    @abc.abstractmethod
    def save_ledger(self, site: str, ledger: Ledger, etag: str | None) -> Stored[Ledger]:
        """Replace the ledger if it still has ``etag`` (create it for None); StaleWrite otherwise."""

    @abc.abstractmethod
    def enter(self, entry: LineEntry) -> None:
        """Put the job in its site's line (again: the same entry, unchanged)."""

    @abc.abstractmethod
    def leave(self, site: str, job_id: str) -> None:
        """Take the job out of the site's line; nothing if it is not in it."""

    @abc.abstractmethod
    def line(self, site: str | None = None) -> list[LineEntry]:
        """The jobs in the site's line (every site's, and the unplaced, for None)."""

    @abc.abstractmethod
    def history(self, site: str, case_id: str, case_version: int) -> Stored[DurationHistory] | None:
        """The run times of the case version's finished runs on the site."""

    @abc.abstractmethod
    def save_history(self, site: str, case_id: str, case_version: int, history: DurationHistory,
                     etag: str | None) -> None:
        """Replace the history if it still has ``etag`` (create it for None); StaleWrite otherwise."""


# --- simulators ---


@dataclass(frozen=True)
class Survey:
    """A site as it answers now: the simgate jobs it has, and when its scheduler would start one more."""

    load: int
    estimated_start: datetime | None = None  # Slurm's own estimate (sbatch --test-only); None for direct


@dataclass(frozen=True)
class Submission:
    """A job as its simulator's scheduler has it."""

    scheduler: str
    scheduler_job_id: str
    token_hash: str  # of the token in the job.json the job was submitted with
    resumed: bool = False  # found already submitted (a redelivery): nothing was submitted this time


@dataclass(frozen=True)
class CancelOutcome:
    stopped: bool  # something was running or queued and has been signalled
    state: str  # what the simulator knew of the job: not delivered, queued, running, finished, ...


@dataclass(frozen=True)
class Handover:
    """What became of upload grants handed to a simulator's agents."""

    started: list[str]  # jobs whose outputs are now uploading in the background
    missing: list[str]  # jobs the simulator no longer has


@dataclass(frozen=True)
class PullRequest:
    """What the app has of a job's live channel, for a pull: each stream's stored end, the progress it
    shows, and links for live files the agent asked for."""

    acked: dict[str, int]
    progress: tuple[float, str] | None = None
    links: dict[str, Link] = field(default_factory=dict)


class SimulatorGateway(abc.ABC):
    """Jobs on simulators, each operation one round trip. Every call is idempotent; errors are
    simgate's simulator errors (SimulatorUnreachable when the simulator could not be reached)."""

    @abc.abstractmethod
    def start(self, simulator: SimulatorSpec, job_id: str, bundle: JobBundle) -> Submission | None:
        """Deliver the bundle and submit the job exactly once (a repeated start finds the first
        submission); None when a cancel got there first."""

    @abc.abstractmethod
    def cancel(self, simulator: SimulatorSpec, job_id: str) -> CancelOutcome:
        """Stop the job and keep it from ever starting."""

    @abc.abstractmethod
    def survey(self, simulator: SimulatorSpec, resources: dict) -> Survey:
        """The simulator's load and, for a Slurm site, when it would start a run needing ``resources``."""

    @abc.abstractmethod
    def observe(self, simulator: SimulatorSpec, job_ids: list[str]) -> dict[str, Observation]:
        """What the simulator knows about each job, asked in one batch (not one call per job)."""

    @abc.abstractmethod
    def pull(self, simulator: SimulatorSpec, requests: dict[str, PullRequest]) -> dict[str, LiveDelta | None]:
        """For a site whose nodes cannot call out: each job's live channel read from its directory (and
        its changed live files uploaded through the links given), in one batch; None for a job the
        simulator does not have."""

    @abc.abstractmethod
    def hand_over(self, simulator: SimulatorSpec, grants: dict[str, dict[str, Link]]) -> Handover:
        """Give jobs' agents upload links (job id -> output name -> link) for outputs they could not
        deliver themselves; each uploads in the background and then reports done. One batch."""


# --- notifications ---


class WebhookSender(abc.ABC):
    """Posts one signed event to a subscriber's URL, only ever to the addresses it has just checked."""

    @abc.abstractmethod
    def check(self, target: Target) -> list[str]:
        """Resolve ``target``'s host and return its addresses; AddressRefused (a ValidationFailed naming
        ``url``) when it names none, or any address that is not public (loopback too, unless allowed)."""

    @abc.abstractmethod
    def send(self, target: Target, headers: dict[str, str], body: bytes) -> DeliveryResult:
        """POST ``body`` with ``headers`` to ``target``, resolving and checking it again first and
        connecting to the address checked; never follows a redirect, never raises for the receiver's
        failures: they are the result's ``error_class``."""


class NotificationStore(abc.ABC):
    """Subscriptions, and per subscription its streams, their events and its delivery log. Writes
    are conditional on the ETag read: a concurrent change makes them raise StaleWrite."""

    @abc.abstractmethod
    def add(self, subscription: Subscription) -> Stored[Subscription]: ...

    @abc.abstractmethod
    def find(self, subscription_id: str) -> Stored[Subscription] | None: ...

    @abc.abstractmethod
    def update(self, subscription: Subscription, etag: str) -> Stored[Subscription]: ...

    @abc.abstractmethod
    def delete(self, subscription_id: str) -> None:
        """The subscription, its streams, events and log; nothing when it is gone already."""

    @abc.abstractmethod
    def of_owner(self, owner: str) -> list[Subscription]:
        """The owner's subscriptions, newest first."""

    @abc.abstractmethod
    def everyone(self) -> list[Subscription]:
        """Every subscription (the notifier's catch-up)."""

    @abc.abstractmethod
    def stream(self, subscription_id: str, key: str) -> Stored[Stream] | None: ...

    @abc.abstractmethod
    def record(self, subscription_id: str, stream: Stream, etag: str | None, deliveries: Sequence[Delivery]) -> str:
        """Write the stream (new when ``etag`` is None) and its new events at once, or nothing:
        StaleWrite when the stream changed since it was read. The stream's new ETag."""

    @abc.abstractmethod
    def delivery(self, subscription_id: str, stream: str, sequence: int) -> Delivery | None: ...

    @abc.abstractmethod
    def attempted(self, subscription_id: str, delivery: Delivery, attempt: Attempt,
                  stream: Stream | None = None, etag: str | None = None) -> str | None:
        """Write the delivery as it is after ``attempt``, log the attempt and, with ``stream``, move the
        stream on, at once or not at all (StaleWrite when the stream changed since ``etag``); the
        stream's new ETag when it was written."""

    @abc.abstractmethod
    def attempts(self, subscription_id: str, limit: int) -> list[Attempt]:
        """The latest attempts, newest first."""

    @abc.abstractmethod
    def pending_streams(self, subscription_id: str) -> list[Stream]:
        """The streams with an event not yet delivered or given up."""

    @abc.abstractmethod
    def scan_mark(self, owner: str) -> datetime | None:
        """Until when the owner's job changes were last caught up."""

    @abc.abstractmethod
    def set_scan_mark(self, owner: str, at: datetime) -> None: ...
