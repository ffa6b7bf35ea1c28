"""A side-by-side comparison of jobs of one case: which values differ, which outputs are identical,
and how their CSV outputs' numeric columns compare. Pure: it reads what the jobs hold (their values,
their outputs' sizes, MD5s and the summaries kept at the seal), never a file."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from shared.domain.cases import PublishedCase
from shared.domain.fields import FieldValue
from shared.domain.jobs import Job
from shared.domain.summaries import ColumnSummary
from shared.errors import ValidationFailed


@dataclass(frozen=True)
class FieldRow:
    name: str
    label: str
    values: list[FieldValue]
    differs: bool


@dataclass(frozen=True)
class FileFacts:
    size: int
    md5: str | None


@dataclass(frozen=True)
class OutputRow:
    name: str
    files: list[FileFacts | None]
    identical: bool


@dataclass(frozen=True)
class ColumnRow:
    output: str
    column: str
    stats: list[ColumnSummary | None]
    differs: bool


@dataclass(frozen=True)
class Comparison:
    case_id: str
    jobs: list[Job]
    fields: list[FieldRow]
    outputs: list[OutputRow]
    columns: list[ColumnRow]


def compare(jobs: Sequence[Job], cases: Sequence[PublishedCase]) -> Comparison:
    """``jobs`` (all of one case) side by side; ``cases`` are the case versions they ran, the newest
    naming and labelling the fields (fields of older versions follow in their order)."""
    case_ids = sorted({job.case_id for job in jobs})
    if len(case_ids) > 1:
        raise ValidationFailed("jobs of different cases cannot be compared", errors=[
            {"field": "job", "message": f"the jobs belong to the cases {', '.join(case_ids)}: compare jobs of one"}])
    labels: dict[str, str] = {}
    for case in sorted(cases, key=lambda c: c.version, reverse=True):
        for spec in case.definition.fields:
            labels.setdefault(spec.name, spec.display_label)
    for job in jobs:
        for name in job.fields:
            labels.setdefault(name, name)
    fields = []
    for name, label in labels.items():
        values = [job.fields.get(name) for job in jobs]
        fields.append(FieldRow(name, label, values, differs=_differ(values)))
    # the outputs as stored with each job (plain data: read, never validated again, for 50 jobs at once)
    outputs_per_job = [{o["name"]: o for o in job.outputs} for job in jobs]
    names = sorted({name for outputs in outputs_per_job for name in outputs})
    outputs = []
    columns = []
    for name in names:
        found = [outputs.get(name) for outputs in outputs_per_job]
        files = [FileFacts(o["size"], o.get("md5")) if o else None for o in found]
        identical = all(f is not None and f.md5 is not None for f in files) and len(
            {(f.size, f.md5) for f in files if f}) == 1
        outputs.append(OutputRow(name, files, identical))
        summaries = [(o.get("summary") or {}).get("columns", {}) if o else {} for o in found]
        for column in dict.fromkeys(c for summary in summaries for c in summary):
            stats = [ColumnSummary.model_construct(**summary[column]) if column in summary else None
                     for summary in summaries]
            columns.append(ColumnRow(name, column, stats, differs=_differ(stats)))
    return Comparison(case_ids[0] if case_ids else "", list(jobs), fields, outputs, columns)


def _differ(values: Sequence[object]) -> bool:
    first = values[0] if values else None
    return any(_normal(value) != _normal(first) for value in values[1:])


def _normal(value: object) -> object:
    """1 and 1.0 are one value; True is not 1."""
    if isinstance(value, bool) or value is None:
        return (type(value).__name__, value)
    return value
