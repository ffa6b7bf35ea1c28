"""Sites: a simulator's limits, the grants jobs hold against them, and the line of jobs waiting for
one. Pure: no I/O.

A grant is a job's lease on a site: one slot, the licences its case needs and one of its owner's
share, held from the start until the job leaves the site. A site's ledger keeps its grants as a set
keyed by job id, so usage is always counted from the grants held (it cannot drift or go negative),
and releasing is removing a key: done twice, it changes nothing.

Who gets what frees up: the site's line, oldest first, first fit. Walking the line from its head,
each waiting job that fits under every limit is promised room; one that does not fit (its licence or
its owner's share is used up) is passed over, so one user's burst or a licence-bound case never
holds back the jobs behind it that could run. A job is admitted only when the walk reaches it with
room left, so a newcomer never takes what an older job was promised.
"""

from __future__ import annotations

import heapq
import math
import re
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.domain.jobs import JobStatus, Transition

LICENCE_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
UNPLACED = "*"  # the line of jobs whose site the manager has not chosen yet
HISTORY_RUNS = 50  # finished runs kept per case version and site for the duration estimate


def checked_licences(value: dict[str, int]) -> dict[str, int]:
    """Licence counts by name, as a site has them or a run needs them; ValueError says what is wrong."""
    for name, count in value.items():
        if not re.match(LICENCE_NAME, name):
            raise ValueError(f"licence name {name[:70]!r} must be 1 to 64 letters, digits, '.', '_' or '-'")
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 10_000:
            raise ValueError(f"licence {name} needs a whole count from 1 to 10000, not {count!r}")
    return value


class SiteLimits(BaseModel):
    """What a site allows at once."""

    model_config = ConfigDict(frozen=True)

    max_parallel_jobs: int
    licences: dict[str, int] = Field(default_factory=dict)
    max_jobs_per_user: int | None = None


class Grant(BaseModel):
    """One job's lease on a site."""

    model_config = ConfigDict(frozen=True)

    job_id: str
    owner: str
    licences: dict[str, int] = Field(default_factory=dict)
    since: datetime


class Ledger(BaseModel):
    """The grants a site has given."""

    model_config = ConfigDict(frozen=True)

    grants: dict[str, Grant] = Field(default_factory=dict)

    def holds(self, job_id: str) -> bool:
        return job_id in self.grants

    def granting(self, grant: Grant) -> "Ledger":
        return Ledger(grants={**self.grants, grant.job_id: grant})

    def without(self, job_ids: Iterable[str]) -> "Ledger":
        gone = set(job_ids)
        return Ledger(grants={k: v for k, v in self.grants.items() if k not in gone})

    def usage(self) -> "Usage":
        usage = Usage()
        for grant in self.grants.values():
            usage.add(grant.owner, grant.licences)
        return usage


class LineEntry(BaseModel):
    """A job active on a site (or waiting to be placed on one): the index the governor and the
    reconciler read instead of the whole jobs table."""

    model_config = ConfigDict(frozen=True)

    site: str
    job_id: str
    owner: str
    licences: dict[str, int] = Field(default_factory=dict)
    since: datetime  # when it asked to run: the line's order


@dataclass(frozen=True)
class Blocker:
    """The first limit that keeps a job from starting."""

    kind: Literal["slot", "licence", "share"]
    used: int
    limit: int
    licence: str = ""


@dataclass
class Usage:
    slots: int = 0
    licences: Counter = field(default_factory=Counter)
    per_user: Counter = field(default_factory=Counter)

    def add(self, owner: str, licences: dict[str, int]) -> None:
        self.slots += 1
        self.per_user[owner] += 1
        self.licences.update(licences)

    def blocker(self, limits: SiteLimits, owner: str, licences: dict[str, int]) -> Blocker | None:
        """What keeps one more job of ``owner`` needing ``licences`` off the site; None if it fits."""
        for name, count in sorted(licences.items()):
            available = limits.licences.get(name, 0)
            if self.licences[name] + count > available:  # (in use counts those kept for older jobs)
                return Blocker("licence", min(self.licences[name], available), available, licence=name)
        cap = limits.max_jobs_per_user
        if cap is not None and self.per_user[owner] >= cap:
            return Blocker("share", self.per_user[owner], cap)
        if self.slots >= limits.max_parallel_jobs:
            return Blocker("slot", self.slots, limits.max_parallel_jobs)
        return None


@dataclass(frozen=True)
class Wait:
    """Why a job does not start yet, and where it stands in its site's line."""

    site: str
    blocker: Blocker
    place: int  # 1 for the head of the line
    waiting: int

    def describe(self) -> str:
        b, place = self.blocker, f"{ordinal(self.place)} in line"
        if b.kind == "licence":
            return f"waiting for licence {b.licence} ({b.used}/{b.limit} in use, {place})"
        if b.kind == "share":
            return f"waiting for its owner's share of {self.site} ({b.used}/{b.limit} of their jobs in use, {place})"
        return f"waiting for a slot on {self.site} ({b.used}/{b.limit} in use, {place})"


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def ordered(line: Iterable[LineEntry]) -> list[LineEntry]:
    return sorted(line, key=lambda e: (e.since, e.job_id))


