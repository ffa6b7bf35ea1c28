"""A running job, live: its agent's channel in, its followers' reads out.

In: the agent sends what changed (``LiveDelta``) at most once a second. Stream bytes go to the live
store by offset (a repeated delta changes nothing), a changed progress or message goes to the job (so a
long-poll on its status wakes), and live files get upload links. Out: the log tail and the page's one
look (``look``), both from one listing of the live store and reads of at most one chunk per stream:
never a whole log.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared.auth import Principal
from shared.config import SimulatorSpec
from shared.domain import live
from shared.domain.jobs import Job, JobStatus
from shared.domain.live import LiveDelta, LiveListing, StreamTail
from shared.domain.outputs import Output, partial_outputs
from shared.errors import AgentTokenInvalid, SimgateError
from shared.services.changes import JobChanges
from shared.services.followers import RECHECK_SECONDS, Answers, Bounded, Listings, RecentBytes, Signals
from shared.services.jobs import Jobs
from shared.services.outputs import recorded_outputs
from shared.services.ports import (
    Clock,
    JobRepository,
    Link,
    LiveStore,
    OutputStore,
    PullRequest,
    SimulatorGateway,
    Stored,
)

log = logging.getLogger("simgate.live")

LINK_TTL = timedelta(hours=1)
PULLED = "live-pull"  # the source of what a pull records
LOOK = "live"
MARK_SECONDS = 20  # how often a follower renews its job's follow mark
FOLLOWED_FOR = timedelta(seconds=60)  # a mark older than this: nobody follows the job any more
ENDED_LATELY = timedelta(minutes=2)  # a pulled job that ended this recently is pulled once more
PULL_LIMIT = 500
LINKS_KEPT = timedelta(minutes=45)  # links last LINK_TTL: a pull hands on only those well within it


@dataclass(frozen=True)
class LiveAck:
    job: Job
    streams: dict[str, int]  # stream -> the offset storage has it up to
    links: dict[str, Link] = field(default_factory=dict)


@dataclass(frozen=True)
class LiveLook:
    job: Job
    etag: str
    listing: LiveListing = LiveListing()
    log: StreamTail | None = None
    series: StreamTail | None = None
    files: list[Output] = field(default_factory=list)
    unchanged: bool = False


class LiveRuns:
    def __init__(self, jobs: Jobs, store: LiveStore, outputs: OutputStore, changes: JobChanges, signals: Signals,
                 answers: Answers, clock: Clock, *, pull_sites: frozenset[str] = frozenset()) -> None:
        self._jobs = jobs
        self._store = store
        self._listings = Listings(clock)
        self._bytes = RecentBytes()
        self._outputs = outputs
        self._changes = changes
        self._signals = signals
        self._answers = answers
        self._clock = clock
        self._pull_sites = pull_sites
        self._marked: Bounded[str, float] = Bounded()  # job -> when this instance last marked it followed

    # --- in: the agent's channel ---

    def record(self, agent: Stored[Job], delta: LiveDelta, *, pulled: bool = False) -> LiveAck:
        """Apply what the agent that proved itself for ``agent`` sent; refused once the job has finished
        (unless ``pulled``: what a pull read from the job's directory is the job's own to the end)."""
        job = agent.item
        if job.status.terminal and not pulled:
            raise AgentTokenInvalid("the token is not valid for this job (or the job has finished)")
        streams = {}
        for name, part in delta.streams.items():
            streams[name] = self._store.append(job.job_id, name, part.offset, part.data)
            self._listings.appended(job.job_id, name, part.offset, streams[name])
            self._bytes.appended(job.job_id, name, part.offset, part.data, streams[name])
        if delta.streams:
            self._signals.changed(job.job_id)
        moving = pulled and job.status == JobStatus.QUEUED and bool(delta.streams or delta.progress is not None)
        if delta.progress is not None or delta.message or moving:
            stored = self._progress(agent, delta, source=PULLED if pulled else "agent")
        else:
            stored = agent
        links = self._store.file_links(job.job_id, list(delta.links), LINK_TTL) if delta.links else {}
        return LiveAck(stored.item, streams, links)

    def _progress(self, agent: Stored[Job], delta: LiveDelta, source: str) -> Stored[Job]:
        now = self._clock.now()

        def change(job: Job) -> Job:
            if job.status.terminal and source != PULLED:
                raise AgentTokenInvalid("the token is not valid for this job (or the job has finished)")
            if job.status == JobStatus.QUEUED and source == PULLED:  # what the site's node wrote shows it runs
                job = job.move(JobStatus.RUNNING, at=now, source=source, reason="its live channel shows it running")
            progress = job.progress if delta.progress is None else delta.progress
            detail = job.detail if delta.message is None else delta.message
            if (progress, detail) == (job.progress, job.detail) or job.status not in (JobStatus.QUEUED,
                                                                                       JobStatus.RUNNING):
                return job  # nothing new, or not running: a status report moves it, never progress
            return job.model_copy(update={"progress": progress, "detail": detail, "updated": now})

        return self._changes.apply(agent.item.job_id, change, known=agent) or agent

    # --- out: followers ---

    def tail(self, caller: Principal, job_id: str, stream: str, offset: int, *, wait: float = 0) -> StreamTail:
        """Up to 64 KiB of a log from ``offset``; with ``wait``, as soon as bytes exist past it."""
        deadline = self._clock.monotonic() + wait
        woken = True  # at first, what this instance remembers (at most RECHECK_SECONDS old) will do
        while True:
            generation = self._signals.generation(job_id)
            job = self._jobs.recent(caller, job_id).item
            self._note_followed(job)
            listing = self._listing(job_id, trust_memory=woken, streams_only=True)
            piece = self._piece(job, listing, stream, offset)
            remaining = deadline - self._clock.monotonic()
            if piece.data or piece.complete or piece.offset != offset or remaining <= 0:
                return piece
            # Woken by a change through this instance: what it remembers is current. Otherwise (another
            # instance's change, or none) storage is listed again.
            woken = self._signals.wait(job_id, generation, min(RECHECK_SECONDS, remaining))

    def _listing(self, job_id: str, *, trust_memory: bool, streams_only: bool) -> LiveListing:
        if trust_memory and (known := self._listings.get(job_id, streams_only=streams_only)) is not None:
            return known
        listing = self._store.listing(job_id)
        self._listings.put(job_id, listing)
        return listing

    def look(self, caller: Principal, job_id: str, log: str, log_offset: int, series_offset: int, *,
             known: str | None = None) -> LiveLook:
        """Everything a page following the job shows, in one answer with an ETag."""
        key = (LOOK, job_id, log, log_offset, series_offset)
        if self._answers.unchanged(key, job_id, caller, known):
            return LiveLook(job=None, etag=known, unchanged=True)  # type: ignore[arg-type]
        generation = self._answers.generation(job_id)
        stored = self._jobs.get(caller, job_id)
        job = stored.item
        self._note_followed(job)
        listing = self._listing(job_id, trust_memory=True, streams_only=False)
        etag = '"' + hashlib.sha256(f"{stored.etag}|{listing.signature()}|{key}".encode()).hexdigest()[:32] + '"'
        self._answers.remember(key, job_id, etag, job.owner, generation)
        if known == etag:
            return LiveLook(job=job, etag=etag, unchanged=True)
        return LiveLook(job=job, etag=etag, listing=listing,
                        log=self._piece(job, listing, log, log_offset),
                        series=self._piece(job, listing, live.SERIES, series_offset),
                        files=partial_outputs(listing.files))

    @staticmethod
    def _sealed_log(job: Job, stream: str) -> Output | None:
        if job.status != JobStatus.DONE or stream not in live.LOG_OUTPUTS:
            return None
        return next((o for o in recorded_outputs(job) if o.name == live.LOG_OUTPUTS[stream]), None)

    def _note_followed(self, job: Job) -> None:
        """On a site that is pulled, a job someone follows is pulled: say so, at most every MARK_SECONDS."""
        if job.simulator not in self._pull_sites or not job.status.active:
            return
        now = self._clock.monotonic()
        if now - self._marked.get(job.job_id, float("-inf")) >= MARK_SECONDS:
            self._store.mark_followed(job.job_id)
            self._marked[job.job_id] = now

    def _piece(self, job: Job, listing: LiveListing, stream: str, offset: int) -> StreamTail:
        """The stream from ``offset`` (or from where storage keeps it, when that is later). Once the job is
        done, a log is read from its sealed output: the whole of it, byte for byte what the script wrote."""
        sealed = self._sealed_log(job, stream)
        if sealed is not None:
            start = min(offset, sealed.size)
            data = self._outputs.read(job.job_id, sealed.name, sealed.snapshot, start, live.MAX_TAIL_BYTES)
            return StreamTail(stream=stream, offset=start, next_offset=start + len(data), data=data,
                              complete=start + len(data) >= sealed.size, truncated_before=0)
        extent = listing.extent(stream)
        start = min(max(offset, extent.start), extent.end)
        held = listing.chunks.get(stream, ())
        index, _ = live.chunk_of(start)
        if start < extent.end and index not in held:  # a stretch the agent skipped: on from the next chunk
            start = next((live.chunk_start(i) for i in held if i > index), extent.end)
        data = b""
        if start < extent.end:
            remembered = self._bytes.read(job.job_id, stream, start, min(live.MAX_TAIL_BYTES, extent.end - start))
            data = remembered if remembered else self._store.read(job.job_id, stream, start, live.MAX_TAIL_BYTES)
        finished = job.status.terminal
        data = data if finished else data[:live.whole_characters(data)]
        end = start + len(data)
        return StreamTail(stream=stream, offset=start, next_offset=end, data=data,
                          complete=finished and end >= extent.end, truncated_before=extent.start)


class LivePuller:
    """Sites whose compute nodes cannot call out: their jobs' live channels are read from the jobs'
    directories over SSH, one batched command per site per cycle (LIVE_PULL_SCHEDULE), only for jobs
    someone follows (a mark their followers renew), and applied as if the agent had sent them."""

    def __init__(self, jobs: JobRepository, store: LiveStore, gateway: SimulatorGateway,
                 simulators: Sequence[SimulatorSpec], live: LiveRuns, clock: Clock) -> None:
        self._jobs = jobs
        self._store = store
        self._gateway = gateway
        self._sites = {spec.name: spec for spec in simulators if not spec.nodes_call_out}
        self._live = live
        self._clock = clock
        self._links: dict[str, tuple[datetime, dict[str, Link]]] = {}

    def run(self) -> dict[str, int]:
        if not self._sites:
            return {"followed": 0, "pulled": 0}
        now = self._clock.now()
        followed = self._store.followed(now - FOLLOWED_FOR, PULL_LIMIT)
        by_site: dict[str, dict[str, Stored[Job]]] = {}
        for job_id in followed:
            stored = self._jobs.find(job_id)
            job = stored.item if stored is not None else None
            if job is None or job.simulator not in self._sites:
                continue
            if job.status.active or (job.status.terminal and now - job.updated < ENDED_LATELY):
                by_site.setdefault(job.simulator, {})[job_id] = stored
        pulled = 0
        for site, jobs in by_site.items():
            try:
                deltas = self._gateway.pull(self._sites[site], {job_id: self._request(stored.item, now)
                                                                 for job_id, stored in jobs.items()})
            except SimgateError as exc:
                log.warning("pulling the live channels of %d jobs from %s failed: %s", len(jobs), site, exc.detail)
                continue
            for job_id, delta in deltas.items():
                if delta is not None and job_id in jobs:
                    ack = self._live.record(jobs[job_id], delta, pulled=True)
                    if ack.links:
                        self._links[job_id] = (now, ack.links)
                    pulled += 1
        return {"followed": len(followed), "pulled": pulled}

    def _request(self, job: Job, now: datetime) -> PullRequest:
        listing = self._store.listing(job.job_id)
        given, links = self._links.get(job.job_id, (now, {}))
        return PullRequest(acked={name: extent.end for name, extent in listing.streams.items()},
                           progress=(job.progress, job.detail) if job.progress is not None else None,
                           links=links if now - given < LINKS_KEPT else {})
