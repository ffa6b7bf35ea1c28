"""Studies from the command line: sweeps over a case's fields (``--vary`` lists and ranges, or a table of
runs), previews of what would run, following a sweep to its end, and runs compared side by side.

Values are typed here by their fields (as ``--set`` values are) and checked by the API, which names
each bad one (``vary.speed_rpm[2]``, ``rows[4].speed_rpm``): what it refuses is said once, one problem
a line. What cannot be a request at all (``--vary speed_rpm``, a range ``10:5:0``, a table file that
is not there) is a usage problem, found before anything is sent."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, Task, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Column, Table
from rich.text import Text

from cli.client import Api, Page, request_model
from cli.errors import CannotConnect, CliError, Interrupted, JobEnded, UsageProblem, entry_line
from cli.fields import parse_assignments
from cli.render import STATUS_STYLES, ago, notes_grid, percent, refusal, size, slots, status_text, until, when
from cli.workflows import listing
from shared.api.models import (
    CaseDetails,
    ColumnStats,
    Comparison,
    FieldInfo,
    JobStatus,
    PreviewAnswer,
    ProblemEntry,
    Quote,
    SweepCancelled,
    SweepCreated,
    SweepDetails,
    SweepMember,
    SweepRetried,
    SweepStarted,
    SweepSummary,
)
from shared.api.requests import MAX_COMPARED, CompareQuery, NewSweep, PreviewRequest, SweepListQuery
from shared.domain.fields import FieldValue, value_from_text
from shared.domain.sweeps import MAX_MEMBERS_LIMIT

POLL_SECONDS = 2.0  # how often a followed sweep is read again
BAR_WIDTH = 24
RANGE_HINT = "a range is START:STOP:STEP, the stop included (10:60:10 is 10, 20, 30, 40, 50, 60)"
NUMERIC = ("integer", "number")
NONE = "—"  # a cell with nothing in it: no value, no such output


# --- what a sweep varies -------------------------------------------------------------------------


def parse_vary(texts: Iterable[str]) -> dict[str, list[str]]:
    """``["speed_rpm=4000,8000", "duration_s=10:60:10"]`` as ``{"speed_rpm": ["4000", "8000"],
    "duration_s": ["10:60:10"]}``: each field's items, ranges not expanded yet."""
    varied: dict[str, list[str]] = {}
    problems = []
    for text in texts:
        name, sign, values = text.partition("=")
        name = name.strip()
        if not sign or not name:
            problems.append(f"{text!r}: expected NAME=VALUES, like speed_rpm=4000,8000,12000 or duration_s=10:60:10")
        elif name in varied:
            problems.append(entry_line(name, "is varied twice: give all its values in one --vary"))
        elif not values.strip():
            problems.append(entry_line(name, "give at least one value (VALUE,VALUE,... or START:STOP:STEP)"))
        else:
            varied[name] = [item.strip() for item in values.split(",")]
    if problems:
        raise UsageProblem("--vary takes NAME=VALUES", problems)
    return varied


def expand_range(text: str, limit: int = MAX_MEMBERS_LIMIT) -> list[str]:
    """``"10:60:10"`` as ``["10", "20", "30", "40", "50", "60"]`` (decimal steps stay exact: ``0.1:0.3:0.1``
    is 0.1, 0.2, 0.3); ValueError saying what is wrong with it."""
    parts = [part.strip() for part in text.split(":")]
    if len(parts) != 3:
        raise ValueError(f"{text!r}: {RANGE_HINT}")
    try:
        start, stop, step = (Decimal(part) for part in parts)
    except InvalidOperation:
        raise ValueError(f"{text!r}: {RANGE_HINT}, each a number") from None
    if not all(d.is_finite() for d in (start, stop, step)):
        raise ValueError(f"{text!r}: {RANGE_HINT}, each a finite number")
    if step == 0:
        raise ValueError(f"{text!r}: the step cannot be 0")
    if (stop - start) * step < 0:
        direction = "up" if step > 0 else "down"
        raise ValueError(f"{text!r}: a step of {parts[2]} counts {direction}, so it never gets from {parts[0]} "
                         f"to {parts[1]}")
    count = int((stop - start) / step) + 1
    if count > limit:
        raise ValueError(f"{text!r} makes {count} values: more than a sweep may have ({limit} at most)")
    return [format((start + index * step).normalize(), "f") for index in range(count)]


