"""A job's outputs: what its owner sees and downloads, and the seal at done: storage's copy of each
output is frozen (a snapshot) and checked against what the agent says it uploaded before a job may
be done; downloads read the frozen copy."""

from __future__ import annotations

from datetime import timedelta

from shared.auth import Principal
from shared.domain.jobs import Job
from shared.domain.outputs import Output, ReportedFile, outputs_from
from shared.errors import NotFound, ValidationFailed
from shared.services.jobs import Jobs
from shared.services.ports import Link, OutputStore

DOWNLOAD_TTL = timedelta(minutes=15)


class Outputs:
    def __init__(self, jobs: Jobs, store: OutputStore) -> None:
        self._jobs = jobs
        self._store = store

    def list(self, caller: Principal, job_id: str) -> list[Output]:
        return recorded_outputs(self._jobs.get(caller, job_id).item)

    def download(self, caller: Principal, job_id: str, output_id: str) -> Link:
        """A read-only link to one output, straight to storage."""
        job = self._jobs.get(caller, job_id).item
        for output in recorded_outputs(job):
            if output.output_id == output_id:
                return self._store.download_link(job.job_id, output.name, output.snapshot, output.filename,
                                                  output.content_type, DOWNLOAD_TTL)
        raise NotFound(f"job {job.job_id} has no output '{output_id}'")


def recorded_outputs(job: Job) -> list[Output]:
    return [Output.model_validate(o) for o in job.outputs]


def sealed_outputs(store: OutputStore, job_id: str, files: list[ReportedFile]) -> list[Output]:
    """The manifest as outputs, sealed, if storage really holds every file with its size (and MD5)."""
    stored = store.seal(job_id, [f.name for f in files])
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
    return outputs_from(files, {name: found.snapshot for name, found in stored.items()})
