"""Sweeps: one case version run over combinations of field values.

A plan says which values vary: lists per field combined as a grid (every combination, the first
field outermost) or zipped (element by element), or a table with one row per run. Every value is
checked against its field once, before anything exists; the members are then a pure function of the
plan, in a fixed order, so a member's identity is its sweep and its place in that order (which its
values determine: a plan that would repeat a combination is refused). Member job ids are derived
from the sweep, so writing a member twice is writing the same row twice, never a second member.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import math
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.domain.cases import PublishedCase
from shared.domain.fields import FieldSpec, FieldValue, FieldValueError, check_values, missing_required, value_from_text
from shared.domain.jobs import MAX_TITLE, Job, JobStatus, Transition, owner_partition
from shared.errors import ValidationFailed

Mode = Literal["grid", "zip"]

DEFAULT_MAX_MEMBERS = 1000
MAX_MEMBERS_LIMIT = 10_000  # what an operator may raise the limit to (SWEEP_MAX_MEMBERS)
MAX_TABLE_CELLS = 200_000
_MAX_MILLIS = 10**13

SWEEP_ID = re.compile(r"^sw-[0-9a-f]{12}-[0-9]{13}-[0-9a-f]{8}$")


# --- the plan ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One bad part of a plan: ``field`` names where (``vary.speed_rpm[2]``, ``rows[4].speed_rpm``)."""

    field: str
    message: str
    rule: str | None = None
    member: int | None = None  # the member (from 0) a problem of one row belongs to

    def entry(self) -> dict[str, str]:
        entry = {"field": self.field, "message": self.message}
        if self.rule:
            entry["rule"] = self.rule
        return entry


@dataclass(frozen=True)
class SweepPlan:
    """What the caller asked for, unchecked: base values, and either ``vary`` (with ``mode``) or ``rows``.
    ``table`` is CSV text whose header row names the fields (parsed into ``rows``)."""

    base: Mapping[str, Any] = field(default_factory=dict)
    vary: Mapping[str, Sequence[Any]] = field(default_factory=dict)
    mode: Mode = "grid"
    rows: Sequence[Mapping[str, Any]] | None = None
    table: str | None = None


@dataclass(frozen=True)
class CheckedPlan:
    """A plan every value of which is valid for its fields: the members follow from it."""

    mode: Mode
    base: dict[str, FieldValue]
    vary: dict[str, list[FieldValue]]
    rows: list[dict[str, FieldValue]] | None

    @property
    def varied(self) -> list[str]:
        """The fields that differ between members, in the order the plan names them."""
        if self.rows is not None:
            return list(dict.fromkeys(name for row in self.rows for name in row))
        return list(self.vary)

    @property
    def size(self) -> int:
        return count(self.mode, self.vary, self.rows)

    def members(self) -> list[dict[str, FieldValue]]:
        """Each member's varied values, in the plan's fixed order."""
        if self.rows is not None:
            return [dict(row) for row in self.rows]
        names = list(self.vary)
        if self.mode == "zip":
            return [dict(zip(names, values)) for values in zip(*self.vary.values())]
        return [dict(zip(names, values)) for values in itertools.product(*self.vary.values())]


@dataclass(frozen=True)
class MemberCheck:
    """One member as the plan makes it: its values (as given where they are not valid) and problems."""

    index: int
    values: dict[str, Any]
    problems: list[Problem]


@dataclass(frozen=True)
class Checked:
    """The outcome of checking a plan: the plan when it is valid, every problem found, and each
    member with its own problems (when the plan's shape lets its members be told apart)."""

    plan: CheckedPlan | None
    problems: list[Problem]
    size: int  # how many runs the plan makes (0 when that cannot be said)
    members: list[MemberCheck] = field(default_factory=list)

    def raise_problems(self) -> CheckedPlan:
        if self.problems or self.plan is None:
            raise ValidationFailed("the sweep is not valid; nothing was created",
                                   errors=[p.entry() for p in self.problems])
        return self.plan


def count(mode: Mode, vary: Mapping[str, Sequence[Any]], rows: Sequence[Any] | None) -> int:
    if rows is not None:
        return len(rows)
    if not vary:
        return 0
    lengths = [len(values) for values in vary.values()]
    return math.prod(lengths) if mode == "grid" else max(lengths)


