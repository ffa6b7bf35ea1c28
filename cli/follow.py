"""Following a job until it finishes: the API's long poll, shown as one live status line (a progress bar
once the job reports progress, the job's detail beside it or, without room, beneath it) on a terminal,
or a line per change elsewhere."""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console, RenderableType
from rich.padding import Padding
from rich.progress import BarColumn, Progress, SpinnerColumn, Task, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Column, Table
from rich.text import Text

from cli.client import Api
from cli.errors import CannotConnect, Interrupted, JobEnded
from cli.render import STATUS_STYLES, status_line
from shared.api.models import JobStatus, JobStatusInfo

WAIT_SECONDS = 25  # the API's longest wait
BAR_WIDTH = 24  # at most: narrower where the line has no room
MARKS = {JobStatus.DONE: ("✔", "green"), JobStatus.FAILED: ("✘", "bold red"), JobStatus.CANCELLED: ("■", "magenta")}


def follow(api: Api, job_id: str, console: Console, any_end: bool = False) -> JobStatusInfo:
    """The job's last status once it is done (with ``any_end``: once it finished at all); JobEnded when
    it failed or was cancelled; Interrupted on Ctrl-C (the job goes on).

    Each long poll names the answer it has (If-None-Match): the API answers as soon as anything shown
    changes (status, progress, detail), so progress shows as it comes without polling more often."""
    try:
        seen = api.watch(job_id)
        with StatusLine(console, job_id) as line:
            line.show(seen.info)
            while not seen.info.status.terminal:
                seen = api.watch(job_id, seen, wait=WAIT_SECONDS)
                line.show(seen.info)
    except KeyboardInterrupt:
        raise Interrupted(f"stopped waiting; job {job_id} goes on", [resume(job_id)]) from None
    except CannotConnect as exc:
        raise CannotConnect(exc.message, [*exc.details, resume(job_id)]) from None
    return seen.info if any_end else finished(api, seen.info)


def finished(api: Api, info: JobStatusInfo) -> JobStatusInfo:
    if info.status == JobStatus.FAILED:
        error = api.job(info.job_id).error or info.detail
        raise JobEnded(f"job {info.job_id} failed: {error}" if error else f"job {info.job_id} failed", cancelled=False)
    if info.status == JobStatus.CANCELLED:
        reason = f": {info.detail}" if info.detail else ""
        raise JobEnded(f"job {info.job_id} was cancelled{reason}", cancelled=True)
    return info


def resume(job_id: str) -> str:
    return f"follow it again with: simgate status {job_id} --wait"


class StatusLine:
    """A live line on a terminal; otherwise one plain line for each change of what it shows (status,
    progress to the percent, detail)."""

    def __init__(self, console: Console, job_id: str, prefix: str = "") -> None:
        self.console = console
        self.live = console.is_terminal
        self.prefix = prefix
        self.last: str | None = None
        # the prefix as a column of its own, less the space that separates columns
        lead = [TextColumn(prefix[:-1], markup=False)] if prefix else []
        self.progress = _LiveLine(*lead, _Mark(), TextColumn("{task.description}"),
                                  BarColumn(bar_width=None, table_column=Column(max_width=BAR_WIDTH)),
                                  TaskProgressColumn(), TimeElapsedColumn(), console=console, transient=False)
        self.task = self.progress.add_task(job_id, total=None, detail="", mark=None)

    def __enter__(self) -> StatusLine:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress.live.is_started:
            self.progress.stop()

    def show(self, info: JobStatusInfo) -> None:
        if self.live:
            total = 1.0 if info.progress is not None or info.status == JobStatus.DONE else None
            completed = 1.0 if info.status == JobStatus.DONE else (info.progress or 0.0)
            self.progress.update(self.task,
                                 description=f"{info.job_id} [{STATUS_STYLES[info.status]}]{info.status.value}[/]",
                                 total=total, completed=completed, detail=info.detail, mark=MARKS.get(info.status),
                                 refresh=True)
            if not self.progress.live.is_started:  # drawn first with something to show
                self.progress.start()
            return
        line = status_line(info)
        if line.plain != self.last:
            self.console.print(Text(self.prefix) + line)
            self.last = line.plain


class _LiveLine(Progress):
    """The status line with the job's detail beside it, or beneath it where the line leaves it no room:
    a waiting job's detail (what it waits for, its place in line) is never cut short."""

    def get_renderables(self) -> Iterable[RenderableType]:
        line = self.make_tasks_table(self.tasks)
        detail = Text(self.tasks[0].fields["detail"] if self.tasks else "", style="dim")
        if not detail:
            yield line
        elif self.console.measure(line).maximum + 1 + detail.cell_len <= self.console.width:
            beside = Table.grid(padding=(0, 1))
            beside.add_row(line, detail)
            yield beside
        else:
            yield line
            yield Padding(detail, (0, 0, 0, 2))


class _Mark(SpinnerColumn):
    """A spinner while the job goes on; its outcome's mark once it finished."""

    def render(self, task: Task) -> Text:
        mark = task.fields.get("mark")
        # (a job at 100% may still be cleaning up: it spins on)
        return Text(mark[0], style=mark[1]) if mark else self.spinner.render(task.get_time())
