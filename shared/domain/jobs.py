"""Jobs and their status machine.

    draft -> submitted -> queued -> running -> cleanup -> done
    any status before done -> failed | cancelled (terminal)

Transitions only move forward. A repeated or late report (running after cleanup) is a no-op; nothing
leaves a terminal status. A draft only ever moves to submitted (run) or cancelled.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.domain.fields import FieldValue
from shared.errors import Conflict, ValidationFailed


class JobStatus(str, Enum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    QUEUED = "queued"
    RUNNING = "running"
    CLEANUP = "cleanup"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL

    @property
    def active(self) -> bool:
        """Handed to the manager and not finished: cancelling needs the simulator."""
        return self in (JobStatus.SUBMITTED, JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.CLEANUP)

    @property
    def uws(self) -> str:
        """The IVOA UWS phase name, for clients that speak UWS."""
        return _UWS[self]


TERMINAL = frozenset({JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED})
_PROGRESS = [JobStatus.DRAFT, JobStatus.SUBMITTED, JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.CLEANUP,
             JobStatus.DONE]
_RANK = {status: rank for rank, status in enumerate(_PROGRESS)}
_UWS = {
    JobStatus.DRAFT: "PENDING", JobStatus.SUBMITTED: "QUEUED", JobStatus.QUEUED: "QUEUED",
    JobStatus.RUNNING: "EXECUTING", JobStatus.CLEANUP: "EXECUTING", JobStatus.DONE: "COMPLETED",
    JobStatus.FAILED: "ERROR", JobStatus.CANCELLED: "ABORTED",
}
# The seed's spellings and UWS phase names, normalised (lowercase, no spaces, dashes or underscores).
_ALIASES = {
    "pending": JobStatus.DRAFT, "executing": JobStatus.RUNNING, "cleanup": JobStatus.CLEANUP,
    "completed": JobStatus.DONE, "complete": JobStatus.DONE, "error": JobStatus.FAILED,
    "aborted": JobStatus.CANCELLED, "canceled": JobStatus.CANCELLED,
}


def parse_status(text: str) -> JobStatus:
    """A status from its name or an alias ("Running", "clean up", "COMPLETED", ...)."""
    key = re.sub(r"[\s_-]+", "", str(text)).lower()
    for status in JobStatus:
        if status.value == key:
            return status
    if key in _ALIASES:
        return _ALIASES[key]
    names = ", ".join(s.value for s in JobStatus)
    raise ValidationFailed(f"unknown status {str(text)[:40]!r}", errors=[
        {"field": "status", "message": f"must be one of {names} (or a seed or UWS alias)"}])


Decision = Literal["move", "noop", "refuse"]


def decide(current: JobStatus, target: JobStatus) -> Decision:
    """What a request to move from ``current`` to ``target`` does."""
    if current == target:
        return "noop"
    if current.terminal:
        return "refuse"
    if current == JobStatus.DRAFT:
        return "move" if target in (JobStatus.SUBMITTED, JobStatus.CANCELLED) else "refuse"
    if target in (JobStatus.FAILED, JobStatus.CANCELLED) or _RANK.get(target, -1) > _RANK[current]:
        return "move"
    return "noop"  # a late or repeated report: never backwards


class Transition(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: JobStatus
    at: datetime
    source: str  # who moved it: "api:<user>", "manager", "agent", "reconciler"
    reason: str = ""


class CancelRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    by: str
    at: datetime

    def describe(self) -> str:
        return f"cancelled by {self.by} at {self.at.isoformat()}"


class JobSummary(BaseModel):
    """What the job list shows."""

    job_id: str
    title: str
    case_id: str
    case_version: int
    status: JobStatus
    created: datetime
    updated: datetime
    owner: str | None = None
    progress: float | None = None
    sweep_id: str | None = None


class Waiting(BaseModel):
    """A start that could not reach its simulator: since when, how often it was tried, when next."""

    model_config = ConfigDict(frozen=True)

    simulator: str
    since: datetime
    attempts: int = Field(ge=1)
    next_attempt_at: datetime
    cause: str = ""

    def describe(self) -> str:
        return (f"waiting for simulator {self.simulator}: unreachable since {_clock_time(self.since)}, "
                f"next attempt at {_clock_time(self.next_attempt_at)}")


def _clock_time(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC")


# At most this many unconfirmed token hashes are kept: a start that may have reached the simulator
# without its answer reaching the manager leaves one; a confirmed start clears them.
MAX_PENDING_TOKENS = 20


class Job(BaseModel):
    """A job: a case version pinned, the user's field values, where it runs and how it went."""

    model_config = ConfigDict(frozen=True)

    job_id: str
    owner: str
    title: str
    case_id: str
    case_version: int
    fields: dict[str, FieldValue]
    status: JobStatus = JobStatus.DRAFT
    created: datetime
    updated: datetime
    history: list[Transition] = Field(default_factory=list)
    cancel_requested: CancelRequest | None = None
    simulator: str | None = None
    scheduler_job_id: str | None = None
    detail: str = ""
    error: str | None = None
    progress: float | None = None
    outputs: list[dict[str, Any]] = Field(default_factory=list)
    idempotency_key_hash: str | None = None
    # The SHA-256 of the job's agent token: the agent proves itself with the token, never stored.
    agent_token_hash: str | None = None
    # Hashes of tokens sent with starts whose answer is not known yet (the agent may already use one).
    pending_token_hashes: list[str] = Field(default_factory=list, max_length=MAX_PENDING_TOKENS)
    waiting: Waiting | None = None
    placement: str = ""  # where the job went and why ("chosen by alice", "soonest of 2 offers: ...")
    sweep_id: str | None = None  # the sweep the job is a member of
    sweep_index: int | None = None  # its place in the sweep's plan (from 0)
    sweep_attempt: int = 0  # 0 for the member as created, n for its n-th retry

    @property
    def sent(self) -> bool:
        """Whether a start may have reached its simulator (a token went out with one)."""
        return bool(self.agent_token_hash or self.pending_token_hashes or self.scheduler_job_id)

    @property
    def submitted_at(self) -> datetime:
        """When it was asked to run: its place in its site's line."""
        return next((t.at for t in reversed(self.history) if t.status == JobStatus.SUBMITTED), self.updated)

    @property
    def start_attempt(self) -> int:
        """Which start message is the current one: 0 for the first, n for the n-th retry."""
        return self.waiting.attempts if self.waiting else 0

    def accepts_token_hash(self, presented: str) -> bool:
        """Whether ``presented`` is the hash of a token this job's agent may hold (constant time)."""
        known = [h for h in (self.agent_token_hash, *self.pending_token_hashes) if h]
        return any([hmac.compare_digest(presented, h) for h in known])  # a list: compare every one

    def placed(self, simulator: str, why: str) -> "Job":
        return self.model_copy(update={"simulator": simulator, "placement": why})

    def with_pending_token(self, token_hash: str, simulator: str) -> "Job":
        pending = [*self.pending_token_hashes, token_hash][-MAX_PENDING_TOKENS:]
        return self.model_copy(update={"pending_token_hashes": pending, "simulator": simulator})

    def move(self, target: JobStatus, *, at: datetime, source: str, reason: str = "", **changes: Any) -> "Job":
        """The job in ``target`` status with ``changes`` applied; the same job for a no-op;
        Conflict when the move is not allowed."""
        decision = decide(self.status, target)
        if decision == "refuse":
            raise Conflict(f"job {self.job_id} is {self.status.value}; it cannot become {target.value}")
        if decision == "noop":
            return self
        history = [*self.history, Transition(status=target, at=at, source=source, reason=reason)]
        detail = reason or self.detail
        if target == JobStatus.FAILED:
            changes.setdefault("error", reason)
        return self.model_copy(update={"status": target, "updated": at, "history": history, "detail": detail,
                                       **changes})

    def request_cancel(self, by: str, at: datetime) -> "Job":
        """A draft is cancelled at once; an active job is marked for the manager to cancel."""
        if self.status.terminal:
            raise Conflict(f"job {self.job_id} is already {self.status.value}")
        request = self.cancel_requested or CancelRequest(by=by, at=at)
        if self.status == JobStatus.DRAFT:
            return self.move(JobStatus.CANCELLED, at=at, source=f"api:{by}", reason=request.describe(),
                             cancel_requested=request)
        if self.cancel_requested:
            return self
        return self.model_copy(update={"cancel_requested": request, "updated": at,
                                       "detail": f"cancellation requested by {by}"})

    def summary(self) -> JobSummary:
        return JobSummary(job_id=self.job_id, title=self.title, case_id=self.case_id, case_version=self.case_version,
                          status=self.status, created=self.created, updated=self.updated, owner=self.owner,
                          progress=self.progress, sweep_id=self.sweep_id)

    def require_draft(self) -> None:
        """Conflict unless the job is a draft: only a draft's values may change."""
        if self.status != JobStatus.DRAFT:
            raise Conflict(f"job {self.job_id} is {self.status.value}: fields can only change while it is a draft")

    def with_fields(self, values: dict[str, FieldValue], at: datetime) -> "Job":
        self.require_draft()
        return self.model_copy(update={"fields": {**self.fields, **values}, "updated": at})

    def relaunched(self, job_id: str, at: datetime, by: str) -> "Job":
        """A new draft of the same case version with the same values, titled "<title> (n)", owned by
        whoever relaunches it (an admin relaunching someone else's job gets a draft of their own)."""
        origin = f"relaunched from job {self.job_id}" + (f" of {self.owner}" if by != self.owner else "")
        return Job(job_id=job_id, owner=by, title=relaunch_title(self.title), case_id=self.case_id,
                   case_version=self.case_version, fields=dict(self.fields), created=at, updated=at,
                   history=[Transition(status=JobStatus.DRAFT, at=at, source=f"api:{by}", reason=origin)])


