"""Use cases of jobs: create, set fields, run, list, read, wait for a status, cancel, delete.

Every change is read-modify-write with the job's ETag: a concurrent change makes the write fail, and
the change is applied again to what is stored now (or the caller's own If-Match is reported as 412).
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from shared.adapters.job_queue import JobQueue, QueueMessage
from shared.auth import USER_ID, Principal
from shared.domain.jobs import Job, JobStatus, JobSummary, Transition, new_job_id
from shared.errors import Conflict, Forbidden, NotFound, PreconditionFailed, TransientError, ValidationFailed
from shared.services.paging import PageQuery, fetch_page
from shared.services.ports import (
    CaseRepository,
    IdempotencyKeyReused,
    IdempotencyRecord,
    JobRepository,
    OutputStore,
    Page,
    Stored,
)

MAX_WAIT_SECONDS = 25
UPDATE_ATTEMPTS = 10


def _as_values(value: Any) -> Any:
    """[{name, value}, ...] or {name: value}: both become {name: value}."""
    if not isinstance(value, list):
        return value
    values: dict[str, Any] = {}
    for index, item in enumerate(value):
        if not isinstance(item, dict) or set(item) - {"name", "value"} or not isinstance(item.get("name"), str):
            raise ValueError(f"entry {index} must be {{\"name\": ..., \"value\": ...}}")
        if item["name"] in values:
            raise ValueError(f"field {item['name']!r} is set twice")
        values[item["name"]] = item.get("value")
    return values


FieldValues = Annotated[dict[str, Any], BeforeValidator(_as_values)]


class NewJob(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    case_id: str = Field(min_length=1, max_length=64)
    job_title: str = Field(min_length=1, max_length=200)
    user: str | None = Field(default=None, max_length=128)
    fields: FieldValues = Field(default_factory=dict)


class FieldsUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fields: FieldValues = Field(min_length=1)


class JobListQuery(PageQuery):
    status: JobStatus | None = None
    case_id: str | None = Field(default=None, max_length=64)
    user: str | None = Field(default=None, max_length=128)


class StatusQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    wait: float = Field(default=0, ge=0, le=MAX_WAIT_SECONDS)
    since: JobStatus | None = None


def start_message(job: Job) -> QueueMessage:
    return _message(job, "start")


def cancel_message(job: Job) -> QueueMessage:
    return _message(job, "cancel")


def _message(job: Job, action: str) -> QueueMessage:
    # The message id is derived from the job, so Service Bus duplicate detection drops a resend.
    return QueueMessage(
        message_id=f"{job.job_id}:{action}",
        subject=action,
        body={"action": action, "job_id": job.job_id},
        application_properties={"action": action, "job_id": job.job_id, "case_id": job.case_id},
    )


# --- reading ---


def load_job(jobs: JobRepository, principal: Principal, admin_role: str, job_id: str) -> Stored[Job]:
    """The job if the caller owns it (or is an admin); someone else's job is NotFound, like no job."""
    stored = jobs.get(job_id)
    if stored.item.owner != principal.user_id and not principal.has_role(admin_role):
        raise NotFound(f"there is no job '{job_id}'")
    return stored


def list_jobs(jobs: JobRepository, principal: Principal, admin_role: str, query: JobListQuery) -> Page[JobSummary]:
    owner = principal.user_id
    if query.user and query.user != owner:
        if not principal.has_role(admin_role):
            raise Forbidden("only admins list other users' jobs")
        owner = query.user
    return fetch_page(lambda per_page, token: jobs.list_for_owner(
        owner, per_page, token, status=query.status, case_id=query.case_id), query)


def wait_for_status(jobs: JobRepository, principal: Principal, admin_role: str, job_id: str, query: StatusQuery,
                    *, sleep: Callable[[float], None] = time.sleep,
                    clock: Callable[[], float] = time.monotonic) -> Stored[Job]:
    """The job now, or as soon as its status differs from ``since`` (default: its status now),
    waiting at most ``query.wait`` seconds."""
    stored = load_job(jobs, principal, admin_role, job_id)
    known = query.since or stored.item.status
    deadline = clock() + query.wait
    while stored.item.status == known and (remaining := deadline - clock()) > 0:
        sleep(min(1.0, remaining))
        stored = load_job(jobs, principal, admin_role, job_id)
    return stored


# --- changing ---


def change_job(jobs: JobRepository, principal: Principal, admin_role: str, job_id: str,
               change: Callable[[Job], Job], if_match: str | None = None) -> Stored[Job]:
    """Apply ``change`` to the caller's job (see ``apply_change``); a client's own If-Match that no
    longer matches is a 412."""
    def read() -> Stored[Job]:
        stored = load_job(jobs, principal, admin_role, job_id)
        if if_match not in (None, "*") and if_match != stored.etag:
            raise PreconditionFailed(f"job {job_id} has changed since you read it (If-Match)")
        return stored

    return apply_change(jobs, job_id, read, change)


def find_job(jobs: JobRepository, job_id: str) -> Stored[Job] | None:
    """The job, or None where it does not exist (for the callers to whom that is no error)."""
    try:
        return jobs.get(job_id)
    except NotFound:
        return None


