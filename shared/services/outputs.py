"""A job's outputs: what its owner sees and downloads, the seal at done, and what becomes of uploads
once a job has ended.

Agents upload into the job's staging area, the only place an upload grant reaches. At done each
staged upload is checked against what the agent says it uploaded, and exactly the version checked is
copied into the job's sealed outputs, which no grant can write; downloads read those. Once a job has
ended (or is gone), nothing its grants wrote stays: the staging area is emptied at done, and the
reconciler's sweep empties it for every job that has ended or no longer exists, so what an old grant
writes lasts until the next sweep at most.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from shared.auth import Principal
from shared.domain.jobs import Job, JobStatus
from shared.domain.outputs import Output, ReportedFile, outputs_from, partial_outputs
from shared.domain.summaries import MAX_SUMMARISED_BYTES, CsvSummary, summarise_pieces
from shared.errors import NotFound, SimgateError, StaleWrite, ValidationFailed
from shared.logs import job_log
from shared.services.jobs import Jobs
from shared.services.ports import JobRepository, Link, LiveStore, OutputStore

log = logging.getLogger("simgate.outputs")

DOWNLOAD_TTL = timedelta(minutes=15)
SEAL_ATTEMPTS = 3  # a staged upload that changes between its check and its copy is checked again


class Outputs:
    def __init__(self, jobs: Jobs, store: OutputStore, live: LiveStore) -> None:
        self._jobs = jobs
        self._store = store
        self._live = live

    def list(self, caller: Principal, job_id: str) -> list[Output]:
        """The sealed outputs, then the live files as last taken that no sealed output replaced (while
        the job runs, and after a run that did not reach done)."""
        job = self._jobs.get(caller, job_id).item
        return recorded_outputs(job) + self._partial(job)

    def download(self, caller: Principal, job_id: str, output_id: str) -> Link:
        """A read-only link to one output, straight to storage."""
        job = self._jobs.get(caller, job_id).item
        for output in recorded_outputs(job):
            if output.output_id == output_id:
                return self._store.download_link(job.job_id, output.name, output.snapshot, output.filename,
                                                  output.content_type, DOWNLOAD_TTL)
        if output_id.startswith("live-"):
            for output in self._partial(job):
                if output.output_id == output_id:
                    return self._live.file_link(job.job_id, output.name, output.snapshot, output.filename,
                                                output.content_type, DOWNLOAD_TTL)
        raise NotFound(f"job {job.job_id} has no output '{output_id}'")

    def _partial(self, job: Job) -> list[Output]:
        if job.status in (JobStatus.DRAFT, JobStatus.DONE):  # at done, sealed outputs replace live files
            return []
        sealed = {output.get("name") for output in job.outputs}
        return partial_outputs([f for f in self._live.listing(job.job_id).files if f.name not in sealed])


def recorded_outputs(job: Job) -> list[Output]:
    return [Output.model_validate(o) for o in job.outputs]


def sealed_outputs(store: OutputStore, job_id: str, files: list[ReportedFile]) -> list[Output]:
    """The manifest as outputs, sealed: every file must be staged with its size (and MD5), and exactly
    the staged versions checked are copied into the job's outputs."""
    for _ in range(SEAL_ATTEMPTS - 1):
        try:
            return _seal(store, job_id, files)
        except StaleWrite:  # rewritten between its check and its copy: check it again
            continue
    return _seal(store, job_id, files)


def _seal(store: OutputStore, job_id: str, files: list[ReportedFile]) -> list[Output]:
    staged = store.staged(job_id, [f.name for f in files])
    problems = []
    for index, file in enumerate(files):
        found = staged.get(file.name)
        if found is None:
            problems.append({"field": f"files[{index}]", "message": f"{file.name} was never uploaded"})
        elif found.size != file.size:
            problems.append({"field": f"files[{index}]",
                             "message": f"{file.name} is {found.size} bytes in storage, not {file.size}"})
        elif file.md5 and found.md5 and file.md5 != found.md5:
            problems.append({"field": f"files[{index}]", "message": f"{file.name} has another MD5 in storage"})
    if problems:
        raise ValidationFailed("the outputs do not match what storage holds; the job is not done", errors=problems)
    store.seal(job_id, {file.name: staged[file.name] for file in files})
    budget = [MAX_SUMMARISED_COLUMNS]
    return [_summarised(store, job_id, output, budget) for output in outputs_from(files)]


