"""What people read (rich tables on stdout, notes on stderr) and what scripts read (--json: the API's
answers as JSON on stdout, nothing else)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel
from rich.console import Console
from rich.table import Table
from rich.text import Text

from shared.api.models import (
    CaseDetails,
    CaseHeader,
    FieldInfo,
    JobDetails,
    JobOffers,
    JobStatus,
    JobStatusInfo,
    JobSummary,
    OfferInfo,
    OutputInfo,
    SiteInfo,
    SiteLimitsInfo,
    WaitingInfo,
)
from shared.domain.fields import FieldValue

STATUS_STYLES = {
    JobStatus.DRAFT: "dim", JobStatus.SUBMITTED: "cyan", JobStatus.QUEUED: "cyan", JobStatus.RUNNING: "yellow",
    JobStatus.CLEANUP: "yellow", JobStatus.DONE: "green", JobStatus.FAILED: "bold red", JobStatus.CANCELLED: "magenta",
}


# Where output goes to a file or a pipe, lines are not wrapped to a terminal's width.
UNWRAPPED_WIDTH = 240


def stdout() -> Console:
    return _unwrapped(Console(highlight=False))


def stderr() -> Console:
    return _unwrapped(Console(stderr=True, highlight=False))


def _unwrapped(console: Console) -> Console:
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = UNWRAPPED_WIDTH
    return console


def note(message: str) -> None:
    """A line for the person at the terminal, on stderr: stdout stays for what scripts read."""
    stderr().print(message, markup=False, soft_wrap=True)


def print_json(data: BaseModel | Sequence[BaseModel]) -> None:
    value = [item.model_dump(mode="json") for item in data] if isinstance(data, Sequence) else data.model_dump(
        mode="json")
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def status_text(status: JobStatus) -> Text:
    return Text(status.value, style=STATUS_STYLES[status])


def percent(progress: float | None) -> str:
    return "" if progress is None else f"{progress:.0%}"


def ago(moment: datetime, now: datetime | None = None) -> str:
    """"12 s ago", "5 min ago", "3 h ago", "2 d ago"; the date after a month."""
    now = now or datetime.now(timezone.utc)
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 60:
        return f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    if seconds < 30 * 86400:
        return f"{seconds // 86400} d ago"
    return moment.strftime("%Y-%m-%d")


def span(seconds: float) -> str:
    """"45 s", "12 min", "3 h 5 min", "2 d 4 h"."""
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min"
    if whole < 86400:
        hours, minutes = divmod(whole // 60, 60)
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(whole // 3600, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def until(moment: datetime | None, now: datetime | None = None) -> str:
    """"now", "in 12 min"; "unknown" without a moment."""
    if moment is None:
        return "unknown"
    seconds = (moment - (now or datetime.now(timezone.utc))).total_seconds()
    return "now" if seconds < 1 else f"in {span(seconds)}"


def when(moment: datetime) -> str:
    return f"{moment.astimezone().strftime('%Y-%m-%d %H:%M:%S')} ({ago(moment)})"


def size(count: int) -> str:
    amount = float(count)
    for unit in ("B", "kB", "MB", "GB"):
        if amount < 1000 or unit == "GB":
            return f"{count} B" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1000
    return f"{count} B"


def cases_table(cases: Sequence[CaseHeader]) -> Table:
    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column("CASE", no_wrap=True)
    table.add_column("VERSION", justify="right")
    table.add_column("TITLE")
    table.add_column("TAGS")
    table.add_column("UPDATED", no_wrap=True)
    for case in cases:
        table.add_row(case.id, str(case.version), case.title, ", ".join(case.tags), ago(case.updated))
    return table


def jobs_table(jobs: Sequence[JobSummary], owners: bool = False) -> Table:
    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column("JOB", no_wrap=True, min_width=len(max((j.job_id for j in jobs), key=len, default="")))
    table.add_column("TITLE", overflow="ellipsis", min_width=8, max_width=40)
    if owners:
        table.add_column("OWNER", no_wrap=True)
    table.add_column("CASE", no_wrap=True)
    table.add_column("STATUS", no_wrap=True)
    table.add_column("PROGRESS", justify="right", no_wrap=True)
    table.add_column("UPDATED", no_wrap=True)
    for job in jobs:
        cells: list[Any] = [job.job_id, job.title, *([job.owner or ""] if owners else []),
                            f"{job.case_id} v{job.case_version}", status_text(job.status), percent(job.progress),
                            ago(job.updated)]
        table.add_row(*cells)
    return table


def case_view(console: Console, case: CaseDetails) -> None:
    version = f"v{case.version}" + ("" if case.version == case.latest_version else f" of {case.latest_version}")
    console.print(Text.assemble((case.title, "bold"), f"  {case.id} {version}"))
    if case.tags:
        console.print(Text("tags: " + ", ".join(case.tags), style="dim"))
    if case.summary:
        console.print(case.summary, markup=False, soft_wrap=True)
    if case.description:
        console.print()
        console.print(case.description.rstrip(), markup=False, soft_wrap=True)
    console.print()
    console.print(fields_table(case.fields))
    if case.outputs:
        console.print()
        console.print(Text("outputs", style="bold"))
        for output in case.outputs:
            description = f"  {output.description}" if output.description else ""
            console.print(f"  {output.pattern}{description}", markup=False, soft_wrap=True)
    resources = ", ".join(f"{k} {v}" for k, v in case.resources.model_dump(exclude_none=True).items())
    console.print()
    console.print(f"resources: {resources}", markup=False)
    console.print(f"simulators: {', '.join(case.simulators) or 'any'}", markup=False)


def fields_table(fields: Sequence[FieldInfo]) -> Table:
    table = Table(box=None, header_style="bold", pad_edge=False, title_justify="left")
    table.add_column("FIELD", no_wrap=True)
    table.add_column("TYPE", no_wrap=True)
    table.add_column("DEFAULT")
    table.add_column("RULES")
    table.add_column("LABEL / HELP")
    for field in fields:
        help_text = field.label + (f": {field.help}" if field.help else "")
        default = "" if field.default is None else f"{field.default}{f' {field.unit}' if field.unit else ''}"
        table.add_row(field.name, field.type, default, rules(field), help_text)
    return table


def number(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:g}"


def rules(field: FieldInfo) -> str:
    parts = []
    if field.min is not None or field.max is not None:
        low = "" if field.min is None else number(field.min)
        high = "" if field.max is None else number(field.max)
        parts.append(f"{low}..{high}{f' {field.unit}' if field.unit else ''}")
    if field.choices:
        parts.append(", ".join(field.choices))
    if field.pattern:
        parts.append(f"matches {field.pattern}")
    if field.max_length:
        parts.append(f"≤ {field.max_length} chars")
    if not field.required:
        parts.append("optional")
    return "; ".join(parts)


def job_view(console: Console, job: JobDetails) -> None:
    console.print(Text.assemble((job.title, "bold"), f"  {job.job_id}"))
    rows = [("case", f"{job.case_id} v{job.case_version}"),
            ("status", Text.assemble(status_text(job.status), f" {percent(job.progress)}".rstrip())),
            ("detail", job.detail), ("error", Text(job.error or "", style="red")), ("owner", job.owner or ""),
            ("simulator", " ".join(filter(None, [job.simulator, job.scheduler_job_id and
                                                  f"(scheduler job {job.scheduler_job_id})"]))),
            ("placement", job.placement),
            ("cancel", f"requested by {job.cancel_requested.by} {ago(job.cancel_requested.at)}"
             if job.cancel_requested else ""),
            ("created", when(job.created)), ("updated", when(job.updated)),
            ("outputs", f"{job.outputs.count} files, {size(job.outputs.bytes)}" if job.outputs.count else "")]
    table = Table.grid(padding=(0, 2))
    for name, value in rows:
        if value:
            table.add_row(Text(name, style="dim"), value)
    console.print(table)
    if job.fields:
        console.print()
        console.print(values_table(job.fields))
    console.print()
    history = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("STATUS", "AT", "BY", "REASON"):
        history.add_column(column)
    for step in job.history:
        history.add_row(status_text(step.status), step.at.astimezone().strftime("%Y-%m-%d %H:%M:%S"), step.source,
                        step.reason)
    console.print(history)


def values_table(fields: dict[str, FieldValue]) -> Table:
    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column("FIELD", no_wrap=True)
    table.add_column("VALUE")
    for name, value in fields.items():
        table.add_row(name, "" if value is None else json.dumps(value, ensure_ascii=False))
    return table


def status_line(info: JobStatusInfo) -> Text:
    text = Text.assemble(f"{info.job_id}  ", status_text(info.status))
    if info.progress is not None:
        text.append(f" {percent(info.progress)}")
    if info.detail:
        text.append(f"  {info.detail}", style="dim")
    if info.cancel_requested and not info.status.terminal and "cancel" not in info.detail:
        text.append("  (cancel requested)", style="magenta")
    return text


def outputs_table(outputs: Sequence[OutputInfo]) -> Table:
    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column("OUTPUT", no_wrap=True)
    table.add_column("NAME")
    table.add_column("SIZE", justify="right", no_wrap=True)
    table.add_column("TYPE", no_wrap=True)
    for output in outputs:
        table.add_row(output.output_id, output.name, size(output.size), output.content_type)
    return table


def offers_view(console: Console, answer: JobOffers) -> None:
    """The offers at a glance, then what each one's estimates rest on (or why it cannot take the job)."""
    if answer.placement:
        console.print(Text.assemble(("placement  ", "dim"), answer.placement))
        console.print()
    console.print(offers_table(answer.offers))
    console.print()
    console.print(notes_grid((o.simulator, offer_notes(o)) for o in answer.offers))