def apply_change(jobs: JobRepository, job_id: str, read: Callable[[], Stored[Job] | None],
                 change: Callable[[Job], Job]) -> Stored[Job] | None:
    """Read the job, apply ``change`` and write it with its ETag; on a concurrent change, again with
    what is stored now. ``change`` returns the same object for "nothing to do"; its errors leave the
    job as it was. None when ``read`` finds no job."""
    for _ in range(UPDATE_ATTEMPTS):
        stored = read()
        if stored is None:
            return None
        changed = change(stored.item)
        if changed is stored.item:
            return stored
        try:
            return jobs.update(changed, stored.etag)
        except PreconditionFailed:
            time.sleep(random.uniform(0.005, 0.05))  # spread the writers that collided
    raise TransientError(f"job {job_id} is changing too often right now; try again")


def create_job(cases: CaseRepository, jobs: JobRepository, principal: Principal, admin_role: str,
               request: NewJob, now: datetime, idempotency_key: str | None = None) -> tuple[Stored[Job], bool]:
    """A new draft job from the latest version of the case: (stored job, whether it was a replay)."""
    owner = request.user or principal.user_id
    if owner != principal.user_id and not principal.has_role(admin_role):
        raise Forbidden("you can only create jobs for yourself")
    if not USER_ID.match(owner):
        raise ValidationFailed("the user is not valid", errors=[{"field": "user", "message": "not a user id"}])
    case = cases.get(request.case_id)
    values = {**{f.name: f.default for f in case.definition.fields}, **case.check_values(request.fields)}
    record = None
    if idempotency_key is not None:
        record = IdempotencyRecord(key_hash=_sha256(idempotency_key),
                                   request_hash=_sha256(json.dumps([owner, request.model_dump(mode="json")],
                                                                   sort_keys=True)))
    job_id = new_job_id(owner, now)
    job = Job(job_id=job_id, owner=owner, title=request.job_title, case_id=case.id, case_version=case.version,
              fields=values, created=now, updated=now, idempotency_key_hash=record.key_hash if record else None,
              history=[Transition(status=JobStatus.DRAFT, at=now, source=f"api:{principal.user_id}",
                                  reason="created")])
    try:
        return jobs.add(job, record), False
    except IdempotencyKeyReused as reused:
        if record is None or reused.request_hash != record.request_hash:
            raise ValidationFailed("this Idempotency-Key was already used for a different request", errors=[
                {"field": "Idempotency-Key", "message": "use a new key for a new request"}]) from None
        return jobs.get(reused.job_id), True


def set_fields(cases: CaseRepository, jobs: JobRepository, principal: Principal, admin_role: str, job_id: str,
               update: FieldsUpdate, now: datetime, if_match: str | None = None) -> Stored[Job]:
    def change(job: Job) -> Job:
        if job.status != JobStatus.DRAFT:
            raise Conflict(f"job {job_id} is {job.status.value}: fields can only change while it is a draft")
        case = cases.get(job.case_id, job.case_version)
        return job.with_fields(case.check_values(update.fields), now)

    return change_job(jobs, principal, admin_role, job_id, change, if_match)


def run_job(cases: CaseRepository, jobs: JobRepository, queue: JobQueue, principal: Principal, admin_role: str,
            job_id: str, now: datetime) -> Stored[Job]:
    """Draft -> submitted, and the start message queued. Running a job that is already on its way
    changes nothing; for a submitted one the start message is sent again (a crash may have lost it)."""

    def change(job: Job) -> Job:
        if job.status.terminal:
            raise Conflict(f"job {job_id} is {job.status.value}; it cannot run again")
        if job.status != JobStatus.DRAFT:
            return job
        case = cases.get(job.case_id, job.case_version)
        case.render(job.fields, job_id=job.job_id, job_title=job.title)  # 422 now rather than a failed job later
        return job.move(JobStatus.SUBMITTED, at=now, source=f"api:{principal.user_id}", reason="run requested")

    stored = change_job(jobs, principal, admin_role, job_id, change)
    if stored.item.status == JobStatus.SUBMITTED and not stored.item.cancel_requested:
        queue.send(start_message(stored.item))
    return stored


def cancel_job(jobs: JobRepository, queue: JobQueue, principal: Principal, admin_role: str, job_id: str,
               now: datetime) -> Stored[Job]:
    """A draft is cancelled at once; an active job is marked and the manager asked to cancel it."""
    stored = change_job(jobs, principal, admin_role, job_id, lambda job: job.request_cancel(principal.user_id, now))
    if stored.item.status.active:
        queue.send(cancel_message(stored.item))
    return stored


def delete_job(jobs: JobRepository, outputs: OutputStore, principal: Principal, admin_role: str,
               job_id: str) -> None:
    """Delete a draft or finished job and its outputs (outputs first: a failure leaves the job to retry)."""
    for _ in range(UPDATE_ATTEMPTS):
        stored = load_job(jobs, principal, admin_role, job_id)
        if stored.item.status.active:
            raise Conflict(f"job {job_id} is {stored.item.status.value}; cancel it and wait until it ends")
        outputs.delete_outputs(job_id)
        try:
            jobs.delete(stored.item, stored.etag)
            return
        except PreconditionFailed:
            continue
    raise TransientError(f"job {job_id} is changing too often right now; try again")


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()

