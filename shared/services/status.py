"""Status webhooks from a job's agent, and the outputs they bring.

The agent proves itself with its job's token (only the hash is stored; compared in constant time);
the token is valid for that job only and only until the job is terminal. Reports go through the
status machine: a repeated or late one is a no-op answered with the current status.
"""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.domain.jobs import Job, JobStatus, agent_token_hash, decide, parse_status
from shared.domain.outputs import MAX_FILES, Output, ReportedFile, outputs_from
from shared.errors import NotFound, Unauthorized, ValidationFailed
from shared.services.jobs import apply_change, find_job
from shared.services.ports import JobRepository, Link, OutputStore, Stored

UPLOAD_GRANT_TTL = timedelta(hours=1)
DOWNLOAD_TTL = timedelta(minutes=15)
SOURCE = "agent"


class StatusReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: JobStatus
    detail: str = Field(default="", max_length=2000)
    progress: float | None = Field(default=None, ge=0, le=1)
    exit_code: int | None = None
    stderr_tail: str | None = Field(default=None, max_length=4000)
    # cleanup: the files about to be uploaded; done: what was uploaded (with MD5)
    files: list[ReportedFile] = Field(default_factory=list, max_length=MAX_FILES)

    @field_validator("status", mode="before")
    @classmethod
    def _aliases(cls, value: object) -> object:
        return parse_status(value) if isinstance(value, str) else value

    @field_validator("files")
    @classmethod
    def _unique(cls, files: list[ReportedFile]) -> list[ReportedFile]:
        names = [f.name for f in files]
        if len(set(names)) != len(names):
            raise ValueError("each file may be reported once")
        return files


def authenticate_agent(jobs: JobRepository, job_id: str, authorization: str | None) -> Stored[Job]:
    """The job whose token this is; 401 for no token, a wrong one, another job's, or a finished job's."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send the job's token as 'Authorization: Bearer <token>'",
                           headers={"WWW-Authenticate": 'Bearer realm="simgate-agent"'})
    stored = find_job(jobs, job_id)
    expected = stored.item.agent_token_hash if stored else None
    presented = agent_token_hash(token.strip())
    if not expected or not hmac.compare_digest(presented, expected) or stored.item.status.terminal:
        raise Unauthorized("the token is not valid for this job (or the job has finished)",
                           headers={"WWW-Authenticate": 'Bearer realm="simgate-agent", error="invalid_token"'})
    return stored


def record_status(jobs: JobRepository, outputs: OutputStore, job_id: str, authorization: str | None,
                  report: StatusReport, now: datetime) -> tuple[Job, dict[str, Link] | None]:
    """Apply the agent's report; on cleanup also the upload links for the files it named."""
    authenticate_agent(jobs, job_id, authorization)
    if report.status == JobStatus.DONE:
        recorded = verified_outputs(outputs, job_id, report.files)
    else:
        recorded = None

    def change(job: Job) -> Job:
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
        return job.move(report.status, at=now, source=SOURCE, reason=_reason(report), **changes)

    job = apply_change(jobs, job_id, lambda: authenticate_agent(jobs, job_id, authorization), change).item
    grant = None
    if report.status == JobStatus.CLEANUP and job.status == JobStatus.CLEANUP:
        grant = outputs.upload_links(job_id, [f.name for f in report.files], UPLOAD_GRANT_TTL)
    return job, grant


def verified_outputs(outputs: OutputStore, job_id: str, files: list[ReportedFile]) -> list[Output]:
    """The manifest as outputs, if storage really holds every file with its size (and MD5)."""
    stored = outputs.stored_files(job_id, [f.name for f in files])
    problems = []
    for index, file in enumerate(files):
        found = stored.get(file.name)
        if found is None:
            problems.append({"field": f"files[{index}]", "message": f"{file.name} was never uploaded"})
        elif found.size != file.size:
            problems.append({"field": f"files[{index}]",
                             "message": f"{file.name} is {found.size} bytes in storage, not {file.size}"})
        elif file.md5 and found.md5 and file.md5 != found.md5:
            problems.append({"field": f"files[{index}]", "message": f"{file.name} has another MD5 in storage"})
    if problems:
        raise ValidationFailed("the outputs do not match what storage holds; the job is not done", errors=problems)
    return outputs_from(files)


def _reason(report: StatusReport) -> str:
    parts = [report.detail] if report.detail else []
    if report.exit_code is not None:
        parts.append(f"exit code {report.exit_code}")
    if report.stderr_tail:
        parts.append(f"stderr: {report.stderr_tail.strip()[-1000:]}")
    return "; ".join(parts)


def list_outputs(job: Job) -> list[Output]:
    return [Output.model_validate(o) for o in job.outputs]


def download(outputs: OutputStore, job: Job, output_id: str) -> Link:
    for output in list_outputs(job):
        if output.output_id == output_id:
            return outputs.download_link(job.job_id, output.name, output.filename, output.content_type, DOWNLOAD_TTL)
    raise NotFound(f"job {job.job_id} has no output '{output_id}'")


class DownloadQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    redirect: bool = False