SUMMARY_PIECE = 4 * 1024 * 1024
MAX_SUMMARISED_COLUMNS = 400  # columns summarised per job, all CSV outputs together: the job row stays small


def _summarised(store: OutputStore, job_id: str, output: Output, budget: list[int]) -> Output:
    """A sealed CSV output with the summary of its numeric columns, worked out now, once, from the file
    read in pieces; other outputs as they are. A file that cannot be read or summarised says why; the
    seal never fails for it."""
    if output.content_type != "text/csv":
        return output
    if output.size > MAX_SUMMARISED_BYTES:
        note = f"not summarised: larger than {MAX_SUMMARISED_BYTES // (1024 * 1024)} MiB"
        return output.model_copy(update={"summary": CsvSummary(note=note)})
    if budget[0] <= 0:
        note = f"not summarised: the job's other CSV outputs have {MAX_SUMMARISED_COLUMNS} columns summarised"
        return output.model_copy(update={"summary": CsvSummary(note=note)})

    def pieces():
        for offset in range(0, output.size, SUMMARY_PIECE):
            yield store.read(job_id, output.name, output.snapshot, offset, SUMMARY_PIECE)

    try:
        summary = summarise_pieces(pieces())
    except SimgateError as exc:
        job_log(log, job_id).warning("%s not summarised: %s", output.name, exc.detail)
        return output
    if len(summary.columns) > budget[0]:
        summary = CsvSummary(columns=dict(list(summary.columns.items())[:budget[0]]),
                             note=f"the first {budget[0]} numeric columns: the job's summaries are full")
    budget[0] -= len(summary.columns)
    return output.model_copy(update={"summary": summary})


def release_uploads(store: OutputStore, job_id: str, job: Job | None) -> int:
    """Remove what the job's grants wrote, once none of it may be used any more: a done job keeps its
    sealed outputs and loses its staging area; a job that ended otherwise, or no longer exists, loses
    both (a seal that lost the race with the job's end leaves no copy behind). A job that has not
    ended keeps everything: its agent may be uploading. How many blobs were removed."""
    if job is not None and not job.status.terminal:
        return 0
    if job is not None and job.status == JobStatus.DONE:
        return store.discard_staging(job_id)
    return store.delete_outputs(job_id)


def release_after_seal(store: OutputStore, job_id: str, job: Job | None) -> None:
    """``release_uploads`` right after a seal, as a courtesy: what it cannot remove now, the
    reconciler's sweep removes."""
    try:
        release_uploads(store, job_id, job)
    except SimgateError as exc:
        job_log(log, job_id).warning("staged uploads left for the reconciler's sweep: %s", exc.detail)


def keep_live_files(live: LiveStore, job: Job) -> None:
    """A job that ended short of done keeps its live files as they are now: what an agent's link writes
    later changes nothing that is listed or read. Done jobs have sealed outputs instead."""
    if job.status == JobStatus.DONE:
        return
    try:
        live.keep_files(job.job_id)
    except SimgateError as exc:
        job_log(log, job.job_id).warning("live files not kept as they were at the end: %s", exc.detail)


def discard_live_files(live: LiveStore, job_id: str) -> None:
    """At done the sealed outputs replace the live files: what is left, the job's deletion removes."""
    try:
        live.discard_files(job_id)
    except SimgateError as exc:
        job_log(log, job_id).warning("live files left until the job is deleted: %s", exc.detail)


def sweep_staging(store: OutputStore, jobs: JobRepository, limit: int) -> list[str]:
    """One pass over the staging area (one listing, then a point read per job found there): removes
    the uploads of every job that has ended or no longer exists and leaves those of the others.
    The ids of the jobs whose uploads were removed."""
    swept = []
    for job_id in store.staged_jobs(limit):
        stored = jobs.find(job_id)
        job = stored.item if stored is not None else None
        if job is not None and not job.status.terminal:
            continue
        try:
            removed = release_uploads(store, job_id, job)
        except SimgateError as exc:  # a lease or a copy a grant keeps renewing: the next sweep tries again
            job_log(log, job_id).warning("staged uploads not removed this time: %s", exc.detail)
            continue
        swept.append(job_id)
        job_log(log, job_id).info("removed %d uploads of a job that %s", removed,
                                  f"is {job.status.value}" if job is not None else "no longer exists")
    return swept