def vary_values(fields: Sequence[FieldInfo], varied: dict[str, list[str]]) -> dict[str, list[Any]]:
    """Each field's items as values of its type, ranges expanded (on number fields: elsewhere a colon is
    just a character). A field the case does not have keeps its texts: the API says it has no such field."""
    specs = {f.name: f.to_spec() for f in fields}
    values: dict[str, list[Any]] = {}
    problems = []
    for name, items in varied.items():
        spec = specs.get(name)
        values[name] = []
        for item in items:
            if spec is None:
                values[name].append(item)
            elif spec.type in NUMERIC and ":" in item:
                try:
                    values[name] += [value_from_text(spec, text) for text in expand_range(item)]
                except ValueError as exc:
                    problems.append(entry_line(name, str(exc)))
            else:
                values[name].append(value_from_text(spec, item))
    if problems:
        raise UsageProblem("--vary takes NAME=VALUES", problems)
    return values


def base_values(fields: Sequence[FieldInfo], assignments: dict[str, str]) -> dict[str, FieldValue]:
    """``--set`` texts typed by their fields (unknown names kept as text, for the API to name)."""
    specs = {f.name: f.to_spec() for f in fields}
    return {name: value_from_text(specs[name], text) if name in specs else text for name, text in assignments.items()}


def read_table(path: Path) -> str:
    """The CSV text of a table of runs (``-``: standard input), sent as it is."""
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise UsageProblem(f"--table: cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UsageProblem(f"--table: {path} is not UTF-8 text") from None
    if not text.strip():
        raise UsageProblem(f"--table: {path} is empty", ["a header row of field names, then one row per run"])
    return text


@dataclass(frozen=True)
class Plan:
    """What a sweep or a preview sends: the case, and its base values and varied ones (or its table)."""

    case: CaseDetails
    title: str
    body: dict[str, Any]


def plan(api: Api, case_id: str, *, vary: Sequence[str], table: Path | None, assignments: Sequence[str],
         zipped: bool, title: str | None) -> Plan:
    """The options as a plan, every malformed one reported before anything is sent; values are typed
    by the fields of the case's latest version (the version a sweep is made of)."""
    varied = parse_vary(vary)
    texts = parse_assignments(assignments)
    if table is not None and varied:
        raise UsageProblem("give --vary or --table, not both: a table lists every run's values itself")
    if table is not None and zipped:
        raise UsageProblem("--zip combines --vary lists element by element; a table lists its runs itself")
    if table is None and not varied:
        raise UsageProblem("say what varies: --vary NAME=VALUES (one per field), or --table FILE.csv")
    both = sorted(set(varied) & set(texts))
    if both:
        raise UsageProblem("a field is either --set (one value for every run) or --vary, not both",
                           [entry_line(name, "is in both") for name in both])
    table_text = read_table(table) if table is not None else None
    case = api.case(case_id)
    body: dict[str, Any] = {"case_id": case_id, "fields": base_values(case.fields, texts)}
    if table_text is not None:
        body["table"] = table_text
    else:
        body |= {"vary": vary_values(case.fields, varied), "mode": "zip" if zipped else "grid"}
    return Plan(case, title or case.title, body)


def create(api: Api, plan: Plan, run: bool, simulator: str | None) -> SweepCreated:
    return api.create_sweep(request_model(NewSweep, **plan.body, title=plan.title, run=run, simulator=simulator))


def preview(api: Api, plan: Plan) -> PreviewAnswer:
    return api.preview(request_model(PreviewRequest, **plan.body, title=plan.title))


def check_preview(answer: PreviewAnswer, what: str) -> None:
    """Nothing when every run would be valid; otherwise the preview's verdict (exit 1)."""
    if not answer.valid:
        count = len(answer.problems)
        raise CliError(f"{what} is not valid: {count} problem{'s' if count != 1 else ''} (listed above)")


def compare_query(job_ids: Sequence[str], sweep_id: str | None) -> CompareQuery:
    if sweep_id is not None and job_ids:
        raise UsageProblem("compare takes jobs or --sweep SWEEP, not both")
    if sweep_id is None and not 2 <= len(job_ids) <= MAX_COMPARED:
        raise UsageProblem(f"compare takes 2 to {MAX_COMPARED} jobs (or --sweep SWEEP); you gave {len(job_ids)}")
    return request_model(CompareQuery, job=list(job_ids), sweep_id=sweep_id)


def list_sweeps(api: Api, query: SweepListQuery, per_page: int | None, limit: int | None
                ) -> tuple[list[SweepSummary], bool]:
    def first(size: int | None) -> Page[SweepSummary]:
        return api.sweeps(query.model_copy(update={"per_page": size}) if size else query)

    return listing(first, lambda page: api.next_page(page, SweepSummary), per_page, limit)


# --- following a sweep --------------------------------------------------------------------------


def follow_sweep(api: Api, sweep_id: str, console: Console, poll: float | None = None) -> SweepDetails:
    """The sweep once every member has finished (or none is left to run): read every ``poll`` seconds,
    shown as one live line on a terminal, a line per change elsewhere. Ctrl-C stops following only."""
    try:
        with SweepLine(console) as line:
            details = api.sweep(sweep_id)
            line.show(details)
            while details.state in ("creating", "active"):
                time.sleep(POLL_SECONDS if poll is None else poll)
                details = api.sweep(sweep_id)
                line.show(details)
    except KeyboardInterrupt:
        raise Interrupted(f"stopped waiting; sweep {sweep_id} goes on", [resume(sweep_id)]) from None
    except CannotConnect as exc:
        raise CannotConnect(exc.message, [*exc.details, resume(sweep_id)]) from None
    return details


def resume(sweep_id: str) -> str:
    return f"follow it again with: simgate sweep-status {sweep_id} --wait"


def outcome(details: SweepDetails) -> str:
    """A finished sweep whose members are all done: its counts. Otherwise JobEnded (exit 4 with a failed
    member, 5 with cancelled ones only), or a CliError for members never asked to run."""
    sweep_id, counts = details.sweep_id, counts_text(details.counts).plain
    drafts = [m for m in details.members if m.status == JobStatus.DRAFT]
    if drafts:
        raise CliError(f"sweep {sweep_id}: {len(drafts)} of its members are drafts, never asked to run: "
                       "nothing to wait for", [f"run each with: simgate run JOB (simgate sweep-status {sweep_id} "
                                               "lists them)"])
    failed = [m for m in details.members if m.status == JobStatus.FAILED]
    cancelled = [m for m in details.members if m.status == JobStatus.CANCELLED]
    if failed or cancelled:
        ended = JobEnded(f"sweep {sweep_id} finished: {counts}", cancelled=not failed)
        ended.details = [f"#{m.index + 1} {m.job_id} {m.status.value}  {values_text(m.values)}"
                         for m in failed + cancelled]
        if failed:
            ended.details.append(f"run the failed ones again with: simgate sweep-retry {sweep_id} --wait")
        raise ended
    return f"sweep {sweep_id} finished: {counts}"


class SweepLine:
    """A live line on a terminal (a bar for the sweep's progress); elsewhere a plain line each time what
    it shows (state, progress to the percent, counts) changes."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.live = console.is_terminal
        self.last: str | None = None
        self.progress = Progress(_Mark(), TextColumn("{task.description}"),
                                 BarColumn(bar_width=None, table_column=Column(max_width=BAR_WIDTH)),
                                 TaskProgressColumn(), TimeElapsedColumn(), console=console, transient=False)
        self.task = self.progress.add_task("", total=1.0, mark=None)

    def __enter__(self) -> SweepLine:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress.live.is_started:
            self.progress.stop()

    def show(self, details: SweepDetails) -> None:
        if self.live:
            mark = None
            if details.state == "finished":
                bad = details.counts.get("failed", 0) or details.counts.get("cancelled", 0)
                mark = ("✘", "bold red") if bad else ("✔", "green")
            description = Text.assemble(f"{details.sweep_id} ", state_text(details.state), "  ",
                                        counts_text(details.counts))
            self.progress.update(self.task, description=description.markup, completed=details.progress, mark=mark,
                                 refresh=True)
            if not self.progress.live.is_started:
                self.progress.start()
            return
        line = sweep_line(details)
        if line.plain != self.last:
            self.console.print(line)
            self.last = line.plain


class _Mark(SpinnerColumn):
    def render(self, task: Task) -> Text:
        mark = task.fields.get("mark")
        return Text(mark[0], style=mark[1]) if mark else self.spinner.render(task.get_time())


# --- for people: texts -------------------------------------------------------------------------


STATE_STYLES = {"creating": "cyan", "draft": "dim", "active": "yellow", "finished": "green"}
STATUS_ORDER = [status.value for status in JobStatus]


def state_text(state: str) -> Text:
    return Text(state, style=STATE_STYLES.get(state, ""))


def counts_text(counts: dict[str, int]) -> Text:
    """"2 done, 1 running, 1 queued": the members by status, in the order a job goes."""
    ordered = sorted(counts.items(), key=lambda item: STATUS_ORDER.index(item[0]) if item[0] in STATUS_ORDER else 99)
    parts = []
    for status, count in ordered:
        style = STATUS_STYLES.get(JobStatus(status)) if status in STATUS_ORDER else ""
        parts.append(Text(f"{count} {status}", style=style or ""))
    return Text(", ").join(parts) if parts else Text("no members yet", style="dim")


def sweep_line(details: SweepDetails) -> Text:
    return Text.assemble(f"{details.sweep_id}  ", state_text(details.state), f" {percent(details.progress)}  ",
                         counts_text(details.counts))


def shown(value: FieldValue) -> str:
    """A value as people write it: 10 (not 10.0), true, mango."""
    if value is None:
        return NONE
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}" if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


def values_text(values: dict[str, FieldValue]) -> str:
    return ", ".join(f"{name}={shown(value)}" for name, value in values.items())


def stat(value: float) -> str:
    return f"{value:.6g}"


def table(*columns: str, **options: Any) -> Table:
    grid = Table(box=None, header_style="bold", pad_edge=False, **options)
    for column in columns:
        grid.add_column(column, no_wrap=True)
    return grid


# --- for people: previews ------------------------------------------------------------------------


def preview_view(console: Console, answer: PreviewAnswer, job_id: str | None = None) -> None:
    """How many runs and whether they are valid, each problem, the sample run's scripts, then each site's
    quote (last: it is what a terminal leaves in view)."""
    runs = f"{answer.runs} run{'s' if answer.runs != 1 else ''}"
    what = f"job {job_id} (case {answer.case_id} v{answer.case_version})" if job_id else (
        f"{runs} of {answer.case_id} v{answer.case_version}")
    verdict = Text("valid", style="green") if answer.valid else Text(
        f"not valid: {len(answer.problems)} problem{'s' if len(answer.problems) != 1 else ''}", style="bold red")
    console.print(Text.assemble((what, "bold"), "  ", verdict))
    if answer.placement:
        console.print(Text.assemble(("placement  ", "dim"), answer.placement))
    if answer.problems:
        console.print()
        console.print(problems_view(answer.problems))
    for run in answer.rendered:
        console.print()
        sample = f" of run {run.index + 1} of {answer.runs}" if not job_id and answer.runs > 1 else ""
        console.print(Text(f"scripts{sample}: {run.title}", style="bold"))
        if run.job_id is None:
            console.print(Text('(its job id is not known yet: the scripts show it as "<job id>")', style="dim"))
        for name, text in run.scripts.items():
            console.print(Text(f"── {name} " + "─" * max(3, 40 - len(name)), style="dim"))
            console.print(text.rstrip("\n"), markup=False, highlight=False, soft_wrap=True)
    console.print()
    if not answer.quotes:
        console.print(Text("no configured simulator may run this case", style="red"))
        return
    console.print(quotes_table(answer.quotes))
    console.print()
    console.print(notes_grid((q.simulator, quote_notes(q)) for q in answer.quotes))


def problems_view(problems: Sequence[ProblemEntry]) -> Table:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column()
    for problem in problems:
        grid.add_row(Text(f"{problem.field}:" if problem.field else "", style="red"), problem.message)
    return grid


def quotes_table(quotes: Sequence[Quote]) -> Table:
    grid = table("SIMULATOR", "SCHEDULER", "SLOTS", "WAITING", "RUNS", "START", "FINISH")
    for column in (grid.columns[2], grid.columns[3], grid.columns[4]):
        column.justify = "right"
    for quote in quotes:
        start = Text(until(quote.estimated_start)) if quote.available else Text("unavailable", style="red")
        finish = Text(until(quote.estimated_finish)) if quote.available else Text("")
        grid.add_row(quote.simulator, quote.scheduler, slots(quote.running, quote.limits), str(quote.waiting),
                     str(quote.runs), start, finish)
    return grid


def quote_notes(quote: Quote) -> Text:
    if not quote.available:
        return refusal("unavailable", quote.reason)
    return Text("\n").join([Text(f"start: {quote.start_basis}"), Text(f"finish: {quote.finish_basis}")])


# --- for people: sweeps --------------------------------------------------------------------------


def sweeps_table(sweeps: Sequence[SweepSummary]) -> Table:
    grid = table("SWEEP", "TITLE", "CASE", "MODE", "VARIED", "MEMBERS", "CREATED")
    grid.columns[1].no_wrap, grid.columns[1].overflow, grid.columns[1].max_width = False, "ellipsis", 40
    grid.columns[4].no_wrap = False
    grid.columns[5].justify = "right"
    for sweep in sweeps:
        members = str(sweep.total) + ("" if sweep.complete else " (creating)")
        grid.add_row(sweep.sweep_id, sweep.title, f"{sweep.case_id} v{sweep.case_version}", sweep.mode,
                     ", ".join(sweep.varied), members, ago(sweep.created))
    return grid


def created_note(created: SweepCreated, run: bool) -> str:
    members = plural(len(created.job_ids), "member")
    written = "" if created.complete else " (still being written)"
    return f"created sweep {created.sweep_id}: {members}{written}, " + ("asked to run" if run else "drafts")


def started_note(sweep_id: str, answer: SweepStarted) -> str:
    if not answer.started:
        return f"sweep {sweep_id} has no draft members: nothing to run"
    return f"sweep {sweep_id}: {plural(answer.started, 'draft member')} asked to run"


def cancelled_note(sweep_id: str, answer: SweepCancelled) -> str:
    return (f"sweep {sweep_id}: cancel requested for {plural(answer.cancelled, 'member')} "
            f"({answer.finished} had already finished)")


def retried_note(sweep_id: str, answer: SweepRetried) -> str:
    if not answer.job_ids:
        return f"sweep {sweep_id} has no failed members: nothing to run again"
    return f"sweep {sweep_id}: {plural(len(answer.job_ids), 'failed member')} asked to run again"


def plural(count: int, thing: str) -> str:
    return f"{count} {thing}{'' if count == 1 else 's'}"


def sweep_view(console: Console, details: SweepDetails) -> None:
    """The sweep at a glance, its members (status and varied values), then for the done ones the last
    value of each numeric column of their CSV outputs, a table per output."""
    console.print(Text.assemble((details.title, "bold"), f"  {details.sweep_id}"))
    plan_text = f"{details.mode} over {', '.join(details.varied)}" if details.varied else details.mode
    rows: list[tuple[str, Any]] = [
        ("case", f"{details.case_id} v{details.case_version}"),
        ("plan", f"{plan_text}: {details.total} member{'s' if details.total != 1 else ''}"),
        ("base", values_text(details.base)),
        ("state", Text.assemble(state_text(details.state), f" {percent(details.progress)}")),
        ("members", counts_text(details.counts)),
        ("created", when(details.created))]
    grid = Table.grid(padding=(0, 2))
    for name, value in rows:
        if value:
            grid.add_row(Text(name, style="dim"), value)
    console.print(grid)
    if not details.members:
        return
    console.print()
    console.print(members_table(details.members, details.varied))
    for output, columns, members in results(details.members):
        console.print()
        console.print(Text(f"{output}: last values", style="bold"))
        console.print(results_table(output, columns, members, details.varied))


def members_table(members: Sequence[SweepMember], varied: Sequence[str]) -> Table:
    retried = any(m.attempts > 1 for m in members)
    rows = []
    for member in members:
        status = status_text(member.status)
        if member.progress is not None and not member.status.terminal:
            status.append(f" {percent(member.progress)}")
        rows.append([str(member.index + 1), member.job_id, status, *(shown(member.values.get(n)) for n in varied),
                     *([str(member.attempts)] if retried else [])])
    return sized(["#", "JOB", "STATUS", *varied, *(["ATTEMPTS"] if retried else [])], rows, right={0})


def results(members: Sequence[SweepMember]) -> list[tuple[str, list[str], list[SweepMember]]]:
    """Per CSV output (in the order the members list them): its numeric columns and the done members."""
    done = [m for m in members if m.status == JobStatus.DONE and m.outputs]
    columns: dict[str, dict[str, None]] = {}
    for member in done:
        for output, stats in member.outputs.items():
            columns.setdefault(output, {}).update(dict.fromkeys(stats))
    return [(output, list(names), [m for m in done if output in m.outputs]) for output, names in columns.items()]


def results_table(output: str, columns: Sequence[str], members: Sequence[SweepMember], varied: Sequence[str]
                  ) -> Table:
    rows = [[str(m.index + 1), *(shown(m.values.get(n)) for n in varied),
             *(stat(m.outputs[output][c].last) if c in m.outputs[output] else NONE for c in columns)]
            for m in members]
    headers = ["#", *varied, *columns]
    return sized(headers, rows, right=set(range(len(headers))))


def sized(headers: Sequence[str], rows: Sequence[Sequence[str | Text]], right: set[int] = frozenset()) -> Table:
    """A table whose cells keep their width: where it has too little room, long headers fold
    (median_piece_mm over two lines), never a value."""
    grid = Table(box=None, header_style="bold", pad_edge=False)
    for index, header in enumerate(headers):
        width = max((_width(row[index]) for row in rows), default=0)
        grid.add_column(header, min_width=max(width, 1), overflow="fold", justify="right" if index in right else "left")
    for row in rows:
        grid.add_row(*row)
    return grid


def _width(cell: str | Text) -> int:
    text = cell.plain if isinstance(cell, Text) else cell
    return max(len(line) for line in text.split("\n"))


# --- for people: comparisons ---------------------------------------------------------------------


def compare_view(console: Console, compared: Comparison, every_field: bool = False) -> None:
    """The jobs numbered 1, 2, ... (the columns of the tables after), the fields (those that differ,
    unless ``every_field``), the outputs, then each CSV output's numeric columns; * marks a difference."""
    count = len(compared.jobs)
    console.print(Text.assemble((f"{count} jobs of {compared.case_id}", "bold"), ("  (* differs)", "dim")))
    legend = Table.grid(padding=(0, 2))
    for column in ("right", "left", "left", "left"):
        legend.add_column(justify=column, no_wrap=column == "right")
    versions = {job.case_version for job in compared.jobs}
    for number, job in enumerate(compared.jobs, start=1):
        version = f" (v{job.case_version})" if len(versions) > 1 else ""
        legend.add_row(str(number), job.job_id, status_text(job.status), job.title + version)
    console.print(legend)
    numbers = [str(n) for n in range(1, count + 1)]

    fields = [f for f in compared.fields if every_field or f.differs]
    console.print()
    if fields:
        console.print(marked("FIELD", numbers, [[mark(f.differs), f.name, *(shown(v) for v in f.values)]
                                                for f in fields]))
    same = len(compared.fields) - len(fields)
    if same:
        console.print(Text(f"{same} field{'s' if same != 1 else ''} with the same value in every job: "
                           "--all shows them", style="dim"))
    if not fields and not same:
        console.print(Text("the case has no fields", style="dim"))

    console.print()
    if not compared.outputs:
        console.print(Text("no outputs yet: jobs list them once they are done", style="dim"))
        return
    # each file's size, and beneath it the start of its MD5
    console.print(marked("OUTPUT", numbers, [
        [mark(not o.identical), o.name, *(f"{size(f.size)}\n{(f.md5 or '?')[:6]}" if f else NONE for f in o.files)]
        for o in compared.outputs]))

    by_output: dict[str, list[Any]] = {}
    for column in compared.columns:
        by_output.setdefault(column.output, []).append(column)
    for output, columns in by_output.items():
        console.print()
        console.print(Text(f"{output}: mean and last value of each numeric column", style="bold"))
        rows = [[mark(c.differs) if which == "mean" else "", c.column if which == "mean" else "", which,
                 *(stats_cell(s, which) for s in c.stats)] for c in columns for which in ("mean", "last")]
        console.print(sized(["", "COLUMN", "", *numbers], rows, right=set(range(3, 3 + len(numbers)))))


def marked(title: str, numbers: Sequence[str], rows: Sequence[Sequence[str | Text]]) -> Table:
    """A mark column (* where the row differs), the row's name, then a column per job."""
    return sized(["", title, *numbers], rows, right=set(range(2, 2 + len(numbers))))


def mark(differs: bool) -> Text:
    return Text("*", style="bold yellow") if differs else Text("")


def stats_cell(stats: ColumnStats | None, which: str) -> str:
    return NONE if stats is None else stat(getattr(stats, which))
