"""Status reports from a job's agent (the webhook), and the upload grant for its outputs.

The agent proves itself with its job's token (only the hash is stored; compared in constant time);
the token is valid for that job only and only until the job is terminal. Reports go through the
status machine: a repeated or late one is a no-op answered with the current status. The upload grant
reaches the job's staging area only; done seals what is staged into the outputs and empties it.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from shared.domain.jobs import Job, JobStatus, agent_token_hash, decide
from shared.domain.reports import AgentReport
from shared.errors import AgentTokenInvalid, AgentTokenMissing
from shared.logs import job_log
from shared.services.changes import JobChanges
from shared.services.outputs import discard_live_files, release_after_seal, sealed_outputs
from shared.services.ports import Clock, JobRepository, Link, LiveStore, OutputStore, Stored

log = logging.getLogger("simgate.agent_reports")

UPLOAD_GRANT_TTL = timedelta(hours=1)
SOURCE = "agent"


class AgentReports:
    def __init__(self, jobs: JobRepository, outputs: OutputStore, changes: JobChanges, clock: Clock, *,
                 live: LiveStore) -> None:
        self._jobs = jobs
        self._outputs = outputs
        self._changes = changes
        self._clock = clock
        self._live = live

    def authenticate(self, job_id: str, authorization: str | None) -> Stored[Job]:
        """The job whose token this is; refused for no token, a wrong one, another job's, or a
        finished job's."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AgentTokenMissing("send the job's token as 'Authorization: Bearer <token>'")
        stored = self._jobs.recent(job_id)  # a stale copy is harmless: every change is written with its ETag
        presented = agent_token_hash(token.strip())
        if stored is None or not stored.item.accepts_token_hash(presented) or stored.item.status.terminal:
            raise AgentTokenInvalid("the token is not valid for this job (or the job has finished)")
        return stored

    def record(self, agent: Stored[Job], report: AgentReport) -> tuple[Job, dict[str, Link] | None]:
        """Apply the report of the agent that proved itself for ``agent`` (``authenticate``); on cleanup
        also the upload links for the files it named."""
        job_id, before = agent.item.job_id, agent.item.status
        now = self._clock.now()
        recorded = sealed_outputs(self._outputs, job_id, list(report.files)) if report.status == JobStatus.DONE else None

        def change(job: Job) -> Job:
            if job.status.terminal:  # finished since the token was checked: the token died with it
                raise AgentTokenInvalid("the token is not valid for this job (or the job has finished)")
            if decide(job.status, report.status) != "move":
                if job.status == report.status == JobStatus.RUNNING and report.progress not in (None, job.progress):
                    return job.model_copy(update={"progress": report.progress, "updated": now,
                                                  "detail": report.detail or job.detail})
                return job  # repeated or late: answered with the current status
            changes = {}
            if report.progress is not None:
                changes["progress"] = report.progress
            if recorded is not None:
                changes.update(outputs=[o.model_dump() for o in recorded], progress=1.0)
            return job.move(report.status, at=now, source=SOURCE, reason=report.reason(), **changes)

        stored = self._changes.apply(job_id, change, known=agent)
        if recorded is not None:
            release_after_seal(self._outputs, job_id, stored.item if stored is not None else None)
            if stored is not None and stored.item.status == JobStatus.DONE:
                discard_live_files(self._live, job_id)
        if stored is None:
            raise AgentTokenInvalid("the token is not valid for this job (or the job has finished)")
        job = stored.item
        if job.status != before:
            job_log(log, job_id, job.simulator).info("agent reported %s: %s -> %s", report.status.value,
                                                     before.value, job.status.value)
        grant = None
        if report.status == JobStatus.CLEANUP and job.status == JobStatus.CLEANUP:
            grant = self._outputs.upload_links(job_id, [f.name for f in report.files], UPLOAD_GRANT_TTL)
        return job, grant
