"""A running job, live: its agent's channel in, its followers' reads out.

In: the agent sends what changed (``LiveDelta``) at most once a second. Stream bytes go to the live
store by offset (a repeated delta changes nothing), a changed progress or message goes to the job (so a
long-poll on its status wakes), and live files get upload links. Out: the log tail and the page's one
look (``look``), both from one listing of the live store and reads of at most one chunk per stream:
never a whole log.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import timedelta

from shared.auth import Principal
from shared.domain import live
from shared.domain.jobs import Job, JobStatus
from shared.domain.live import LiveDelta, LiveListing, StreamTail
from shared.domain.outputs import Output, partial_outputs
from shared.errors import AgentTokenInvalid, Conflict
from shared.services.changes import JobChanges
from shared.services.followers import RECHECK_SECONDS, Answers, Signals
from shared.services.jobs import Jobs
from shared.services.ports import Clock, Link, LiveStore, Stored

LINK_TTL = timedelta(hours=1)
LOOK = "live"


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
    def __init__(self, jobs: Jobs, store: LiveStore, changes: JobChanges, signals: Signals, answers: Answers,
                 clock: Clock) -> None:
        self._jobs = jobs
        self._store = store
        self._changes = changes
        self._signals = signals
        self._answers = answers
        self._clock = clock

    # --- in: the agent's channel ---

    def record(self, agent: Stored[Job], delta: LiveDelta) -> LiveAck:
        """Apply what the agent that proved itself for ``agent`` sent; refused once the job has finished."""
        job = agent.item
        if job.status.terminal:
            raise AgentTokenInvalid("the token is not valid for this job (or the job has finished)")
        if len(delta.links) > live.MAX_LIVE_FILES:
            raise Conflict(f"a job may have at most {live.MAX_LIVE_FILES} live files")
        streams = {name: self._store.append(job.job_id, name, part.offset, part.data)
                   for name, part in delta.streams.items()}
        if delta.streams:
            self._signals.changed(job.job_id)
        stored = self._progress(agent, delta) if delta.progress is not None or delta.message else agent
        links = self._store.file_links(job.job_id, list(delta.links), LINK_TTL) if delta.links else {}
        return LiveAck(stored.item, streams, links)

    def _progress(self, agent: Stored[Job], delta: LiveDelta) -> Stored[Job]:
        now = self._clock.now()

        def change(job: Job) -> Job:
            if job.status.terminal:
                raise AgentTokenInvalid("the token is not valid for this job (or the job has finished)")
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
        while True:
            generation = self._signals.generation(job_id)
            job = self._jobs.get(caller, job_id).item
            listing = self._store.listing(job_id)
            piece = self._piece(job, listing, stream, offset)
            remaining = deadline - self._clock.monotonic()
            if piece.data or piece.complete or piece.offset != offset or remaining <= 0:
                return piece
            self._signals.wait(job_id, generation, min(RECHECK_SECONDS, remaining))

    def look(self, caller: Principal, job_id: str, log: str, log_offset: int, series_offset: int, *,
             known: str | None = None) -> LiveLook:
        """Everything a page following the job shows, in one answer with an ETag."""
        key = (LOOK, job_id, log, log_offset, series_offset)
        if self._answers.unchanged(key, job_id, caller, known):
            return LiveLook(job=None, etag=known, unchanged=True)  # type: ignore[arg-type]
        generation = self._answers.generation(job_id)
        stored = self._jobs.get(caller, job_id)
        job = stored.item
        listing = self._store.listing(job_id)
        etag = '"' + hashlib.sha256(f"{stored.etag}|{listing.signature()}|{key}".encode()).hexdigest()[:32] + '"'
        self._answers.remember(key, job_id, etag, job.owner, generation)
        if known == etag:
            return LiveLook(job=job, etag=etag, unchanged=True)
        return LiveLook(job=job, etag=etag, listing=listing,
                        log=self._piece(job, listing, log, log_offset),
                        series=self._piece(job, listing, live.SERIES, series_offset),
                        files=partial_outputs(listing.files))

    def _piece(self, job: Job, listing: LiveListing, stream: str, offset: int) -> StreamTail:
        """The stream from ``offset`` (or from where storage keeps it, when that is later)."""
        extent = listing.extent(stream)
        start = min(max(offset, extent.start), extent.end)
        held = listing.chunks.get(stream, ())
        index, _ = live.chunk_of(start)
        if start < extent.end and index not in held:  # a stretch the agent skipped: on from the next chunk
            start = next((live.chunk_start(i) for i in held if i > index), extent.end)
        data = self._store.read(job.job_id, stream, start, live.MAX_TAIL_BYTES) if start < extent.end else b""
        finished = job.status.terminal
        data = data if finished else data[:live.whole_characters(data)]
        end = start + len(data)
        return StreamTail(stream=stream, offset=start, next_offset=end, data=data,
                          complete=finished and end >= extent.end, truncated_before=extent.start)