def check_plan(fields: Sequence[FieldSpec], plan: SweepPlan, max_members: int) -> Checked:
    """Every value of ``plan`` checked against its field, and the plan's shape against its rules
    (vary or a table, zip lengths, no repeated combination, at most ``max_members`` runs)."""
    problems: list[Problem] = []
    specs = {f.name: f for f in fields}
    base = _check_base(fields, plan.base, problems)
    base_valid = not problems
    shape: list[Problem] = []  # problems that leave the members unknown
    rows = plan.rows
    if plan.table is not None:
        if rows is not None:
            shape.append(Problem("table", "give the table as CSV text or as rows, not both"))
        rows = _parse_table(plan.table, shape)
    if rows is not None and plan.vary:
        shape.append(Problem("vary", "give either vary or a table, not both"))
    if rows is None and not plan.vary and plan.table is None:
        shape.append(Problem("vary", "name at least one field to vary (or give a table of runs)", "required"))
    if rows is not None and not rows and plan.table is None:
        shape.append(Problem("table", "the table has no runs: give at least one row", "required"))
    size = count(plan.mode, plan.vary, rows) if rows is not None or plan.vary else 0
    if plan.mode == "zip" and rows is None and len({len(v) for v in plan.vary.values()}) > 1:
        lengths = ", ".join(f"{name}: {len(values)}" for name, values in plan.vary.items())
        shape.append(Problem("vary", f"zip needs lists of one length; these have {lengths}", "zip"))
        size = 0
    if size > max_members:
        shape.append(Problem("vary" if rows is None else "table",
                             f"the sweep makes {size} runs; at most {max_members} are allowed", "max_members"))
    if shape:
        return Checked(None, problems + shape, size)
    if rows is not None:
        fixed = {**{f.name: f.default for f in fields}, **base}
        checked_rows = _check_rows(specs, rows, problems, fixed, from_text=plan.table is not None)
        checked = CheckedPlan(mode=plan.mode, base=base, vary={}, rows=checked_rows)
    else:
        checked = CheckedPlan(mode=plan.mode, base=base, vary=_check_vary(specs, plan.vary, problems, plan.mode),
                              rows=None)
    if base_valid:
        _check_required(fields, checked, problems)
    members = _member_checks(plan, rows, checked, problems)
    return Checked(None if problems else checked, problems, size, members)


def _member_checks(plan: SweepPlan, rows: Sequence[Mapping[str, Any]] | None, checked: CheckedPlan,
                   problems: list[Problem]) -> list[MemberCheck]:
    """Each member's values and the problems that are its own (a bad value is every member's that has it)."""
    if rows is not None:
        own: dict[int, list[Problem]] = {}
        for problem in problems:
            if problem.member is not None:
                own.setdefault(problem.member, []).append(problem)
        return [MemberCheck(index, dict(row) if own.get(index) else dict(checked.rows[index]), own.get(index, []))
                for index, row in enumerate(rows)]
    by_field = {}
    for problem in problems:
        by_field.setdefault(problem.field, []).append(problem)
    names = list(plan.vary)
    positions = (zip(*(range(len(plan.vary[n])) for n in names)) if plan.mode == "zip"
                 else itertools.product(*(range(len(plan.vary[n])) for n in names)))
    members = []
    for index, places in enumerate(positions):
        values = {name: checked.vary[name][place] if name in checked.vary else plan.vary[name][place]
                  for name, place in zip(names, places)}
        own = [p for name, place in zip(names, places) for p in by_field.get(f"vary.{name}[{place}]", [])]
        members.append(MemberCheck(index, values, own))
    return members


def _check_base(fields: Sequence[FieldSpec], values: Mapping[str, Any], problems: list[Problem]) -> dict:
    try:
        return check_values(fields, values)
    except ValidationFailed as exc:
        problems.extend(Problem(f"fields.{e['field']}", e["message"], e.get("rule")) for e in exc.errors)
        return {}


def _check_vary(specs: dict[str, FieldSpec], vary: Mapping[str, Sequence[Any]], problems: list[Problem],
                mode: Mode) -> dict[str, list[FieldValue]]:
    """Each list's values checked; a value twice in a grid's list, or a zip's element twice, would make
    two runs of one combination."""
    before = len(problems)
    checked: dict[str, list[FieldValue]] = {}
    for name, values in vary.items():
        spec = specs.get(name)
        if spec is None:
            problems.append(Problem(f"vary.{name}", "the case has no field of this name", "unknown"))
            continue
        if not values:
            problems.append(Problem(f"vary.{name}", "give at least one value", "required"))
            continue
        typed: list[FieldValue] = []
        seen: dict[Any, int] = {}
        for index, value in enumerate(values):
            try:
                typed.append(spec.check(value))
            except FieldValueError as exc:
                problems.append(Problem(f"vary.{name}[{index}]", exc.message, exc.rule))
                typed.append(value)  # kept in its place, as given: the plan is not valid anyway
                continue
            key = _key(typed[-1])
            if key in seen and mode == "grid":
                problems.append(Problem(f"vary.{name}[{index}]", f"repeats value {seen[key]} ({value!r})",
                                        "duplicate"))
            seen.setdefault(key, index)
        checked[name] = typed
    if mode == "zip" and len(problems) == before:
        firsts: dict[tuple, int] = {}
        for index, values in enumerate(zip(*checked.values())):
            key = tuple(_key(value) for value in values)
            if key in firsts:
                problems.append(Problem(f"vary[{index}]", f"run {index + 1} repeats run {firsts[key] + 1}",
                                        "duplicate"))
            firsts.setdefault(key, index)
    return checked


