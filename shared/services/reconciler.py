"""The reconciler: one cycle, run by a timer. It repairs jobs whose webhooks were lost and fails the
ones that vanished, so no job stays queued, running or in cleanup with nobody working on it.

A cycle reads the jobs in the sites' lines (shared/services/sites.py: every job active on a site or
waiting for one, so a cycle costs what is active, not the table's history), takes the stale ones
(unchanged for ``stale_after``), asks each simulator about all
of its stale jobs in one batch, and moves each job as ``shared.domain.reconcile.verdict`` says. Jobs
whose outputs are still on the simulator because their agent could not deliver them move to cleanup
and get a fresh upload grant, handed to the agent over SSH in one more batch per simulator; the agent
uploads in the background and reports done. Jobs still ``submitted`` get their start message again
(unless they are waiting for an unreachable simulator and their next attempt is still due, or wait
in their site's line for a grant), and
active jobs with a cancel request their cancel message: the manager handles both idempotently, and
Service Bus drops a resend whose original it already has (duplicate detection on the message id).
Each cycle also sweeps the staging area the upload grants write to: the uploads of jobs that have
ended or no longer exist are removed, so an old grant's writes last one cycle at most. Last, the
governor recounts every site from the jobs' own states: grants of jobs that left are dropped, and the
jobs that fit now are sent their start.

It never overrides fresher news: a job that changed after it was listed is left to the next cycle,
and a simulator that cannot be reached is skipped (its jobs are not failed for it).
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from pydantic import ValidationError

from shared.config import SimulatorSpec, simulator_named
from shared.domain.jobs import Job, JobStatus, decide
from shared.domain.messages import JobMessage
from shared.domain.outputs import ReportedFile
from shared.domain.reconcile import RECONCILED, Verdict, verdict
from shared.domain.sites import LineEntry
from shared.errors import SimgateError, SimulatorError, ValidationFailed
from shared.logs import job_log
from shared.services.agent_reports import UPLOAD_GRANT_TTL
from shared.services.changes import JobChanges
from shared.services.outputs import release_after_seal, sealed_outputs, sweep_staging
from shared.services.ports import Clock, JobQueue, JobRepository, Link, OutputStore, SimulatorGateway
from shared.services.sites import Recount, Sites

log = logging.getLogger("simgate.reconciler")

SOURCE = "reconciler"
MAX_JOBS_PER_CYCLE = 5000


@dataclass
class Cycle:
    """What one cycle did, for the log."""

    examined: int = 0
    moved: Counter = field(default_factory=Counter)  # target status -> jobs moved there
    resent: Counter = field(default_factory=Counter)  # start / cancel -> messages sent again
    handed_over: int = 0  # jobs whose agents got a fresh upload grant
    swept: int = 0  # jobs whose staged uploads were removed (ended or gone)
    unreachable: list[str] = field(default_factory=list)
    recount: Recount | None = None

    def __str__(self) -> str:
        parts = [f"{self.examined} stale jobs examined"]
        parts += [f"{count} moved to {status}" for status, count in sorted(self.moved.items())]
        parts += [f"{count} {action} messages resent" for action, count in sorted(self.resent.items())]
        if self.handed_over:
            parts.append(f"{self.handed_over} upload grants handed over")
        if self.swept:
            parts.append(f"staged uploads of {self.swept} ended or deleted jobs removed")
        if self.unreachable:
            parts.append(f"not reached: {', '.join(self.unreachable)}")
        if self.recount:
            parts.append(str(self.recount))
        return "; ".join(parts)


class Reconciler:
    def __init__(self, jobs: JobRepository, simulators: SimulatorGateway, simulator_specs: Sequence[SimulatorSpec],
                 outputs: OutputStore, queue: JobQueue, changes: JobChanges, clock: Clock, sites: Sites,
                 stale_after: timedelta,
                 max_jobs: int = MAX_JOBS_PER_CYCLE) -> None:
        self.jobs = jobs
        self.simulators = simulators
        self.simulator_specs = simulator_specs
        self.outputs = outputs
        self.queue = queue
        self.changes = changes
        self.clock = clock
        self.sites = sites
        self.stale_after = stale_after
        self.max_jobs = max_jobs

    def run(self) -> Cycle:
        cycle, known, entries = Cycle(), {}, []
        try:
            self._repair(cycle, known, entries)
        finally:  # whatever became of the repairs, the sites are recounted and old grants' writes removed
            self._recount(cycle, known, entries or None)
            self._sweep(cycle)
        return cycle

    def _repair(self, cycle: Cycle, known: dict[str, Job | None], entries: list[LineEntry]) -> None:
        now = self.clock.now()
        entries.extend(self.sites.lines())
        known.update(self._active(entries))
        before = now - self.stale_after
        stale = sorted((job for job in known.values() if job is not None and job.updated < before
                        and job.status in (JobStatus.SUBMITTED, *RECONCILED)), key=lambda job: job.updated)
        cycle.examined = len(stale)
        by_simulator: dict[str, list[Job]] = defaultdict(list)
        granted: dict[str, set[str]] = {}
        for job in stale:
            if job.cancel_requested:
                self.queue.send(JobMessage.cancel(job))
                cycle.resent["cancel"] += 1
            elif job.status == JobStatus.SUBMITTED:
                if job.waiting and job.waiting.next_attempt_at + self.stale_after > now:
                    continue  # waiting visibly for its simulator; its next start is scheduled
                if job.simulator and self._spec(job.simulator) is not None:
                    if job.simulator not in granted:
                        granted[job.simulator] = self.sites.granted(job.simulator)
                    if job.job_id not in granted[job.simulator]:
                        continue  # waiting in its site's line: the recount sends its start when it fits
                self.queue.send(JobMessage.start(job))
                cycle.resent["start"] += 1
            elif self._spec(job.simulator) is None:
                self._settle(job, Verdict(JobStatus.FAILED, f"simulator {job.simulator} is no longer configured"),
                             cycle)
            else:
                by_simulator[job.simulator].append(job)
        for name, jobs in by_simulator.items():
            try:
                seen = self.simulators.observe(self._spec(name), [job.job_id for job in jobs])
            except SimulatorError as exc:
                log.warning("simulator %s skipped this cycle: %s", name, exc.detail, extra={"simulator": name})
                cycle.unreachable.append(name)
                continue
            grants: dict[str, dict[str, Link]] = {}
            for job in jobs:
                if job.job_id in seen:
                    found = verdict(job, seen[job.job_id])
                    if found is not None:
                        grant = self._settle(job, found, cycle)
                        if grant is not None:
                            grants[job.job_id] = grant
            if grants:
                self._hand_over(self._spec(name), grants, cycle)

    def _active(self, entries: list[LineEntry]) -> dict[str, Job | None]:
        """Every job in a site's line (those active or waiting for a site), read by id: a cycle costs
        what is active, never the whole history of jobs."""
        ids = list(dict.fromkeys(entry.job_id for entry in entries))
        if len(ids) > self.max_jobs:
            log.warning("%d active jobs: %d examined this cycle, the rest in the next", len(ids), self.max_jobs)
            ids = ids[:self.max_jobs]
        known: dict[str, Job | None] = {}
        for job_id in ids:
            found = self.jobs.find(job_id)
            known[job_id] = found.item if found else None
        return known

    def _recount(self, cycle: Cycle, known: dict[str, Job | None], entries: list[LineEntry] | None) -> None:
        try:
            cycle.recount = self.sites.recount(known, at=self.clock.now().strftime("%Y%m%dT%H%M%S"), entries=entries)
        except SimgateError as exc:  # storage down: the next cycle recounts
            log.warning("sites not recounted this cycle: %s", exc.detail)

    def _sweep(self, cycle: Cycle) -> None:
        try:
            cycle.swept = len(sweep_staging(self.outputs, self.jobs, self.max_jobs))
        except SimgateError as exc:  # storage down: the next cycle sweeps
            log.warning("staging area not swept this cycle: %s", exc.detail)

    def _settle(self, listed: Job, found: Verdict, cycle: Cycle) -> dict[str, Link] | None:
        """Move the job as ``found`` says; the upload grant to hand its agent, if it needs one."""
        changes = {}
        if found.status == JobStatus.DONE:
            try:
                files = [ReportedFile.model_validate(entry) for entry in found.manifest]
                changes = {"outputs": [o.model_dump() for o in sealed_outputs(self.outputs, listed.job_id, files)],
                           "progress": 1.0}
            except (ValidationError, ValidationFailed) as exc:
                problem = f"the agent's outputs are not in storage as it recorded them: {_problem(exc)}"
                found = (found.delivering(f"{problem}; the reconciler hands the agent a new upload grant")
                         if found.deliver else Verdict(JobStatus.FAILED, problem))
        at = self.clock.now()

        def change(job: Job) -> Job:
            if job.updated != listed.updated or decide(job.status, found.status) != "move":
                return job  # news arrived since the job was listed: the next cycle looks again
            return job.move(found.status, at=at, source=SOURCE, reason=found.reason, **changes)

        stored = self.changes.apply(listed.job_id, change)
        if "outputs" in changes:
            release_after_seal(self.outputs, listed.job_id, stored.item if stored is not None else None)
        if stored is None:
            return None
        if stored.item.status == found.status != listed.status:
            job_log(log, listed.job_id, listed.simulator).info("%s -> %s: %s", listed.status.value,
                                                                found.status.value, found.reason)
            cycle.moved[found.status.value] += 1
        fresh = stored.item.updated in (listed.updated, at)  # unchanged, or changed by this cycle alone
        if found.deliver is not None and stored.item.status == JobStatus.CLEANUP and fresh:
            return self.outputs.upload_links(listed.job_id, [f["name"] for f in found.deliver], UPLOAD_GRANT_TTL)
        return None

    def _hand_over(self, spec: SimulatorSpec, grants: dict[str, dict[str, Link]], cycle: Cycle) -> None:
        try:
            handover = self.simulators.hand_over(spec, grants)
        except SimulatorError as exc:  # the next cycle finds the outputs still undelivered and tries again
            log.warning("simulator %s: upload grants not handed over: %s", spec.name, exc.detail,
                        extra={"simulator": spec.name})
            return
        cycle.handed_over += len(handover.started)
        for job_id in handover.started:
            job_log(log, job_id, spec.name).info("upload grant handed over: the agent uploads the outputs")
        for job_id in handover.missing:
            job_log(log, job_id, spec.name).warning("upload grant not handed over: the job's directory is gone")

    def _spec(self, name: str | None) -> SimulatorSpec | None:
        return simulator_named(self.simulator_specs, name)


def _problem(exc: Exception) -> str:
    if isinstance(exc, ValidationFailed):
        return "; ".join(e["message"] for e in exc.errors) or exc.detail
    return str(exc).splitlines()[0]
