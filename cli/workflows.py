"""What takes more than one call: field values typed by the job's case, lists over several pages,
all of a job's outputs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import TypeVar

from pydantic import BaseModel

from cli.client import Api, Page, paged
from cli.download import Downloads, target_for, target_in
from cli.errors import CliError
from cli.fields import convert, parse_assignments
from shared.api.models import CaseHeader, FieldsSet, JobCreated, JobSummary, OutputInfo
from shared.api.requests import CaseListQuery, JobListQuery
from shared.domain.fields import FieldValue

Item = TypeVar("Item", bound=BaseModel)
Query = TypeVar("Query", bound=BaseModel)
MAX_PER_PAGE = 100


def case_values(api: Api, case_id: str, assignments: list[str], version: int | None = None
                ) -> dict[str, FieldValue]:
    """``--set`` texts as values of the case's fields, checked; the case is read only when there are any."""
    texts = parse_assignments(assignments)
    if not texts:
        return {}
    return convert(api.case(case_id, version).fields, texts)


def create_job(api: Api, case_id: str, title: str, assignments: list[str]) -> JobCreated:
    return api.create_job(case_id, title, case_values(api, case_id, assignments))


def job_values(api: Api, job_id: str, assignments: list[str]) -> dict[str, FieldValue]:
    """``--set`` texts as values of the fields of the job's case version, checked."""
    parse_assignments(assignments)  # a malformed NAME=VALUE is reported before any request
    job = api.job(job_id)
    return case_values(api, job.case_id, assignments, job.case_version)


def set_values(api: Api, job_id: str, assignments: list[str]) -> FieldsSet:
    return api.set_fields(job_id, job_values(api, job_id, assignments))


def relaunch(api: Api, job_id: str, assignments: list[str]) -> JobCreated:
    """A new draft like the job, with some values changed: all of them checked before it is made."""
    values = job_values(api, job_id, assignments) if assignments else {}
    created = api.relaunch(job_id)
    if values:
        api.set_fields(created.job_id, values)
    return created


def list_cases(api: Api, query: CaseListQuery, per_page: int | None, limit: int | None
               ) -> tuple[list[CaseHeader], bool]:
    return listing(lambda size: api.cases(_sized(query, size)), lambda p: api.next_page(p, CaseHeader),
                   per_page, limit)


def list_jobs(api: Api, query: JobListQuery, per_page: int | None, limit: int | None
              ) -> tuple[list[JobSummary], bool]:
    return listing(lambda size: api.jobs(_sized(query, size)), lambda p: api.next_page(p, JobSummary),
                   per_page, limit)


def _sized(query: Query, per_page: int | None) -> Query:
    return query.model_copy(update={"per_page": per_page}) if per_page else query


def listing(first: Callable[[int | None], Page[Item]], more: Callable[[Page[Item]], Page[Item]],
            per_page: int | None, limit: int | None) -> tuple[list[Item], bool]:
    """The items of one page, or of as many pages as ``limit`` takes; and whether more are listed."""
    size = per_page or (min(limit, MAX_PER_PAGE) if limit else None)
    items: list[Item] = []
    page = first(size)
    for page in paged(page, more, limit):
        items += page.items
    if limit is not None and len(items) > limit:
        return items[:limit], True
    return items, page.next_url is not None


def find_output(outputs: list[OutputInfo], job_id: str, wanted: str) -> OutputInfo:
    """An output by its id ("csv1"), its name ("results/homogeneity.csv") or a file name only one has."""
    for output in outputs:
        if wanted in (output.output_id, output.name):
            return output
    same_file_name = [o for o in outputs if PurePosixPath(o.name).name == wanted]
    if len(same_file_name) == 1:
        return same_file_name[0]
    known = ", ".join(o.output_id for o in outputs) or "none yet"
    raise CliError(f"job {job_id} has no output {wanted!r} (its outputs: {known})")


def download_one(api: Api, downloads: Downloads, job_id: str, wanted: str, destination: Path | None) -> Path | None:
    """One output into a file (``destination`` "-": to stdout, and None)."""
    output = find_output(api.outputs(job_id), job_id, wanted)
    link = api.output_link(job_id, output.output_id)
    if destination == Path("-"):
        downloads.to_stdout(output, link)
        return None
    return downloads.to_file(output, link, target_for(output, destination))


def download_all(api: Api, downloads: Downloads, job_id: str, folder: Path) -> list[Path]:
    """Every output into ``folder``, at its path in the job's run directory."""
    outputs = api.outputs(job_id)
    if not outputs:
        raise CliError(f"job {job_id} has no outputs (yet): they are listed once the job is done")
    targets = [target_in(folder, o) for o in outputs]  # every name checked before anything is written
    return [downloads.to_file(o, api.output_link(job_id, o.output_id), t) for o, t in zip(outputs, targets)]
