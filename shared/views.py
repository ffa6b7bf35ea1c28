"""What the API shows of the domain: plain JSON-ready dicts, one function per kind of resource."""

from __future__ import annotations

from typing import Any

from shared.domain.cases import CaseHeader, PublishedCase
from shared.domain.jobs import Job, JobSummary
from shared.services.ports import Link


def case_header(header: CaseHeader) -> dict[str, Any]:
    return header.model_dump(mode="json")


def case_details(case: PublishedCase, latest_version: int) -> dict[str, Any]:
    d = case.definition
    return {
        **case.header().model_dump(mode="json"),
        "latest_version": latest_version,
        "description": d.description,
        "fields": [{**f.model_dump(mode="json"), "label": f.display_label} for f in d.fields],
        "scripts": [{"name": name, "entry_point": name == d.entry_point} for name in d.scripts],
        "entry_point": d.entry_point,
        "outputs": [o.model_dump(mode="json") for o in d.outputs],
        "resources": d.resources.model_dump(mode="json"),
        "simulators": d.simulators,
    }


def job_summary(summary: JobSummary) -> dict[str, Any]:
    return summary.model_dump(mode="json")


def job_details(job: Job) -> dict[str, Any]:
    return {
        **job.summary().model_dump(mode="json"),
        "owner": job.owner,
        "uws_status": job.status.uws,
        "fields": job.fields,
        "history": [t.model_dump(mode="json") for t in job.history],
        "detail": job.detail,
        "progress": job.progress,
        "cancel_requested": job.cancel_requested.model_dump(mode="json") if job.cancel_requested else None,
        "simulator": job.simulator,
        "scheduler_job_id": job.scheduler_job_id,
        "error": job.error,
        "outputs": {"count": len(job.outputs), "bytes": sum(int(o.get("size", 0)) for o in job.outputs)},
    }


def job_status(job: Job) -> dict[str, Any]:
    return {
        "job_id": job.job_id,
        "status": job.status.value,
        "uws_status": job.status.uws,
        "updated_at": job.updated.isoformat(),
        "detail": job.detail,
        "progress": job.progress,
        "cancel_requested": job.cancel_requested is not None,
    }


def status_answer(job: Job, grant: dict[str, Link] | None) -> dict[str, Any]:
    """The webhook's answer to the agent: the job's status and, after a cleanup report, the upload
    grant {expires_at, files: {name: url}}."""
    body = job_status(job)
    if grant is not None:
        expires = min((link.expires_at for link in grant.values()), default=None)
        body["upload"] = {"expires_at": expires.isoformat() if expires else None,
                          "files": {name: link.url for name, link in grant.items()}}
    return body