def offers_table(offers: Sequence[OfferInfo]) -> Table:
    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column("SIMULATOR", no_wrap=True)
    table.add_column("SCHEDULER", no_wrap=True)
    table.add_column("SLOTS", justify="right", no_wrap=True)
    table.add_column("WAITING", justify="right", no_wrap=True)
    table.add_column("LICENCES")
    table.add_column("START", no_wrap=True)
    table.add_column("DURATION", no_wrap=True)
    for offer in offers:
        start = Text(until(offer.estimated_start)) if offer.available else Text("unavailable", style="red")
        duration = "unknown" if offer.estimated_duration_s is None else span(offer.estimated_duration_s)
        table.add_row(offer.simulator, offer.scheduler, slots(offer.running, offer.limits), str(offer.waiting),
                      licences(offer.limits, offer.licences_in_use), start, duration)
    return table


def offer_notes(offer: OfferInfo) -> Text:
    start = Text(f"start: {offer.start_basis}") if offer.available else refusal("unavailable", offer.reason)
    return Text("\n").join([start, Text(f"duration: {offer.basis}")])


def refusal(what: str, reason: str | None) -> Text:
    return Text(f"{what}: {reason}" if reason else what, style="red")


def simulators_view(console: Console, sites: Sequence[SiteInfo]) -> None:
    """Every site at a glance, why any cannot be reached, then each line of waiting jobs."""
    console.print(simulators_table(sites))
    unreachable = [(s.name, refusal("unreachable", s.reason)) for s in sites if not s.reachable]
    if unreachable:
        console.print()
        console.print(notes_grid(unreachable))
    for site in sites:
        if site.waiting:
            console.print()
            console.print(Text(f"{site.name}: {len(site.waiting)} waiting", style="bold"))
            console.print(waiting_grid(site.waiting))


