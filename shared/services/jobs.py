"""Use cases of jobs for their owners: create, list, read, set fields, run, wait for a status,
cancel, delete.

Every change goes through ``JobChanges`` (read-modify-write with the job's ETag). Another user's job
is NotFound, like a job that does not exist; an admin may act on every job.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from shared.auth import USER_ID, Principal
from shared.domain.jobs import Job, JobStatus, JobSummary, Transition, new_job_id
from shared.domain.messages import JobMessage
from shared.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PreconditionFailed,
    StaleWrite,
    TransientError,
    ValidationFailed,
)
from shared.logs import job_log
from shared.services.changes import UPDATE_ATTEMPTS, Change, JobChanges
from shared.services.followers import RECHECK_SECONDS, Answers, Signals
from shared.services.paging import fetch_page
from shared.services.ports import (
    CaseRepository,
    Clock,
    IdempotencyKeyReused,
    IdempotencyRecord,
    JobQueue,
    JobRepository,
    LiveStore,
    OutputStore,
    Page,
    PageRequest,
    Stored,
)
from shared.services.sites import Offer, Sites

log = logging.getLogger("simgate.jobs")

STATUS = "status"


class Jobs:
    def __init__(self, cases: CaseRepository, jobs: JobRepository, outputs: OutputStore, queue: JobQueue,
                 changes: JobChanges, clock: Clock, *, signals: Signals, answers: Answers, live: LiveStore,
                 sites: Sites) -> None:
        self._cases = cases
        self._jobs = jobs
        self._outputs = outputs
        self._queue = queue
        self._changes = changes
        self._clock = clock
        self._signals = signals
        self._answers = answers
        self._live = live
        self._sites = sites

    # --- reading ---

    def get(self, caller: Principal, job_id: str) -> Stored[Job]:
        """The job if the caller owns it (or is an admin); someone else's job is NotFound, like no job."""
        stored = self._jobs.find(job_id)
        if stored is None or (stored.item.owner != caller.user_id and not caller.is_admin):
            raise NotFound(f"there is no job '{job_id[:80]}'")
        return stored

    def get_many(self, caller: Principal, job_ids: list[str]) -> list[Job]:
        """The caller's jobs of these ids, in that order: one that is not there (or not the caller's)
        is NotFound, like ``get``."""
        found = self._jobs.find_many(job_ids)
        for job_id in job_ids:
            stored = found.get(job_id)
            if stored is None or (stored.item.owner != caller.user_id and not caller.is_admin):
                raise NotFound(f"there is no job '{job_id[:80]}'")
        return [found[job_id].item for job_id in job_ids]

    def recent(self, caller: Principal, job_id: str) -> Stored[Job]:
        """``get``, from what this instance knows lately where it can (see JobRepository.recent)."""
        stored = self._jobs.recent(job_id)
        if stored is None or (stored.item.owner != caller.user_id and not caller.is_admin):
            raise NotFound(f"there is no job '{job_id[:80]}'")
        return stored

    def list(self, caller: Principal, page: PageRequest, *, status: JobStatus | None = None,
             case_id: str | None = None, user: str | None = None, all_users: bool = False) -> Page[JobSummary]:
        """A page of the caller's jobs, newest first; admins may ask for ``user``'s or everyone's."""
        owner: str | None = caller.user_id
        if all_users or (user and user != owner):
            if not caller.is_admin:
                raise Forbidden("only admins list other users' jobs")
            owner = None if all_users else user
        return fetch_page(lambda per_page, token, skip: self._jobs.list_jobs(
            owner, per_page, token, skip=skip, status=status, case_id=case_id), page)

    def wait_for_status(self, caller: Principal, job_id: str, *, wait: float = 0,
                        since: JobStatus | None = None, known: str | None = None) -> Stored[Job] | None:
        """The job now, or as soon as it moves on, waiting at most ``wait`` seconds: its status differs
        from ``since``, or (without ``since``) anything shown changed (status, progress, detail). None
        when the caller's ETag ``known`` is still current, known without reading storage."""
        if not wait and self._answers.unchanged((STATUS, job_id), job_id, caller, known):
            return None
        deadline = self._clock.monotonic() + wait
        baseline = known
        while True:
            generation = self._answers.generation(job_id)
            stored = self.get(caller, job_id)
            self._answers.remember((STATUS, job_id), job_id, stored.etag, stored.item.owner, generation)
            baseline = baseline or stored.etag
            moved = stored.item.status != since if since is not None else stored.etag != baseline
            remaining = deadline - self._clock.monotonic()
            if moved or remaining <= 0:
                return stored
            self._signals.wait(job_id, generation, min(RECHECK_SECONDS, remaining))

    # --- changing ---

    def create(self, caller: Principal, case_id: str, title: str, values: dict[str, Any], *,
               owner: str | None = None, idempotency_key: str | None = None) -> tuple[Stored[Job], bool]:
        """A new draft job from the latest version of the case, for the caller (admins: for ``owner``):
        (stored job, whether it was a replay of the same ``idempotency_key``)."""
        owner = owner or caller.user_id
        if owner != caller.user_id and not caller.is_admin:
            raise Forbidden("you can only create jobs for yourself")
        if not USER_ID.match(owner):
            raise ValidationFailed("the user is not valid", errors=[{"field": "user", "message": "not a user id"}])
        case = self._cases.get(case_id)
        checked = {**{f.name: f.default for f in case.definition.fields}, **case.check_values(values)}
        record = None
        if idempotency_key is not None:
            request_hash = sha256_hex(json.dumps([owner, case_id, title, values], sort_keys=True, default=str))
            record = IdempotencyRecord(key_hash=sha256_hex(idempotency_key), request_hash=request_hash)
        now = self._clock.now()
        job = Job(job_id=new_job_id(owner, now), owner=owner, title=title, case_id=case.id,
                  case_version=case.version, fields=checked, created=now, updated=now,
                  idempotency_key_hash=record.key_hash if record else None,
                  history=[Transition(status=JobStatus.DRAFT, at=now, source=f"api:{caller.user_id}",
                                      reason="created")])
        try:
            stored = self._jobs.add(job, record)
        except IdempotencyKeyReused as reused:
            if record is None or reused.request_hash != record.request_hash:
                raise ValidationFailed("this Idempotency-Key was already used for a different request", errors=[
                    {"field": "Idempotency-Key", "message": "use a new key for a new request"}]) from None
            return self.get(caller, reused.item_id), True
        job_log(log, job.job_id).info("created from case %s version %d", case.id, case.version)
        return stored, False

    def set_fields(self, caller: Principal, job_id: str, values: dict[str, Any], if_match: str | None = None
                   ) -> Stored[Job]:
        now = self._clock.now()

        def change(job: Job) -> Job:
            job.require_draft()  # before the values are checked: a running job's values are not up for review
            case = self._cases.get(job.case_id, job.case_version)
            return job.with_fields(case.check_values(values), now)

        return self._change(caller, job_id, change, if_match)

    def run(self, caller: Principal, job_id: str, simulator: str | None = None) -> Stored[Job]:
        """Draft -> submitted (on ``simulator`` if the caller chose one), in its site's line, and the
        start message queued. Running a job that is already on its way changes nothing; for a submitted
        one the start message is sent again (a crash may have lost it)."""
        now = self._clock.now()

        def change(job: Job) -> Job:
            if job.status.terminal:
                raise Conflict(f"job {job_id} is {job.status.value}; it cannot run again")
            if job.status != JobStatus.DRAFT:
                if simulator and simulator != job.simulator:  # a retry of the same choice changes nothing
                    where = f"on {job.simulator}" if job.simulator else "and its site is being chosen"
                    raise Conflict(f"job {job_id} is already {job.status.value} {where}")
                return job
            case = self._cases.get(job.case_id, job.case_version)
            case.render(job.fields, job_id=job.job_id, job_title=job.title)  # 422 now, not a failed job later
            moved = job.move(JobStatus.SUBMITTED, at=now, source=f"api:{caller.user_id}", reason="run requested")
            if simulator:
                self._sites.check_choice(case, simulator)
                moved = moved.placed(simulator, f"{simulator}: chosen by {caller.user_id}")
            self._sites.enlist(moved, case, simulator)  # in the line before the job says it is submitted
            return moved

        stored = self._change(caller, job_id, change)
        if stored.item.status == JobStatus.SUBMITTED and not stored.item.cancel_requested:
            self._queue.send(JobMessage.start(stored.item))
            job_log(log, job_id).info("run requested by %s: start message queued", caller.user_id)
        return stored

    def offers(self, caller: Principal, job_id: str) -> tuple[Job, list[Offer]]:
        """The caller's job, where it could run, and when each site would start it."""
        job = self.get(caller, job_id).item
        return job, self._sites.offers(job, self._cases.get(job.case_id, job.case_version))

    def cancel(self, caller: Principal, job_id: str) -> Stored[Job]:
        """A draft is cancelled at once; an active job is marked and the manager asked to cancel it."""
        now = self._clock.now()
        stored = self._change(caller, job_id, lambda job: job.request_cancel(caller.user_id, now))
        if stored.item.status.active:
            self._queue.send(JobMessage.cancel(stored.item))
        job_log(log, job_id).info("cancel requested by %s (job is %s)", caller.user_id, stored.item.status.value)
        return stored

    def relaunch(self, caller: Principal, job_id: str) -> Stored[Job]:
        """A new draft of the same case version with the same values, for the caller: an admin who
        relaunches someone else's job gets a draft of their own, whose history names the original owner."""
        original = self.get(caller, job_id).item
        now = self._clock.now()
        job = original.relaunched(new_job_id(caller.user_id, now), now, caller.user_id)
        stored = self._jobs.add(job)
        job_log(log, job.job_id).info("relaunched from job %s by %s", job_id, caller.user_id)
        return stored

    def delete(self, caller: Principal, job_id: str) -> None:
        """Delete a draft or finished job and its outputs (outputs first: a failure leaves the job to retry)."""
        for _ in range(UPDATE_ATTEMPTS):
            stored = self.get(caller, job_id)
            if stored.item.status.active:
                raise Conflict(f"job {job_id} is {stored.item.status.value}; cancel it and wait until it ends")
            self._outputs.delete_outputs(job_id)
            self._live.delete(job_id)
            try:
                self._jobs.delete(stored.item, stored.etag)
            except StaleWrite:
                continue
            job_log(log, job_id).info("deleted by %s", caller.user_id)
            return
        raise TransientError(f"job {job_id} is changing too often right now; try again")

    def _change(self, caller: Principal, job_id: str, change: Change, if_match: str | None = None) -> Stored[Job]:
        """Apply ``change`` to the caller's job; a client's own If-Match that no longer matches is a 412."""
        def read() -> Stored[Job]:
            stored = self.get(caller, job_id)
            if if_match not in (None, "*") and if_match != stored.etag:
                raise PreconditionFailed(f"job {job_id} has changed since you read it (If-Match)")
            return stored

        return self._changes.apply(job_id, change, read)


def sha256_hex(text: str) -> str:
    """An Idempotency-Key's or a request's hash, as stored."""
    return hashlib.sha256(text.encode()).hexdigest()