def _check_rows(specs: dict[str, FieldSpec], rows: Sequence[Mapping[str, Any]], problems: list[Problem],
                fixed: Mapping[str, FieldValue], *, from_text: bool) -> list[dict[str, FieldValue]]:
    """Each row's values checked; a CSV table's cells are text, typed by their field first (an empty
    cell is no value: the base value holds for it)."""
    checked: list[dict[str, FieldValue]] = []
    unknown: set[str] = set()
    seen: dict[tuple, int] = {}
    for index, row in enumerate(rows):
        number = index + 1
        values: dict[str, FieldValue] = {}
        for name, value in row.items():
            spec = specs.get(name)
            if spec is None:
                if name not in unknown:
                    unknown.add(name)
                    problems.append(Problem(f"table.{name}", "the case has no field of this name", "unknown"))
                continue
            if from_text:
                text = value.strip() if spec.type != "string" else value
                value = None if value.strip() == "" else value_from_text(spec, text)
            if value is None:  # an empty cell: the base value
                continue
            try:
                values[name] = spec.check(value)
            except FieldValueError as exc:
                problems.append(Problem(f"rows[{number}].{name}", f"row {number}: {exc.message}", exc.rule, index))
        key = tuple(sorted((name, _key(value)) for name, value in {**fixed, **values}.items()))
        if key in seen:
            problems.append(Problem(f"rows[{number}]", f"row {number} repeats row {seen[key]}", "duplicate", index))
        seen.setdefault(key, number)
        checked.append(values)
    return checked


def _check_required(fields: Sequence[FieldSpec], plan: CheckedPlan, problems: list[Problem]) -> None:
    """A required field without a value in the defaults, the base values or the member's own."""
    fixed = {**{f.name: f.default for f in fields}, **plan.base}
    if plan.rows is None:
        for name in missing_required(fields, {**fixed, **{n: v[0] for n, v in plan.vary.items() if v}}):
            problems.append(Problem(f"fields.{name}", "a value is required", "required"))
        return
    for index, row in enumerate(plan.rows):
        for name in missing_required(fields, {**fixed, **row}):
            problems.append(Problem(f"rows[{index + 1}].{name}", f"row {index + 1}: a value is required",
                                    "required", index))


def _key(value: FieldValue) -> tuple[str, Any]:
    """Equal values of one field compare equal (1 and 1.0 on a number field are one value)."""
    return (type(value).__name__ if isinstance(value, (bool, str)) or value is None else "number", value)


def _parse_table(text: str, problems: list[Problem]) -> list[dict[str, str]] | None:
    """CSV text, a header row naming fields, then one row per run: rows of text cells."""
    try:
        records = list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")))
    except csv.Error as exc:
        problems.append(Problem("table", f"the table is not valid CSV: {exc}", "csv"))
        return None
    records = [r for r in records if any(cell.strip() for cell in r)]
    if not records:
        problems.append(Problem("table", "the table is empty: a header row of field names, then one row per run",
                                "csv"))
        return None
    header = [cell.strip() for cell in records[0]]
    if len(set(header)) != len(header) or "" in header:
        problems.append(Problem("table", "the header row must name each column once", "csv"))
        return None
    if len(records) - 1 > MAX_TABLE_CELLS // max(1, len(header)):
        problems.append(Problem("table", f"the table has more than {MAX_TABLE_CELLS} cells", "max_members"))
        return None
    rows = []
    for number, record in enumerate(records[1:], start=1):
        if len(record) != len(header):
            problems.append(Problem(f"rows[{number}]", f"row {number} has {len(record)} cells; the header has "
                                                      f"{len(header)}", "csv", number - 1))
        rows.append(dict(zip(header, record)))
    if len(rows) == 0:
        problems.append(Problem("table", "the table has a header row but no runs", "csv"))
    return rows