def simulators_table(sites: Sequence[SiteInfo]) -> Table:
    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column("SIMULATOR", no_wrap=True)
    table.add_column("SCHEDULER", no_wrap=True)
    table.add_column("REACHABLE", no_wrap=True)
    table.add_column("SLOTS", justify="right", no_wrap=True)
    table.add_column("PER USER")
    table.add_column("LICENCES")
    table.add_column("WAITING", justify="right", no_wrap=True)
    for site in sites:
        reachable = Text("yes") if site.reachable else Text("no", style="red")
        table.add_row(site.name, site.scheduler, reachable, slots(site.running, site.limits),
                      per_user(site.per_user, site.limits.max_jobs_per_user),
                      licences(site.limits, site.licences_in_use), str(len(site.waiting)))
    return table


def waiting_grid(waiting: Sequence[WaitingInfo]) -> Table:
    """A waiting job a row: its place, id, owner and how long it has waited, and beneath them why."""
    owner_width = max(len(entry.owner) for entry in waiting)
    grid = Table.grid(padding=(0, 2))
    grid.add_column(justify="right", no_wrap=True)
    grid.add_column()
    for entry in waiting:
        grid.add_row(f"{entry.place}.", Text.assemble(f"{entry.job_id}  {entry.owner:<{owner_width}}  ",
                                                       (f"since {ago(entry.since)}", "dim"), "\n",
                                                       (entry.reason, "dim")))
    return grid


def notes_grid(notes: Iterable[tuple[str, Text]]) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True)
    grid.add_column()
    for name, text in notes:
        grid.add_row(name, text)
    return grid


def slots(running: int, limits: SiteLimitsInfo) -> str:
    return f"{running}/{limits.max_parallel_jobs}"


def licences(limits: SiteLimitsInfo, in_use: dict[str, int]) -> str:
    """"solver 1/2, mesher 0/4": in use of the site's total, by name."""
    return ", ".join(f"{name} {in_use.get(name, 0)}/{total}" for name, total in sorted(limits.licences.items()))


def per_user(counts: dict[str, int], limit: int | None) -> Text:
    """"alice 2/2, bob 1/2": each user's jobs on the site (of the most one may have)."""
    share = f"/{limit}" if limit else ""
    if counts:
        return Text(", ".join(f"{user} {count}{share}" for user, count in sorted(counts.items())))
    return Text(f"max {limit} each" if limit else "", style="dim")