def walk(limits: SiteLimits, ledger: Ledger, line: Sequence[LineEntry]) -> list[tuple[LineEntry, Blocker | None]]:
    """The site's waiting jobs, oldest first, each with what keeps it waiting (None: it may start now).
    Each job that may start is promised its room, so no younger job takes it. A job held back by a
    licence has that licence kept for it, so that runs needing less of it cannot pass it for ever; one
    held back by its owner's share keeps nothing (the others' jobs go ahead)."""
    usage, walked = ledger.usage(), []
    for entry in ordered(e for e in line if not ledger.holds(e.job_id)):
        blocker = usage.blocker(limits, entry.owner, entry.licences)
        if blocker is None:
            usage.add(entry.owner, entry.licences)
        elif blocker.kind == "licence":
            usage.licences.update(entry.licences)
        walked.append((entry, blocker))
    return walked


def admission(limits: SiteLimits, ledger: Ledger, line: Sequence[LineEntry], entry: LineEntry) -> Wait | None:
    """None when ``entry``'s job may take its grant now; otherwise why it waits. A job missing from the
    line (its entry not written yet) is walked with the others all the same."""
    others = [e for e in line if e.job_id != entry.job_id]
    walked = walk(limits, ledger, [*others, entry])
    for place, (walked_entry, blocker) in enumerate(walked, start=1):
        if walked_entry.job_id == entry.job_id:
            return None if blocker is None else Wait(entry.site, blocker, place=place, waiting=len(walked))
    return None  # it holds its grant already


def admissible(limits: SiteLimits, ledger: Ledger, line: Sequence[LineEntry]) -> list[LineEntry]:
    """The waiting jobs that may start now, oldest first: the ones to send their start."""
    return [entry for entry, blocker in walk(limits, ledger, line) if blocker is None]


def waits(limits: SiteLimits, ledger: Ledger, line: Sequence[LineEntry]) -> dict[str, Wait]:
    """Each waiting job's reason and place, as ``admission`` would give it (one walk for all)."""
    walked = walk(limits, ledger, line)
    return {entry.job_id: Wait(entry.site, blocker, place=place, waiting=len(walked))
            for place, (entry, blocker) in enumerate(walked, start=1) if blocker is not None}


# --- how long: history and estimates ---


class DurationHistory(BaseModel):
    """The run times (seconds) of a case version's last finished runs on one site."""

    model_config = ConfigDict(frozen=True)

    seconds: list[float] = Field(default_factory=list)

    def adding(self, seconds: float) -> "DurationHistory":
        return DurationHistory(seconds=[*self.seconds, round(seconds, 3)][-HISTORY_RUNS:])

    @property
    def median(self) -> float | None:
        return statistics.median(self.seconds) if self.seconds else None

    def basis(self, case_version: int, site: str) -> str:
        if not self.seconds:
            return "no history"
        runs = "run" if len(self.seconds) == 1 else "runs"
        return f"median of {len(self.seconds)} finished {runs} of version {case_version} on {site}"


def missing_licences(limits: SiteLimits, licences: dict[str, int]) -> str | None:
    """What a site lacks to hold even one run needing ``licences`` ("has no licence solver"); None if
    nothing."""
    for name, count in sorted(licences.items()):
        have = limits.licences.get(name, 0)
        if have < count:
            return f"has {have} of licence {name}; a run needs {count}" if have else f"has no licence {name}"
    return None


def capacity(limits: SiteLimits, licences: dict[str, int]) -> int:
    """How many runs needing ``licences`` the site can hold at once."""
    room = limits.max_parallel_jobs
    for name, count in licences.items():
        room = min(room, limits.licences.get(name, 0) // max(count, 1))
    return max(room, 0)


def estimated_start(limits: SiteLimits, ledger: Ledger, line: Sequence[LineEntry], entry: LineEntry, now: datetime,
                    duration: float | None) -> datetime | None:
    """When ``entry``'s job would start: now if it would be admitted now; else, with a typical
    ``duration``, when the runs holding grants and those ahead of it in line have made room (each
    running job taken to end after ``duration``); None when nothing is known of durations."""
    wait = admission(limits, ledger, line, entry)
    if wait is None:
        return now
    room = capacity(limits, entry.licences)
    if duration is None or room == 0:
        return None
    span = timedelta(seconds=duration)
    ends = sorted(max(now, g.since + span) for g in ledger.grants.values())[:room]
    ends += [now] * (room - len(ends))
    heapq.heapify(ends)
    for _ in range(wait.place - 1):
        heapq.heappush(ends, heapq.heappop(ends) + span)
    return heapq.heappop(ends)


def run_seconds(history: Sequence[Transition], ended: datetime) -> float | None:
    """How long a job ran: from its first ``running`` transition (or ``queued``) to ``ended``."""
    started = next((t.at for t in history if t.status == JobStatus.RUNNING), None) or next(
        (t.at for t in history if t.status == JobStatus.QUEUED), None)
    return (ended - started).total_seconds() if started else None


def estimated_finish(start: datetime | None, duration: float | None, runs: int, at_once: int) -> datetime | None:
    """When the last of ``runs`` runs would end on a site that runs ``at_once`` of them together, the
    first starting at ``start`` and each taking ``duration``; None when either is unknown."""
    if start is None or duration is None or at_once < 1:
        return None
    return start + timedelta(seconds=duration * math.ceil(runs / at_once))


def at_once(limits: SiteLimits, licences: dict[str, int]) -> int:
    """How many runs of one user needing ``licences`` the site holds together."""
    room = capacity(limits, licences)
    return min(room, limits.max_jobs_per_user) if limits.max_jobs_per_user else room
