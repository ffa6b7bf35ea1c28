"""What the reconciler makes of a stale job, given what its simulator says about it. Pure: no I/O.

A job is stale when it is queued, running or in cleanup and nothing has changed it for a while:
its webhooks may have been lost, or its agent may be gone. The simulator's answer (the agent's
state file, whether the agent or its Slurm job is still alive) decides what happens:

    agent state          alive   verdict
    done                 -       done, once storage holds the manifest (its answer was lost)
    uploaded             no      done, once storage holds the manifest (a lost done); if storage
                                 does not, deliver again
    failed               -       failed, with the agent's reason
    cancelled            -       cancelled
    running              yes     running, if the job is still queued (a lost running)
    finished             yes     cleanup (the agent is delivering the outputs)
    anything else        yes     nothing: the job is waiting or working
    finished             no      deliver: the agent stopped while delivering the outputs
    undelivered          no      deliver: the agent could not deliver them (simgate or storage down)
    anything else        no      failed: "job vanished from simulator" (or Slurm's own end state)

"deliver" moves the job to cleanup and hands the agent a fresh upload grant over SSH; the agent
uploads in the background and reports done. A finished run is never failed for a lost report.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.agent.simgate_agent import State
from shared.domain.jobs import Job, JobStatus

RECONCILED = (JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.CLEANUP)
REASON_LENGTH = 1000
SLURM_CANCELLED = "CANCELLED"
SLURM_WALL_TIME = {"TIMEOUT", "DEADLINE"}


class Observation(BaseModel):
    """One job as its simulator sees it (the agent's ``status`` answer)."""

    model_config = ConfigDict(extra="ignore")

    exists: bool  # the job's directory is there
    delivered: bool = False  # its job.json is there
    submitted: bool = False  # its submission marker is there
    scheduler: str | None = None
    scheduler_job_id: str | None = None
    scheduler_state: str | None = None  # Slurm's, e.g. RUNNING, TIMEOUT; None when squeue has forgotten it
    alive: bool = False  # the agent (direct) or the Slurm job is still there to report
    cancel_requested: bool = False
    state: str | None = None  # the agent's own: queued, running, finished, uploaded, done, failed, cancelled
    exit_code: int | str | None = None
    reason: str | None = None
    manifest: list[dict] | None = Field(default=None, max_length=1000)
    files: list[dict] | None = Field(default=None, max_length=1000)  # outputs still on the simulator

    @field_validator("reason")
    @classmethod
    def _short(cls, value: str | None) -> str | None:
        return value[-REASON_LENGTH:] if value else value


@dataclass(frozen=True)
class Verdict:
    status: JobStatus
    reason: str
    manifest: list[dict] = field(default_factory=list)  # for done: to be checked against storage
    deliver: list[dict] | None = None  # outputs ({name, size}) to hand a fresh upload grant for

    def delivering(self, reason: str) -> "Verdict":
        return Verdict(JobStatus.CLEANUP, reason, deliver=self.deliver)


UNDELIVERED_REASON = "the agent could not deliver the outputs; the reconciler hands it a new upload grant"


def verdict(job: Job, seen: Observation | None) -> Verdict | None:
    """Where ``job`` should go; None to leave it as it is."""
    if seen is None or not seen.exists:
        return Verdict(JobStatus.FAILED, "job vanished from simulator: its directory is gone")
    state = seen.state
    # "uploaded" with a live agent: it is still retrying its done report; let it
    if seen.manifest is not None and (state == State.DONE or (state == State.UPLOADED and not seen.alive)):
        return Verdict(JobStatus.DONE, "outputs found uploaded on the simulator (the agent's done report was lost)",
                       manifest=seen.manifest, deliver=seen.files)
    if state == State.FAILED:
        code = f" (exit code {seen.exit_code})" if seen.exit_code is not None else ""
        return Verdict(JobStatus.FAILED, f"{seen.reason or 'the job failed on the simulator'}{code}")
    if state == State.CANCELLED or (not seen.alive and seen.scheduler_state == SLURM_CANCELLED):
        return Verdict(JobStatus.CANCELLED, _cancelled_reason(job))
    if seen.alive:
        if state == State.RUNNING and job.status == JobStatus.QUEUED:
            return Verdict(JobStatus.RUNNING, "running on the simulator (its running report was lost)")
        if state == State.FINISHED and job.status in (JobStatus.QUEUED, JobStatus.RUNNING):
            return Verdict(JobStatus.CLEANUP, "the script has finished; the agent is delivering the outputs")
        return None
    if state in State.DELIVERABLE:
        return Verdict(JobStatus.CLEANUP, UNDELIVERED_REASON, deliver=seen.files or [])
    if seen.scheduler_state in SLURM_WALL_TIME:
        return Verdict(JobStatus.FAILED, f"Slurm stopped the job ({seen.scheduler_state}): wall time exceeded")
    if seen.scheduler_state:
        return Verdict(JobStatus.FAILED, f"Slurm ended the job ({seen.scheduler_state}) before its agent reported")
    last = f"its last state was {state}" if state else "its agent never started"
    return Verdict(JobStatus.FAILED, f"job vanished from simulator: nothing runs it any more ({last})")


def _cancelled_reason(job: Job) -> str:
    request = job.cancel_requested
    if request:
        return request.describe()
    return "cancelled on the simulator"
