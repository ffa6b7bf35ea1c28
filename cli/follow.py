"""Following a job until it finishes: the API's long poll, shown as one live status line (a progress bar
once the job reports progress) on a terminal, or a line per change elsewhere."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, Task, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.text import Text

from cli.client import Api
from cli.errors import CannotConnect, Interrupted, JobEnded
from cli.render import STATUS_STYLES, percent, status_line
from shared.api.models import JobStatus, JobStatusInfo

WAIT_SECONDS = 25  # the API's longest wait
# While a job runs, its progress changes without its status changing: look more often then.
WAIT_WHILE_RUNNING = 3
MARKS = {JobStatus.DONE: ("✔", "green"), JobStatus.FAILED: ("✘", "bold red"), JobStatus.CANCELLED: ("■", "magenta")}


def follow(api: Api, job_id: str, console: Console, current: JobStatusInfo | None = None,
           any_end: bool = False) -> JobStatusInfo:
    """The job's last status once it is done (with ``any_end``: once it finished at all); JobEnded when
    it failed or was cancelled; Interrupted on Ctrl-C (the job goes on)."""
    try:
        info = current or api.status(job_id)
        with _Line(console, job_id) as line:
            line.show(info)
            while not info.status.terminal:
                running = info.status in (JobStatus.RUNNING, JobStatus.CLEANUP)
                info = api.status(job_id, wait=WAIT_WHILE_RUNNING if running else WAIT_SECONDS, since=info.status)
                line.show(info)
    except KeyboardInterrupt:
        raise Interrupted(f"stopped waiting; job {job_id} goes on", [resume(job_id)]) from None
    except CannotConnect as exc:
        raise CannotConnect(exc.message, [*exc.details, resume(job_id)]) from None
    return info if any_end else finished(api, info)


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


class _Line:
    """A live line on a terminal; otherwise one plain line for each change of status."""

    def __init__(self, console: Console, job_id: str) -> None:
        self.console = console
        self.live = console.is_terminal
        self.last: tuple[JobStatus, str] | None = None
        self.progress = Progress(_Mark(), TextColumn("{task.description}"),
                                 BarColumn(bar_width=24), TaskProgressColumn(), TimeElapsedColumn(),
                                 TextColumn("{task.fields[detail]}", style="dim", markup=False), console=console, transient=False)
        self.task = self.progress.add_task(job_id, total=None, detail="", mark=None)

    def __enter__(self) -> _Line:
        if self.live:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live:
            self.progress.stop()

    def show(self, info: JobStatusInfo) -> None:
        if self.live:
            total = 1.0 if info.progress is not None or info.status == JobStatus.DONE else None
            completed = 1.0 if info.status == JobStatus.DONE else (info.progress or 0.0)
            self.progress.update(self.task, description=f"{info.job_id} [{STATUS_STYLES[info.status]}]{info.status.value}[/]",
                                 total=total, completed=completed, detail=info.detail, mark=MARKS.get(info.status))
            return
        key = (info.status, f"{info.detail} {percent(info.progress)}")
        if key != self.last:
            self.console.print(status_line(info))
            self.last = key


class _Mark(SpinnerColumn):
    """A spinner while the job goes on; its outcome's mark once it finished."""

    def render(self, task: Task) -> Text:
        mark = task.fields.get("mark")
        return Text(mark[0], style=mark[1]) if mark else super().render(task)
