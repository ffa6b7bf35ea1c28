"""The manager's use cases: start a job on a simulator, cancel it there, and settle what cannot be
delivered. Called by the Service Bus-triggered functions with each message and its delivery count.

One round trip per start: the bundle (agent, job.json, rendered scripts) goes to the simulator in one
SSH exec, and the agent unpacks, checks and submits there under the job's lock. Exactly once: the
simulator keeps the truth about submission (the agent's marker, looked up together with the
scheduler's own records under that lock), so a redelivery after a crash at any point finds the first
submission and changes nothing. The token sent with a start is recorded as pending before the exec,
so an agent that started from it is accepted even if the manager never heard the answer.

Failures: a simulator that cannot be reached does not burn the job: it stays submitted, with a detail
the user sees ("waiting for simulator …"), and its start is sent again, scheduled with back-off,
until ``wait_horizon`` has passed since the simulator was first found unreachable; then it fails with
that reason. Another retryable error raises so the message comes back, except on its last delivery,
where the job fails with the reason. A permanent error fails the job at once. Either way no job is
left "submitted" with nobody working on it.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from shared.config import SimulatorSpec, simulator_named
from shared.domain.bundle import Placement, build_bundle
from shared.domain.cases import PublishedCase
from shared.domain.jobs import Job, JobStatus, Waiting, agent_token_hash, decide, new_agent_token
from shared.domain.messages import JobMessage, SweepMessage, parse_message
from shared.errors import ConfigurationError, SimgateError, SimulatorError, SimulatorNotReached, TransientError
from shared.logs import job_log
from shared.services.changes import Change, JobChanges
from shared.services.ports import CaseRepository, Clock, JobQueue, JobRepository, SimulatorGateway, Stored, Submission
from shared.services.sites import GrantsBusy, Sites

log = logging.getLogger("simgate.manager")

SOURCE = "manager"


@dataclass(frozen=True)
class Delivery:
    count: int  # 1 on the first delivery
    max_count: int  # the queue's maxDeliveryCount: after it the message is dead-lettered

    @property
    def last(self) -> bool:
        return self.count >= self.max_count


@dataclass(frozen=True)
class WaitPolicy:
    """How long a start waits out an unreachable simulator, and how often it tries again."""

    horizon: timedelta = timedelta(hours=24)
    max_delay: timedelta = timedelta(minutes=5)
    first_delay: timedelta = timedelta(seconds=10)

    def delay(self, attempts: int) -> timedelta:
        """Exponential, capped, with jitter so that a crowd of waiting jobs does not return at once."""
        base = min(self.max_delay, min(self.first_delay, self.max_delay) * 2 ** max(0, attempts - 1))
        return base * random.uniform(0.8, 1.0)


@dataclass(frozen=True)
class AgentOptions:
    """What the manager tells every agent besides its job."""

    callback_base_url: str | None  # where agents post their status reports (AGENT_CALLBACK_URL)
    retry_seconds: int | None = None  # how long the agent retries a request; its default if None
    ca_bundle: str | None = None  # local only: a CA for the agent to trust (Azurite's certificate)


class Manager:
    def __init__(self, cases: CaseRepository, jobs: JobRepository, simulators: SimulatorGateway,
                 simulator_specs: Sequence[SimulatorSpec], agent: AgentOptions, changes: JobChanges, clock: Clock,
                 queue: JobQueue, sites: Sites, max_deliveries: int, waiting: WaitPolicy = WaitPolicy(),
                 write_sweep: Callable[[str], str] | None = None) -> None:
        self.cases = cases
        self.jobs = jobs
        self.simulators = simulators
        self.simulator_specs = simulator_specs
        self.agent = agent
        self.changes = changes
        self.clock = clock
        self.queue = queue
        self.sites = sites
        self.max_deliveries = max_deliveries
        self.waiting = waiting
        self.write_sweep = write_sweep  # a sweep's members, written from a queued SweepMessage

    # --- the edge's entry points ---

    def handle(self, body: bytes | str, delivery_count: int) -> str:
        """Act on one message; what was done, for the log. Raises to have the message retried."""
        delivery = Delivery(delivery_count or 1, self.max_deliveries)
        message = parse_message(body)
        if message is None:
            log.error("dropping a message that is not a start or cancel of a job: %r", bytes(body)[:200]
                      if isinstance(body, (bytes, bytearray)) else str(body)[:200])
            return "dropped: not a manager message"
        if isinstance(message, SweepMessage):
            if self.write_sweep is None:
                return "dropped: this manager writes no sweeps"
            return self.write_sweep(message.sweep_id)  # an error is retried; a read later finishes it too
        jlog = job_log(log, message.job_id, action=message.action, delivery=delivery.count)
        try:
            if message.action == "start":
                outcome = self.start(message.job_id, message.attempt)
            else:
                outcome = self.cancel(message.job_id)
        except SimgateError as exc:
            if exc.retryable and not delivery.last:
                jlog.warning("%s: delivery %d of %d failed, will retry: %s", message.action, delivery.count,
                             delivery.max_count, exc.detail)
                raise
            reason = _reason(exc, delivery)
            jlog.error("%s failed for good: %s", message.action, reason)
            if message.action == "start":
                return self._fail(message.job_id, reason)
            return self._cancelled(message.job_id, f"; the simulator could not be told: {reason}")
        jlog.info("%s: %s", message.action, outcome)
        return outcome

    def handle_dead_letter(self, body: bytes | str, reason: str | None, description: str | None) -> str:
        """A message Service Bus gave up on (e.g. the manager died on every delivery): settle its job."""
        message = parse_message(body)
        if message is None:
            return "dropped: not a manager message"
        if isinstance(message, SweepMessage):  # a read of the sweep a while later queues it again
            log.warning("dead-lettered the writing of sweep %s: %s", message.sweep_id, reason or "dead-lettered")
            return "dropped: a sweep's members are written again when it is read"
        why = reason or "dead-lettered"  # the description (an exception's text) is for the log only
        job_log(log, message.job_id, action=message.action).warning("dead-lettered %s: %s: %s", message.action, why,
                                                                    description or "no description")
        if message.action == "start":
            return self._fail(message.job_id, f"the job could not be started ({why})")
        return self._cancelled(message.job_id, f"; the simulator could not be told ({why})")

    # --- use cases ---

    def start(self, job_id: str, attempt: int = 0) -> str:
        stored = self.jobs.find(job_id)
        if stored is None:
            return "nothing to do: the job no longer exists"
        job = stored.item
        if job.status != JobStatus.SUBMITTED:
            return f"nothing to do: the job is {job.status.value}"
        if attempt != job.start_attempt:
            return f"nothing to do: start {attempt} was superseded by start {job.start_attempt}"
        if job.cancel_requested:
            if job.simulator and job.sent:
                self.simulators.cancel(self._spec(job.simulator), job_id)
            return self._cancelled(job_id)
        case = self.cases.get(job.case_id, job.case_version)
        scripts = case.render(job.fields, job_id=job.job_id, job_title=job.title)
        where = job.simulator or ", ".join(s.name for s in self.sites.candidates(case))
        token = new_agent_token()
        recorded = None  # the hash of the token once it is kept with the job
        try:
            if job.simulator is None:
                stored = self._place(stored, case)
                job = stored.item
                if job.simulator is None or job.status != JobStatus.SUBMITTED or job.cancel_requested:
                    return f"nothing to do: the job is {job.status.value}"  # it changed while its site was chosen
            spec = self._spec(job.simulator)
            where = spec.name
            try:
                wait = self.sites.acquire(spec, job, case)
            except GrantsBusy as exc:  # it stays in line: the next release or the reconciler sends its start
                job_log(log, job_id, spec.name).warning("%s", exc.detail)
                return exc.detail
            if wait is not None:  # no room: the job waits in line; a release sends its start again
                self.sites.note_wait(job_id, wait)
                job_log(log, job_id, spec.name).info("%s", wait.describe())
                return wait.describe()
            # The hash is kept before the agent can use the token. A write that meets a change made since
            # (a waiting detail, a rival delivery's token) reads the job again: the simulator's marker
            # keeps a second delivery from submitting twice, and each token it may hold stays valid.
            stored = self._keep_pending(stored, agent_token_hash(token), spec.name, attempt)
            if stored is None or agent_token_hash(token) not in stored.item.pending_token_hashes:
                if stored is not None and stored.item.status.terminal:
                    self.sites.release(stored.item)  # it ended while its grant was being taken
                return f"nothing to do: the job is {stored.item.status.value if stored else 'gone'}"
            job = stored.item
            recorded = agent_token_hash(token)
            bundle = build_bundle(case, job, _placement(spec), scripts, callback_base_url=self.agent.callback_base_url,
                                  token=token, retry_seconds=self.agent.retry_seconds, ca_bundle=self.agent.ca_bundle)
            submitted = self.simulators.start(spec, job_id, bundle)
        except SimulatorError as exc:
            if not exc.retryable:
                raise
            unused = recorded if isinstance(exc, SimulatorNotReached) else None
            return self._wait(job_id, where, exc, attempt, unused_token_hash=unused)
        if submitted is None:
            return self._cancelled(job_id)
        return self._record(job_id, spec, submitted, known=stored)

    def cancel(self, job_id: str) -> str:
        """Stop the job on its simulator (if it got that far) and mark it cancelled."""
        stored = self.jobs.find(job_id)
        if stored is None:
            return "nothing to do: the job no longer exists"
        job = stored.item
        if job.status.terminal:
            return f"nothing to do: the job is {job.status.value}"
        note = ""
        if job.simulator and job.sent:
            outcome = self.simulators.cancel(self._spec(job.simulator), job_id)
            note = f"; stopped on {job.simulator}" if outcome.stopped else f"; it was {outcome.state} on {job.simulator}"
        return self._cancelled(job_id, note)

    # --- steps ---

    def _place(self, stored: Stored[Job], case: PublishedCase) -> Stored[Job]:
        """Choose the job's site (the offer that starts it soonest), record where and why, and move it
        into that site's line."""
        spec, why = self.sites.choose(stored.item, case)

        def place(job: Job) -> Job:  # a rival delivery may have placed it meanwhile: its choice stands
            if job.simulator is not None or job.status != JobStatus.SUBMITTED or job.cancel_requested:
                return job
            return job.placed(spec.name, why)

        placed = self.changes.apply(stored.item.job_id, place, known=stored)
        if placed is None:
            raise TransientError(f"job {stored.item.job_id} was deleted while its site was chosen")
        if placed.item.simulator is None or placed.item.status != JobStatus.SUBMITTED:
            return placed  # ended or cancelled meanwhile: not put in any line
        self.sites.place(placed.item, case)
        job_log(log, placed.item.job_id, spec.name).info("placed on %s", why)
        return placed

    def _keep_pending(self, stored: Stored[Job], token_hash: str, simulator: str, attempt: int) -> Stored[Job] | None:
        def keep(job: Job) -> Job:
            if job.status != JobStatus.SUBMITTED or job.cancel_requested or job.start_attempt != attempt:
                return job  # news since it was read: the message that brought it decides
            return job.with_pending_token(token_hash, simulator)

        return self.changes.apply(stored.item.job_id, keep, known=stored)

    def _spec(self, name: str) -> SimulatorSpec:
        spec = simulator_named(self.simulator_specs, name)
        if spec is None:
            raise ConfigurationError(f"simulator {name}, chosen for this job, is no longer configured")
        return spec

    def _wait(self, job_id: str, simulator: str, exc: SimulatorError, attempt: int,
              unused_token_hash: str | None = None) -> str:
        """Keep the job submitted and try its start again later; fail it once the horizon has passed.
        A token that certainly never reached the simulator is forgotten again."""
        now = self.clock.now()

        def change(job: Job) -> Job:
            if job.status != JobStatus.SUBMITTED or job.start_attempt != attempt or job.cancel_requested:
                return job  # news since it was read: the message that brought it decides
            since = job.waiting.since if job.waiting else now
            pending = [h for h in job.pending_token_hashes if h != unused_token_hash]
            if now - since >= self.waiting.horizon:
                return job.move(JobStatus.FAILED, at=now, source=SOURCE, waiting=None, pending_token_hashes=pending,
                                reason=f"simulator {simulator} unreachable since {since.isoformat()}, longer than "
                                       f"the {_duration(self.waiting.horizon)} a start waits: {exc.shown}")
            waiting = Waiting(simulator=simulator, since=since, attempts=attempt + 1,
                              next_attempt_at=now + self.waiting.delay(attempt + 1), cause=exc.shown)
            return job.model_copy(update={"waiting": waiting, "detail": waiting.describe(), "updated": now,
                                          "pending_token_hashes": pending})

        stored = self._change(job_id, change)
        if stored is None:
            return "the job no longer exists"
        job = stored.item
        if job.status == JobStatus.FAILED:
            return f"job is failed: {job.error}"
        if job.waiting is None or job.start_attempt != attempt + 1:
            return f"nothing more to do: the job is {job.status.value}"
        self.queue.send(JobMessage.start(job), not_before=job.waiting.next_attempt_at)
        job_log(log, job_id, simulator).warning("%s (attempt %d: %s)", job.waiting.describe(), attempt + 1,
                                                exc.detail)
        return job.waiting.describe()

    def _record(self, job_id: str, spec: SimulatorSpec, submitted: Submission, known: Stored[Job] | None = None
                ) -> str:
        where = f"{spec.name} ({submitted.scheduler} job {submitted.scheduler_job_id})"
        facts = {"simulator": spec.name, "scheduler_job_id": submitted.scheduler_job_id,
                 "agent_token_hash": submitted.token_hash, "pending_token_hashes": [], "waiting": None}

        def change(job: Job) -> Job:
            if job.status == JobStatus.SUBMITTED:  # the history keeps what it waited for, if it did
                waited = f", after {job.detail}" if job.detail.startswith("waiting for ") else ""
                return job.move(JobStatus.QUEUED, at=self.clock.now(), source=SOURCE, reason=f"queued on {where}{waited}",
                                **facts)
            if job.status.terminal or all(getattr(job, k) == v for k, v in facts.items()):
                return job
            return job.model_copy(update=facts)  # the agent reported before the manager could: keep its status

        job = self.changes.apply(job_id, change, known=known).item
        job_log(log, job_id, spec.name).info("queued on %s%s", where, " (found already submitted)" if submitted.resumed else "")
        if job.status == JobStatus.CANCELLED:  # cancelled while it was being submitted
            self.simulators.cancel(spec, job_id)
        resumed = " (found already submitted)" if submitted.resumed else ""
        return f"queued on {where}{resumed}"

    def _fail(self, job_id: str, reason: str) -> str:
        def change(job: Job) -> Job:
            if decide(job.status, JobStatus.FAILED) != "move":
                return job
            return job.move(JobStatus.FAILED, at=self.clock.now(), source=SOURCE, reason=reason)

        stored = self._change(job_id, change)
        return f"job is {stored.item.status.value}: {reason}" if stored else "the job no longer exists"

    def _cancelled(self, job_id: str, note: str = "") -> str:
        def change(job: Job) -> Job:
            if decide(job.status, JobStatus.CANCELLED) != "move":
                return job
            request = job.cancel_requested
            asked = request.describe() if request else "cancelled"
            return job.move(JobStatus.CANCELLED, at=self.clock.now(), source=SOURCE, reason=asked + note)

        stored = self._change(job_id, change)
        return f"job is {stored.item.status.value}" if stored else "the job no longer exists"

    def _change(self, job_id: str, change: Change) -> Stored[Job] | None:
        return self.changes.apply(job_id, change)


def _placement(spec: SimulatorSpec) -> Placement:
    return Placement(simulator=spec.name, scheduler=spec.scheduler, python=spec.python,
                     max_parallel_jobs=spec.max_parallel_jobs, slurm_partition=spec.slurm_partition,
                     slurm_account=spec.slurm_account, nodes_call_out=spec.nodes_call_out)


def _duration(span: timedelta) -> str:
    seconds = span.total_seconds()
    for unit, size in (("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} s"


def _reason(exc: SimgateError, delivery: Delivery) -> str:
    if exc.retryable:
        return f"gave up after {delivery.count} attempts: {exc.shown}"
    return f"{exc.title}: {exc.shown}"