_NUMBERED = re.compile(r"^(.*) \((\d{1,6})\)$")
MAX_TITLE = 200


def relaunch_title(title: str) -> str:
    """"Test 1" -> "Test 1 (2)"; "Test 1 (2)" -> "Test 1 (3)"."""
    found = _NUMBERED.match(title)
    base, number = (found.group(1), int(found.group(2)) + 1) if found else (title, 2)
    suffix = f" ({number})"
    return base[:MAX_TITLE - len(suffix)] + suffix


# --- the agent's token ----------------------------------------------------------------------------


def new_agent_token() -> str:
    return secrets.token_urlsafe(32)


def agent_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- job ids -------------------------------------------------------------------------------------
#
# "<owner partition>-<inverted milliseconds>-<random>", e.g. "5f2c9a0e11b7-8230312345678-3fa9c2d1".
# The first part is the owner's Table partition (a hash of the user id), so a job is found by its id
# alone with a point read, and a user's jobs are one partition. The inverted time makes a partition
# list newest first.

_MAX_MILLIS = 10**13
JOB_ID = re.compile(r"^[0-9a-f]{12}-[0-9]{13}-[0-9a-f]{8}$")


def owner_partition(owner: str) -> str:
    return hashlib.sha256(owner.encode()).hexdigest()[:12]


def new_job_id(owner: str, now: datetime) -> str:
    inverted = _MAX_MILLIS - int(now.timestamp() * 1000)
    return f"{owner_partition(owner)}-{inverted:013d}-{secrets.token_hex(4)}"


def partition_of(job_id: str) -> str | None:
    """The partition a job id names, or None for a string that is not a job id."""
    return job_id[:12] if JOB_ID.match(job_id) else None