# --- the stored sweep ----------------------------------------------------------------------------


class Sweep(BaseModel):
    """A created sweep: its checked plan and what it was made from. Its members are jobs."""

    model_config = ConfigDict(frozen=True)

    sweep_id: str
    owner: str
    title: str
    case_id: str
    case_version: int
    mode: Mode
    base: dict[str, FieldValue]
    vary: dict[str, list[FieldValue]] = Field(default_factory=dict)
    rows: list[dict[str, FieldValue]] | None = None
    total: int
    run: bool = False
    simulator: str | None = None
    created: datetime
    materialised: bool = False  # every member written (and, for run, asked to run)
    idempotency_key_hash: str | None = None

    @property
    def plan(self) -> CheckedPlan:
        return CheckedPlan(mode=self.mode, base=dict(self.base), vary={k: list(v) for k, v in self.vary.items()},
                           rows=self.rows)

    @property
    def varied(self) -> list[str]:
        return self.plan.varied

    def member_id(self, index: int, attempt: int = 0) -> str:
        """The job id of member ``index`` (its ``attempt``-th retry): derived, never drawn. Members sort
        in the plan's order in their owner's list, the retries of one member next to it."""
        partition, millis, _ = self.sweep_id[3:].split("-")
        suffix = hashlib.sha256(f"{self.sweep_id}:{attempt}".encode()).hexdigest()[:8]
        return f"{partition}-{int(millis) + index:013d}-{suffix}"

    def member_ids(self) -> list[str]:
        return [self.member_id(index) for index in range(self.total)]

    def member_range(self) -> tuple[str, str]:
        """The row keys every member's job id falls in: [low, high)."""
        partition, millis, _ = self.sweep_id[3:].split("-")
        return f"{partition}-{int(millis):013d}", f"{partition}-{int(millis) + self.total:013d}"

    def member(self, fields: Sequence[FieldSpec], index: int, values: Mapping[str, FieldValue], at: datetime, *,
               attempt: int = 0, by: str | None = None) -> Job:
        """Member ``index`` as a new draft job (its ``attempt``-th retry when ``attempt`` > 0)."""
        by = by or self.owner
        reason = f"member {index + 1} of sweep {self.sweep_id}" + (f", retry {attempt}" if attempt else "")
        return Job(job_id=self.member_id(index, attempt), owner=self.owner, title=self.member_title(values),
                   case_id=self.case_id, case_version=self.case_version,
                   fields={**{f.name: f.default for f in fields}, **self.base, **values}, created=at, updated=at,
                   sweep_id=self.sweep_id, sweep_index=index, sweep_attempt=attempt,
                   history=[Transition(status=JobStatus.DRAFT, at=at, source=f"api:{by}", reason=reason)])

    def member_title(self, values: Mapping[str, FieldValue]) -> str:
        described = ", ".join(f"{name}={_shown(value)}" for name, value in values.items())
        title = f"{self.title} · {described}" if described else self.title
        return title if len(title) <= MAX_TITLE else title[:MAX_TITLE - 1] + "…"


def _shown(value: FieldValue) -> str:
    if isinstance(value, float) and value.is_integer():
        return f"{value:g}"
    return str(value).lower() if isinstance(value, bool) else str(value)


def new_sweep_id(owner: str, now: datetime) -> str:
    """"sw-<owner partition>-<inverted milliseconds>-<random>": its owner's sweeps list newest first,
    and its members' job ids share its partition and time (see ``Sweep.member_id``)."""
    inverted = _MAX_MILLIS - int(now.timestamp() * 1000) - MAX_MEMBERS_LIMIT
    return f"sw-{owner_partition(owner)}-{inverted:013d}-{secrets.token_hex(4)}"


def sweep_partition(sweep_id: str) -> str | None:
    return sweep_id[3:15] if SWEEP_ID.match(sweep_id) else None


def render_member(case: PublishedCase, job: Job, index: int | None = None) -> dict[str, str]:
    """The job's scripts; a failure names the member (``index``) it belongs to."""
    try:
        return case.render(job.fields, job_id=job.job_id, job_title=job.title)
    except ValidationFailed as exc:
        if index is None:
            raise
        raise ValidationFailed(f"member {index + 1} cannot be rendered: {exc.detail}", errors=[
            {"field": f"members[{index + 1}].{e.get('field', '')}".rstrip("."), "message": e["message"]}
            for e in exc.errors]) from None
