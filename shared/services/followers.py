"""Following jobs cheaply: wake-ups within this instance, and conditional answers from memory.

``Signals`` counts the changes this instance makes to each job (its writes, its agents' live reports)
and wakes whoever waits on one: a long-poll answers the moment a change passes through this instance,
and looks at storage again every ``RECHECK_SECONDS`` for changes made by other instances.

``Answers`` remembers the ETag of the last answer of each kind this instance gave for a job. A
conditional request (If-None-Match) that names it is answered 304 without reading storage while the
memory is younger than ``fresh_seconds`` and no change passed through this instance since. On one
instance (the local host) such an answer is never stale; across instances a change made elsewhere shows
within ``fresh_seconds``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Generic, TypeVar

from shared.auth import Principal
from shared.domain.jobs import Job, JobStatus, JobSummary
from shared.domain.live import LiveListing, StreamExtent, chunk_of
from shared.domain.sweeps import Sweep
from shared.services.ports import Clock, IdempotencyRecord, JobRepository, Page, Stored

RECHECK_SECONDS = 1.0
MAX_REMEMBERED = 20_000

Key = TypeVar("Key")
Value = TypeVar("Value")


class Bounded(Generic[Key, Value]):
    """A map that forgets its least recently set entries beyond ``capacity``: what an instance remembers
    stays bounded however many jobs it sees. Not locked: its owner locks where it needs to."""

    def __init__(self, capacity: int = MAX_REMEMBERED) -> None:
        self._items: OrderedDict[Key, Value] = OrderedDict()
        self._capacity = capacity

    def __setitem__(self, key: Key, value: Value) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self._capacity:
            self._items.popitem(last=False)

    def get(self, key: Key, default: Value | None = None) -> Value | None:
        return self._items.get(key, default)

    def pop(self, key: Key) -> None:
        self._items.pop(key, None)


class Signals:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._condition = threading.Condition()
        self._generations: Bounded[str, int] = Bounded()
        self._next = 1  # generations are never reused, even for a job forgotten and seen again

    def changed(self, job_id: str) -> None:
        with self._condition:
            self._generations[job_id] = self._next
            self._next += 1
            self._condition.notify_all()

    def generation(self, job_id: str) -> int:
        with self._condition:
            return self._generations.get(job_id, 0)

    def wait(self, job_id: str, generation: int, timeout: float) -> bool:
        """Wait until a change to the job passes through this instance after ``generation``, at most
        ``timeout`` seconds; whether one did."""
        with self._condition:
            return self._clock.wait_for(self._condition, lambda: self._generations.get(job_id, 0) != generation,
                                        timeout)


@dataclass(frozen=True)
class _Remembered:
    etag: str
    owner: str
    at: float
    generation: int


class Answers:
    def __init__(self, signals: Signals, clock: Clock, fresh_seconds: float) -> None:
        self._signals = signals
        self._clock = clock
        self._fresh = fresh_seconds
        self._lock = threading.Lock()
        self._remembered: Bounded[tuple, _Remembered] = Bounded()

    def generation(self, job_id: str) -> int:
        """Take this before reading what an answer is made of, and give it to ``remember``."""
        return self._signals.generation(job_id)

    def remember(self, key: tuple, job_id: str, etag: str, owner: str, generation: int) -> None:
        with self._lock:
            self._remembered[key] = _Remembered(etag, owner, self._clock.monotonic(), generation)

    def unchanged(self, key: tuple, job_id: str, caller: Principal, etag: str | None) -> bool:
        """Whether the answer the caller has (its ETag) is still current, known without reading storage."""
        if not etag or self._fresh <= 0:
            return False
        with self._lock:
            known = self._remembered.get(key)
        return (known is not None and known.etag == etag
                and (known.owner == caller.user_id or caller.is_admin)
                and self._clock.monotonic() - known.at < self._fresh
                and known.generation == self._signals.generation(job_id))


class SignallingJobRepository(JobRepository):
    """A job repository that tells ``Signals`` of every change written through it, and remembers the
    jobs it last read or wrote: ``recent`` answers from that memory while it is younger than
    ``fresh_seconds`` (writes through this instance keep it current at once). A write that ends a job
    calls ``on_end`` with it."""

    def __init__(self, inner: JobRepository, signals: Signals, clock: Clock, fresh_seconds: float,
                 on_end: Callable[[Job], None] = lambda job: None,
                 on_write: Callable[[Job], None] = lambda job: None) -> None:
        self._inner = inner
        self._on_write = on_write  # called after every write of a job (it must not block)
        self._signals = signals
        self._on_end = on_end  # called once a write has ended a job that was not ended before
        self._clock = clock
        self._fresh = fresh_seconds
        self._lock = threading.Lock()
        self._recent: Bounded[str, tuple[Stored[Job], float]] = Bounded()

    def recent(self, job_id: str) -> Stored[Job] | None:
        """The job as this instance last read or wrote it, if lately enough; otherwise read."""
        with self._lock:
            known = self._recent.get(job_id)
        if known is not None and self._clock.monotonic() - known[1] < self._fresh:
            return known[0]
        return self.find(job_id)

    def _remember(self, stored: Stored[Job] | None, job_id: str) -> None:
        with self._lock:
            if stored is None:
                self._recent.pop(job_id)
            else:
                self._recent[job_id] = (stored, self._clock.monotonic())

    def add(self, job: Job, idempotency: IdempotencyRecord | None = None) -> Stored[Job]:
        stored = self._inner.add(job, idempotency)
        self._remember(stored, job.job_id)
        self._signals.changed(job.job_id)
        self._on_write(job)
        return stored

    def find(self, job_id: str) -> Stored[Job] | None:
        stored = self._inner.find(job_id)
        self._remember(stored, job_id)
        return stored

    def update(self, job: Job, etag: str) -> Stored[Job]:
        with self._lock:
            before = self._recent.get(job.job_id)
        stored = self._inner.update(job, etag)
        self._remember(stored, job.job_id)
        self._signals.changed(job.job_id)
        self._on_write(job)
        if job.status.terminal and (before is None or not before[0].item.status.terminal):
            self._on_end(job)
        return stored

    def delete(self, job: Job, etag: str) -> None:
        self._inner.delete(job, etag)
        self._remember(None, job.job_id)
        self._signals.changed(job.job_id)

    def list_jobs(self, owner: str | None, per_page: int, continuation: str | None = None, *, skip: int = 0,
                  status: JobStatus | None = None, case_id: str | None = None,
                  sweep: Sweep | None = None) -> Page[JobSummary]:
        return self._inner.list_jobs(owner, per_page, continuation, skip=skip, status=status, case_id=case_id,
                                     sweep=sweep)

    def add_many(self, jobs: Sequence[Job]) -> set[str]:
        written = self._inner.add_many(jobs)
        for job in jobs:
            if job.job_id in written:
                self._on_write(job)
        return written

    def changed_since(self, owner: str, since: datetime) -> list[JobSummary]:
        return self._inner.changed_since(owner, since)

    def any_unfinished(self, sweep: Sweep) -> bool:
        return self._inner.any_unfinished(sweep)

    def find_many(self, job_ids: Sequence[str]) -> dict[str, Stored[Job]]:
        return self._inner.find_many(job_ids)

    def members(self, sweep: Sweep) -> list[Job]:
        return self._inner.members(sweep)



class Listings:
    """What this instance last knew of each job's live channel: a listing, whose streams the appends
    made through this instance keep current. Its live files (written by agents straight to storage)
    are trusted for ``RECHECK_SECONDS`` after it was listed; its streams for that long after the last
    append through this instance or the listing (another instance's appends show within that time)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._known: Bounded[str, tuple[LiveListing, float, float]] = Bounded()  # listing, listed, touched

    def get(self, job_id: str, *, streams_only: bool) -> LiveListing | None:
        with self._lock:
            known = self._known.get(job_id)
        if known is None:
            return None
        listing, listed, touched = known
        return listing if self._clock.monotonic() - (touched if streams_only else listed) < RECHECK_SECONDS else None

    def put(self, job_id: str, listing: LiveListing) -> None:
        now = self._clock.monotonic()
        with self._lock:
            self._known[job_id] = (listing, now, now)

    def appended(self, job_id: str, stream: str, offset: int, end: int) -> None:
        """Bytes [offset, end) of ``stream`` are stored now: a known listing grows by them (a new chunk
        may have trimmed old ones: then it is forgotten, for a fresh listing)."""
        with self._lock:
            known = self._known.get(job_id)
            if known is None:
                return
            listing, listed, _ = known
            extent = listing.extent(stream)
            held = listing.chunks.get(stream, ())
            first, last = chunk_of(offset)[0], chunk_of(max(offset, end - 1))[0]
            if (held and first > held[-1]) or (not held and first > 0) or offset > extent.end:
                self._known.pop(job_id)  # a new chunk (maybe trimming old ones) or a skip: list again
                return
            chunks = tuple(sorted({*held, *range(first, last + 1)}))
            self._known[job_id] = (replace(listing, streams={**listing.streams, stream: StreamExtent(
                extent.start, max(extent.end, end))}, chunks={**listing.chunks, stream: chunks}),
                listed, self._clock.monotonic())


class RecentBytes:
    """The last bytes of each stream appended through this instance (at most ``keep`` per stream), so
    that a follower woken by an append reads them from memory instead of storage. Storage holds exactly
    these bytes at these offsets: appends are conditional on their position."""

    def __init__(self, keep: int = 256 * 1024, capacity: int = 2_000) -> None:
        self._keep = keep
        self._lock = threading.Lock()
        self._held: Bounded[tuple[str, str], tuple[int, bytes]] = Bounded(capacity)

    def appended(self, job_id: str, stream: str, offset: int, data: bytes, end: int) -> None:
        """``data`` was sent for ``offset`` and storage now has the stream up to ``end``."""
        if end <= offset:
            return
        key = (job_id, stream)
        with self._lock:
            start, held = self._held.get(key, (offset, b""))
            if offset > start + len(held) or offset < start:
                start, held = offset, b""  # not contiguous with what is held: start again from here
            held = held[:offset - start] + data[:end - offset]
            if len(held) > self._keep:
                start, held = start + len(held) - self._keep, held[-self._keep:]
            self._held[key] = (start, held)

    def read(self, job_id: str, stream: str, offset: int, max_bytes: int) -> bytes | None:
        """Bytes from ``offset`` if memory holds that offset; None when it does not."""
        with self._lock:
            start, held = self._held.get((job_id, stream), (0, b""))
        if not held or not start <= offset < start + len(held):
            return None
        return held[offset - start:offset - start + max_bytes]
