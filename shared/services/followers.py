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
from dataclasses import dataclass
from datetime import datetime

from shared.auth import Principal
from shared.domain.jobs import Job, JobStatus, JobSummary
from shared.services.ports import Clock, IdempotencyRecord, JobRepository, Page, Stored

RECHECK_SECONDS = 1.0
MAX_REMEMBERED = 20_000


class Signals:
    def __init__(self, clock: Clock, capacity: int = MAX_REMEMBERED) -> None:
        self._clock = clock
        self._condition = threading.Condition()
        self._generations: OrderedDict[str, int] = OrderedDict()
        self._next = 1  # generations are never reused, even for a job forgotten and seen again
        self._capacity = capacity

    def changed(self, job_id: str) -> None:
        with self._condition:
            self._generations[job_id] = self._next
            self._next += 1
            self._generations.move_to_end(job_id)
            while len(self._generations) > self._capacity:
                self._generations.popitem(last=False)
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
    def __init__(self, signals: Signals, clock: Clock, fresh_seconds: float, capacity: int = MAX_REMEMBERED) -> None:
        self._signals = signals
        self._clock = clock
        self._fresh = fresh_seconds
        self._capacity = capacity
        self._lock = threading.Lock()
        self._remembered: OrderedDict[tuple, _Remembered] = OrderedDict()

    def generation(self, job_id: str) -> int:
        """Take this before reading what an answer is made of, and give it to ``remember``."""
        return self._signals.generation(job_id)

    def remember(self, key: tuple, job_id: str, etag: str, owner: str, generation: int) -> None:
        with self._lock:
            self._remembered[key] = _Remembered(etag, owner, self._clock.monotonic(), generation)
            self._remembered.move_to_end(key)
            while len(self._remembered) > self._capacity:
                self._remembered.popitem(last=False)

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
    """A job repository that tells ``Signals`` of every change written through it."""

    def __init__(self, inner: JobRepository, signals: Signals) -> None:
        self._inner = inner
        self._signals = signals

    def add(self, job: Job, idempotency: IdempotencyRecord | None = None) -> Stored[Job]:
        stored = self._inner.add(job, idempotency)
        self._signals.changed(job.job_id)
        return stored

    def find(self, job_id: str) -> Stored[Job] | None:
        return self._inner.find(job_id)

    def update(self, job: Job, etag: str) -> Stored[Job]:
        stored = self._inner.update(job, etag)
        self._signals.changed(job.job_id)
        return stored

    def delete(self, job: Job, etag: str) -> None:
        self._inner.delete(job, etag)
        self._signals.changed(job.job_id)

    def list_jobs(self, owner: str | None, per_page: int, continuation: str | None = None, *, skip: int = 0,
                  status: JobStatus | None = None, case_id: str | None = None) -> Page[JobSummary]:
        return self._inner.list_jobs(owner, per_page, continuation, skip=skip, status=status, case_id=case_id)

    def list_stale(self, statuses: list[JobStatus], updated_before: datetime, limit: int) -> list[Job]:
        return self._inner.list_stale(statuses, updated_before, limit)
