"""Sweeps: one case version run over combinations of field values.

A sweep is checked whole before anything is written; then the sweep (with its checked plan) is
stored first, its members after it in writes of a hundred, each with an id derived from the sweep
and its place in the plan. A create that is retried (the same Idempotency-Key) or read a while after
it was interrupted finishes writing the members the first one did not, and cannot write one twice.
Members asked to run enter their site's line like any run: the governor decides when each starts.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from shared.auth import Principal
from shared.domain import sweeps as plans
from shared.domain.cases import PublishedCase
from shared.domain.jobs import Job, JobStatus, JobSummary
from shared.domain.messages import JobMessage, SweepMessage
from shared.domain.sweeps import Sweep, SweepPlan, new_sweep_id, render_member
from shared.errors import Conflict, NotFound, StaleWrite, ValidationFailed
from shared.services.followers import Bounded
from shared.services.jobs import Jobs, sha256_hex
from shared.services.paging import fetch_page
from shared.services.ports import (
    CaseRepository,
    Clock,
    IdempotencyKeyReused,
    IdempotencyRecord,
    JobQueue,
    JobRepository,
    Page,
    PageRequest,
    Stored,
    SweepStore,
)
from shared.services.sites import Sites

log = logging.getLogger("simgate.sweeps")

RESUME_AFTER = timedelta(seconds=60)  # an unfinished create this old was interrupted: a read has it finished
WRITTEN_AT_ONCE = 100  # a sweep of at most this many members is written by its create (one transaction)
WORKERS = 8  # storage and queue calls in flight at once for one sweep

Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass(frozen=True)
class SweepRequest:
    case_id: str
    title: str
    plan: SweepPlan
    run: bool = False
    simulator: str | None = None


@dataclass(frozen=True)
class Member:
    index: int
    job: Job  # the current attempt
    values: dict[str, Any]
    attempts: int


@dataclass(frozen=True)
class SweepView:
    sweep: Sweep
    members: list[Member]
    counts: dict[str, int]
    progress: float
    state: str


def _each(work: Callable[[Item], Result], items: Sequence[Item]) -> list[Result]:
    """``work`` on every item, a few at once; the first error is raised once all have been tried."""
    if len(items) <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(WORKERS, len(items))) as pool:
        futures = [pool.submit(work, item) for item in items]
    return [future.result() for future in futures]


class Sweeps:
    def __init__(self, cases: CaseRepository, jobs: JobRepository, store: SweepStore, job_service: Jobs,
                 queue: JobQueue, sites: Sites, clock: Clock, *, max_members: int) -> None:
        self._cases = cases
        self._jobs = jobs
        self._store = store
        self._job_service = job_service
        self._queue = queue
        self._sites = sites
        self._clock = clock
        self.max_members = max_members
        self._nudged: Bounded[str, int] = Bounded(256)  # sweep -> the minute this instance last nudged it

    # --- creating ---

    def create(self, caller: Principal, request: SweepRequest, *, idempotency_key: str | None = None
               ) -> tuple[Sweep, bool]:
        """The sweep, and whether it was a replay of ``idempotency_key``. Every value is checked first: a
        sweep with one bad value is a 422 and nothing is written. Its members' job ids follow from it
        (``Sweep.member_ids``) whether they are written yet or not."""
        record = None
        if idempotency_key is not None:  # a replay is known before anything is checked (the case may be newer)
            record = IdempotencyRecord(key_hash=sha256_hex(idempotency_key), request_hash=_request_hash(caller, request))
            used = self._store.idempotent(caller.user_id, record.key_hash)
            if used is not None:
                return self._replay(caller, record, *used), True
        case = self._cases.get(request.case_id)
        plan = plans.check_plan(case.definition.fields, request.plan, self.max_members).raise_problems()
        if request.simulator:
            if not request.run:
                raise ValidationFailed("a simulator is chosen for a run: set run to true or leave it out", errors=[
                    {"field": "simulator", "message": "only with run: true"}])
            self._sites.check_choice(case, request.simulator)
        now = self._clock.now()
        sweep = Sweep(sweep_id=new_sweep_id(caller.user_id, now), owner=caller.user_id, title=request.title,
                      case_id=case.id, case_version=case.version, mode=plan.mode, base=plan.base, vary=plan.vary,
                      rows=plan.rows, total=plan.size, run=request.run, simulator=request.simulator, created=now,
                      idempotency_key_hash=record.key_hash if record else None)
        values = plan.members()
        render_member(case, sweep.member(case.definition.fields, 0, values[0], now), 0)  # the templates work: 422 now
        try:
            stored = self._store.add(sweep, record)
        except IdempotencyKeyReused as reused:  # the same key, sent twice at once
            return self._replay(caller, record, reused.item_id, reused.request_hash), True
        log.info("sweep %s of case %s version %d: %d members", sweep.sweep_id, case.id, case.version, sweep.total)
        if sweep.total <= WRITTEN_AT_ONCE:  # a safety net: if this request dies halfway, the manager finishes
            self._queue.send(SweepMessage(sweep_id=sweep.sweep_id, nudge="unless-done"), not_before=now + RESUME_AFTER)
        return self._write(stored, case, fresh=True), False

    def _replay(self, caller: Principal, record: IdempotencyRecord | None, sweep_id: str, request_hash: str) -> Sweep:
        """The sweep an earlier create with this key made, finished if that create was cut short; the key
        with another request is a 422."""
        if record is None or request_hash != record.request_hash:
            raise ValidationFailed("this Idempotency-Key was already used for a different request", errors=[
                {"field": "Idempotency-Key", "message": "use a new key for a new request"}])
        stored = self._get(caller, sweep_id)
        log.info("sweep %s: create replayed", sweep_id)
        return self._write(stored, self._cases.get(stored.item.case_id, stored.item.case_version), fresh=False)

    def _write(self, stored: Stored[Sweep], case: PublishedCase, *, fresh: bool) -> Sweep:
        """The members written now when they are few; the manager writes a larger sweep's from the queue
        (its create answers at once, saying it is not complete yet)."""
        if stored.item.total <= WRITTEN_AT_ONCE:
            self._finish(stored, case, fresh=fresh)
            return stored.item.model_copy(update={"materialised": True})
        if not stored.item.materialised:
            self._queue.send(SweepMessage(sweep_id=stored.item.sweep_id))
        return stored.item

    def write_members(self, sweep_id: str) -> str:
        """The manager's part: write the members of a sweep its create left (idempotent)."""
        stored = self._store.find(sweep_id)
        if stored is None:
            return "dropped: no such sweep"
        if stored.item.materialised:
            return "nothing to do: its members are written"
        written = self._finish(stored, self._cases.get(stored.item.case_id, stored.item.case_version), fresh=False)
        return f"{written} of {stored.item.total} members written"

    def _finish(self, stored: Stored[Sweep], case: PublishedCase, *, fresh: bool) -> int:
        """Write the members not written yet (asked to run, for a sweep that runs), then mark the sweep
        complete; how many were written now. ``fresh``: nothing of it can exist yet, so nothing is read."""
        sweep = stored.item
        if sweep.materialised:
            return 0
        now = self._clock.now()
        existing = {} if fresh else {job.job_id: job for job in self._jobs.members(sweep)}
        wanted = [sweep.member(case.definition.fields, index, values, now)
                  for index, values in enumerate(sweep.plan.members())]
        new = [job for job in wanted if job.job_id not in existing]
        if sweep.run:
            self._launch(sweep, case, [self._submitted(sweep, job, now, sweep.owner) for job in new])
            again = [job for job in existing.values() if job.status == JobStatus.SUBMITTED and not job.cancel_requested]
            _each(lambda job: self._queue.send(JobMessage.start(job)), again)  # the crash may have lost them
        else:
            self._jobs.add_many(new)
        try:
            self._store.update(sweep.model_copy(update={"materialised": True}), stored.etag)
        except StaleWrite:  # another request finished it meanwhile: the same members, written once
            pass
        return len(new)

    def _submitted(self, sweep: Sweep, job: Job, now: datetime, by: str) -> Job:
        moved = job.move(JobStatus.SUBMITTED, at=now, source=f"api:{by}", reason="run requested with its sweep")
        if sweep.simulator:
            moved = moved.placed(sweep.simulator, f"{sweep.simulator}: chosen by {sweep.owner} for sweep "
                                                  f"{sweep.sweep_id}")
        return moved

    def _launch(self, sweep: Sweep, case: PublishedCase, jobs: list[Job]) -> None:
        """Submitted members: in their line before they exist (the reconciler finds active jobs there),
        then written, then their starts queued."""
        _each(lambda job: self._sites.enlist(job, case, sweep.simulator), jobs)
        self._jobs.add_many(jobs)
        _each(lambda job: self._queue.send(JobMessage.start(job)), jobs)

    # --- reading ---

    def get(self, caller: Principal, sweep_id: str) -> Sweep:
        return self._get(caller, sweep_id).item

    def _get(self, caller: Principal, sweep_id: str) -> Stored[Sweep]:
        stored = self._store.find(sweep_id)
        if stored is None or (stored.item.owner != caller.user_id and not caller.is_admin):
            raise NotFound(f"there is no sweep '{sweep_id[:80]}'")
        return stored

    def view(self, caller: Principal, sweep_id: str) -> SweepView:
        """Counts by status, progress and the current attempt of every member; an interrupted create
        (unfinished for a while) is finished first."""
        stored = self._get(caller, sweep_id)
        sweep = stored.item
        if not sweep.materialised and self._clock.now() - sweep.created > RESUME_AFTER:
            self._nudge(sweep)
        members = current_members(sweep, self._jobs.members(sweep))
        counts = Counter(member.job.status.value for member in members)
        finished = [m for m in members if m.job.status.terminal]
        running = sum(m.job.progress or 0 for m in members if m.job.status in (JobStatus.RUNNING, JobStatus.CLEANUP))
        # a member whose jobs were all deleted is not counted: the sweep is what is left of it
        progress = (len(finished) + running) / len(members) if members else 1.0
        if not sweep.materialised:
            state = "creating"
        elif any(m.job.status.active for m in members):
            state = "active"
        elif len(finished) == len(members):
            state = "finished"
        else:
            state = "draft"
        return SweepView(sweep, members, dict(counts), min(progress, 1.0), state)

    def _nudge(self, sweep: Sweep) -> None:
        """Its create was cut short, or its message lost: the manager is asked to write what is missing,
        once a minute at most (a stable message id per minute; and this instance remembers)."""
        minute = int(self._clock.now().timestamp()) // 60
        if self._nudged.get(sweep.sweep_id) == minute:
            return
        self._nudged[sweep.sweep_id] = minute
        self._queue.send(SweepMessage(sweep_id=sweep.sweep_id, nudge=f"read-{minute}"))

    def list(self, caller: Principal, page: PageRequest, *, case_id: str | None = None) -> Page[Sweep]:
        return fetch_page(lambda per_page, token, skip: self._store.list_sweeps(
            caller.user_id, per_page, token, skip=skip, case_id=case_id), page)

    def jobs(self, caller: Principal, sweep_id: str, page: PageRequest, *, status: JobStatus | None = None
             ) -> Page[JobSummary]:
        """A page of the sweep's jobs (every attempt), in the sweep's order."""
        sweep = self.get(caller, sweep_id)
        return fetch_page(lambda per_page, token, skip: self._jobs.list_jobs(
            sweep.owner, per_page, token, skip=skip, status=status, sweep=sweep), page)

    # --- acting on every member ---

    def run(self, caller: Principal, sweep_id: str, simulator: str | None = None) -> tuple[int, int]:
        """Ask every member still a draft to run (on ``simulator`` if one is chosen): (how many were asked
        now, how many were not drafts). The sites' limits decide when each starts."""
        view = self.view(caller, sweep_id)
        if not view.sweep.materialised:
            raise Conflict(f"sweep {sweep_id} is still being created; run it once it is (within a minute)")
        if simulator:
            self._sites.check_choice(self._cases.get(view.sweep.case_id, view.sweep.case_version), simulator)
        drafts = [m.job.job_id for m in view.members if m.job.status == JobStatus.DRAFT]

        def run(job_id: str) -> bool:
            try:
                self._job_service.run(caller, job_id, simulator)
                return True
            except Conflict:  # cancelled meanwhile
                return False

        started = sum(_each(run, drafts))
        log.info("sweep %s: %d draft members asked to run by %s", sweep_id, started, caller.user_id)
        return started, len(view.members) - started

    def cancel(self, caller: Principal, sweep_id: str) -> tuple[int, int]:
        """Cancel every member not finished: (how many were asked to cancel now, how many had finished)."""
        view = self.view(caller, sweep_id)
        if not view.sweep.materialised:
            raise Conflict(f"sweep {sweep_id} is still being created; cancel it once it is (within a minute)")
        members = view.members
        open_ = [m.job.job_id for m in members if not m.job.status.terminal]

        def cancel(job_id: str) -> bool:
            try:
                self._job_service.cancel(caller, job_id)
                return True
            except Conflict:  # it finished meanwhile
                return False

        cancelled = sum(_each(cancel, open_))
        log.info("sweep %s: cancel requested by %s for %d members", sweep_id, caller.user_id, cancelled)
        return cancelled, len(members) - cancelled

    def retry(self, caller: Principal, sweep_id: str) -> list[str]:
        """A new attempt of every failed member, asked to run; their ids (derived from the failed
        attempt, so a retry sent twice makes each once)."""
        view = self.view(caller, sweep_id)
        sweep = view.sweep
        if not sweep.materialised:
            raise Conflict(f"sweep {sweep_id} is still being created; retry once it is")
        case = self._cases.get(sweep.case_id, sweep.case_version)
        now = self._clock.now()
        failed = [m for m in view.members if m.job.status == JobStatus.FAILED]
        again = [self._submitted(sweep, sweep.member(case.definition.fields, m.index, m.values, now,
                                                     attempt=m.job.sweep_attempt + 1, by=caller.user_id), now,
                                 caller.user_id)
                 for m in failed]
        self._launch(sweep, case, again)
        log.info("sweep %s: %d failed members relaunched by %s", sweep_id, len(again), caller.user_id)
        return [job.job_id for job in again]


def _request_hash(caller: Principal, request: SweepRequest) -> str:
    """What a create asked for, as sent (vary's order included: it orders the members)."""
    plan = request.plan
    return sha256_hex(json.dumps([caller.user_id, request.case_id, request.title, plan.base, list(plan.vary.items()),
                                  plan.mode, plan.rows, plan.table, request.run, request.simulator],
                                 sort_keys=True, default=str))


def current_members(sweep: Sweep, jobs: Iterable[Job]) -> list[Member]:
    """Per member, its latest attempt (and how many it had), in the sweep's order."""
    latest: dict[int, Job] = {}
    attempts: Counter[int] = Counter()
    for job in jobs:
        if job.sweep_id != sweep.sweep_id or job.sweep_index is None:
            continue
        attempts[job.sweep_index] += 1
        if job.sweep_index not in latest or job.sweep_attempt > latest[job.sweep_index].sweep_attempt:
            latest[job.sweep_index] = job
    varied = sweep.varied
    return [Member(index, job, {name: job.fields.get(name) for name in varied}, attempts[index])
            for index, job in sorted(latest.items())]
