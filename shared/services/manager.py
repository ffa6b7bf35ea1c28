"""The manager's use cases: start a job on a simulator, cancel it there, and settle what cannot be
delivered. Called by the Service Bus-triggered functions with each message and its delivery count.

Exactly once: the simulator keeps the truth about submission (the agent's marker, looked up together
with the scheduler's own records under a lock there); the manager asks before it prepares anything,
so a redelivery after a crash at any point resumes instead of submitting again.

Failures: a retryable error raises so the message comes back, except on its last delivery, where the
job fails with the reason. A permanent error fails the job at once. Either way no job is left
"submitted" with nobody working on it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from shared.config import SimulatorSpec
from shared.domain.bundle import Placement, build_bundle
from shared.domain.cases import PublishedCase
from shared.domain.jobs import JOB_ID, Job, JobStatus, agent_token_hash, decide, new_agent_token
from shared.errors import (
    ConfigurationError,
    PreconditionFailed,
    SimgateError,
    SimulatorError,
    SimulatorUnreachable,
    TransientError,
)
from shared.services.jobs import apply_change, find_job
from shared.services.ports import CaseRepository, JobRepository, SimulatorGateway, Stored, Submission

log = logging.getLogger("simgate.manager")

SOURCE = "manager"


class ManagerMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    action: Literal["start", "cancel"]
    job_id: str

    @classmethod
    def parse(cls, body: bytes | str) -> "ManagerMessage | None":
        """The message, or None for one that no version of simgate could act on (logged, then dropped)."""
        try:
            message = cls.model_validate(json.loads(body))
        except (ValueError, ValidationError):
            return None
        return message if JOB_ID.match(message.job_id) else None


@dataclass(frozen=True)
class Delivery:
    count: int  # 1 on the first delivery
    max_count: int  # the queue's maxDeliveryCount: after it the message is dead-lettered

    @property
    def last(self) -> bool:
        return self.count >= self.max_count


@dataclass
class Manager:
    cases: CaseRepository
    jobs: JobRepository
    simulators: SimulatorGateway
    simulator_specs: Sequence[SimulatorSpec]
    callback_base_url: str | None
    clock: Callable[[], datetime]
    ca_bundle: str | None = None  # local only: a CA for the agent to trust (Azurite's certificate)
    agent_retry_seconds: int | None = None  # how long the agent retries a request; its default if None

    # --- the edge's entry points ---

    def handle(self, body: bytes | str, delivery: Delivery) -> str:
        """Act on one message; what was done, for the log. Raises to have the message retried."""
        message = ManagerMessage.parse(body)
        if message is None:
            log.error("dropping a message that is not a start or cancel of a job: %r", bytes(body)[:200]
                      if isinstance(body, (bytes, bytearray)) else str(body)[:200])
            return "dropped: not a manager message"
        action = self.start if message.action == "start" else self.cancel
        try:
            return action(message.job_id)
        except SimgateError as exc:
            if exc.retryable and not delivery.last:
                log.warning("%s %s: delivery %d of %d failed, will retry: %s", message.action, message.job_id,
                            delivery.count, delivery.max_count, exc.detail)
                raise
            reason = _reason(exc, delivery)
            log.error("%s %s failed for good: %s", message.action, message.job_id, reason)
            if message.action == "start":
                return self._fail(message.job_id, reason)
            return self._cancelled(message.job_id, f"; the simulator could not be told: {reason}")

    def handle_dead_letter(self, body: bytes | str, reason: str | None, description: str | None) -> str:
        """A message Service Bus gave up on (e.g. the manager died on every delivery): settle its job."""
        message = ManagerMessage.parse(body)
        if message is None:
            return "dropped: not a manager message"
        why = f"{reason or 'dead-lettered'}: {description or 'no description'}"
        if message.action == "start":
            return self._fail(message.job_id, f"the job could not be started ({why})")
        return self._cancelled(message.job_id, f"; the simulator could not be told ({why})")

    # --- use cases ---

    def start(self, job_id: str) -> str:
        stored = find_job(self.jobs, job_id)
        if stored is None:
            return "nothing to do: the job no longer exists"
        job = stored.item
        if job.status != JobStatus.SUBMITTED:
            return f"nothing to do: the job is {job.status.value}"
        if job.cancel_requested:
            if job.simulator:
                self.simulators.cancel(self._spec(job.simulator), job_id)
            return self._cancelled(job_id)
        case = self.cases.get(job.case_id, job.case_version)
        scripts = case.render(job.fields, job_id=job.job_id, job_title=job.title)
        spec = self._spec(job.simulator) if job.simulator else self._choose(case)
        submitted = self.simulators.submission(spec, job_id)
        if submitted is None:
            token = new_agent_token()
            # The hash is stored before the agent can use the token; a rival delivery's write fails here.
            prepared = job.model_copy(update={"simulator": spec.name, "agent_token_hash": agent_token_hash(token)})
            try:
                self.jobs.update(prepared, stored.etag)
            except PreconditionFailed:
                raise TransientError(f"job {job_id} changed while it was being started") from None
            bundle = build_bundle(case, job, _placement(spec), scripts, callback_base_url=self.callback_base_url,
                                  token=token, retry_seconds=self.agent_retry_seconds, ca_bundle=self.ca_bundle)
            self.simulators.deliver(spec, job_id, bundle)
            submitted = self.simulators.submit(spec, job_id)
            if submitted is None:
                return self._cancelled(job_id)
        return self._record(job_id, spec, submitted)

    def cancel(self, job_id: str) -> str:
        """Stop the job on its simulator (if it got that far) and mark it cancelled."""
        stored = find_job(self.jobs, job_id)
        if stored is None:
            return "nothing to do: the job no longer exists"
        job = stored.item
        if job.status.terminal:
            return f"nothing to do: the job is {job.status.value}"
        note = ""
        if job.simulator:
            outcome = self.simulators.cancel(self._spec(job.simulator), job_id)
            note = f"; stopped on {job.simulator}" if outcome.stopped else f"; it was {outcome.state} on {job.simulator}"
        return self._cancelled(job_id, note)

    # --- steps ---

    def _choose(self, case: PublishedCase) -> SimulatorSpec:
        """The first allowed simulator with a free slot, else the least loaded; unreachable ones are
        passed over while another can be asked."""
        candidates = [s for s in self.simulator_specs if case.may_run_on(s.name)]
        if not candidates:
            allowed = ", ".join(case.definition.simulators) or "any"
            raise ConfigurationError(f"no configured simulator may run case {case.id} (it runs on: {allowed})")
        if len(candidates) == 1:
            return candidates[0]
        loads, last_error = [], None
        for spec in candidates:
            try:
                loads.append((spec, self.simulators.load(spec)))
            except SimulatorError as exc:
                log.warning("simulator %s passed over: %s", spec.name, exc.detail)
                last_error = exc
        if not loads:
            raise last_error
        free = [spec for spec, load in loads if load < spec.max_parallel_jobs]
        return free[0] if free else min(loads, key=lambda pair: pair[1] / pair[0].max_parallel_jobs)[0]

    def _spec(self, name: str) -> SimulatorSpec:
        for spec in self.simulator_specs:
            if spec.name == name:
                return spec
        raise ConfigurationError(f"simulator {name}, chosen for this job, is no longer configured")

    def _record(self, job_id: str, spec: SimulatorSpec, submitted: Submission) -> str:
        where = f"{spec.name} ({submitted.scheduler} job {submitted.scheduler_job_id})"
        facts = {"simulator": spec.name, "scheduler_job_id": submitted.scheduler_job_id,
                 "agent_token_hash": submitted.token_hash}

        def change(job: Job) -> Job:
            if job.status == JobStatus.SUBMITTED:
                return job.move(JobStatus.QUEUED, at=self.clock(), source=SOURCE, reason=f"queued on {where}", **facts)
            if job.status.terminal or all(getattr(job, k) == v for k, v in facts.items()):
                return job
            return job.model_copy(update=facts)  # the agent reported before the manager could: keep its status

        job = self._change(job_id, change).item
        if job.status == JobStatus.CANCELLED:  # cancelled while it was being submitted
            self.simulators.cancel(spec, job_id)
        resumed = " (found already submitted)" if submitted.resumed else ""
        return f"queued on {where}{resumed}"

    def _fail(self, job_id: str, reason: str) -> str:
        def change(job: Job) -> Job:
            if decide(job.status, JobStatus.FAILED) != "move":
                return job
            return job.move(JobStatus.FAILED, at=self.clock(), source=SOURCE, reason=reason)

        stored = self._change(job_id, change)
        return f"job is {stored.item.status.value}: {reason}" if stored else "the job no longer exists"

    def _cancelled(self, job_id: str, note: str = "") -> str:
        def change(job: Job) -> Job:
            if decide(job.status, JobStatus.CANCELLED) != "move":
                return job
            request = job.cancel_requested
            asked = f"cancelled by {request.by} at {request.at.isoformat()}" if request else "cancelled"
            return job.move(JobStatus.CANCELLED, at=self.clock(), source=SOURCE, reason=asked + note)

        stored = self._change(job_id, change)
        return f"job is {stored.item.status.value}" if stored else "the job no longer exists"

    def _change(self, job_id: str, change: Callable[[Job], Job]) -> Stored[Job] | None:
        return apply_change(self.jobs, job_id, lambda: find_job(self.jobs, job_id), change)


def _placement(spec: SimulatorSpec) -> Placement:
    return Placement(simulator=spec.name, scheduler=spec.scheduler, python=spec.python,
                     max_parallel_jobs=spec.max_parallel_jobs, slurm_partition=spec.slurm_partition,
                     slurm_account=spec.slurm_account)


def _reason(exc: SimgateError, delivery: Delivery) -> str:
    if isinstance(exc, SimulatorUnreachable):
        return f"simulator unreachable after {delivery.count} attempts: {exc.detail}"
    if exc.retryable:
        return f"gave up after {delivery.count} attempts: {exc.detail}"
    return f"{exc.title}: {exc.detail}"
