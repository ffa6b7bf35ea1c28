"""A job's log, as the API keeps it live: what is stored now, page by page, or followed as it grows until
the job has finished. The text is written exactly as it arrives; notes go to stderr."""

from __future__ import annotations

from typing import TextIO

from cli.client import Api
from cli.errors import CannotConnect, Interrupted
from cli.follow import WAIT_SECONDS, finished
from cli.render import note, size
from shared.api.models import JobStatusInfo, LogTail


def print_log(api: Api, job_id: str, stream: str, out: TextIO, follow: bool = False) -> JobStatusInfo | None:
    """Write the log to ``out`` from its start (or from where storage still keeps it): without ``follow``
    until it is caught up with what is stored now; with ``follow`` until the job has finished and nothing
    more will come, then the job's last status (JobEnded when it failed or was cancelled, as for
    ``status --wait``)."""
    offset, ended_line = 0, True
    try:
        while True:
            tail = api.log(job_id, stream, offset, wait=WAIT_SECONDS if follow else 0)
            if tail.offset > offset:
                note(skipped(job_id, offset, tail))
            if tail.text:
                out.write(tail.text)
                out.flush()
                ended_line = tail.text.endswith("\n")
            offset = tail.next_offset
            if tail.complete or (not follow and tail.next_offset == tail.offset):
                break
        if not follow:
            return None
        if not ended_line and _terminal(out):
            note("")  # what comes on stderr starts on a line of its own
        info = finished(api, api.status(job_id))
    except KeyboardInterrupt:
        if not follow:
            raise
        raise Interrupted(f"stopped following the log; job {job_id} goes on", [resume(job_id, stream)]) from None
    except CannotConnect as exc:
        raise CannotConnect(exc.message, [*exc.details, *([resume(job_id, stream)] if follow else [])]) from None
    note(f"job {job_id} is {info.status.value}")
    return info


def skipped(job_id: str, asked: int, tail: LogTail) -> str:
    """The note for a stretch of the log storage no longer keeps (its last 8 MiB only, while and after the run)."""
    output = f"logs/{tail.stream}.log"
    whole = (f"once the job is done, the whole log is its output {output}: "
             f"simgate download {job_id} {output} -o -")
    if asked == 0:
        return f"(the first {size(tail.offset)} of the {tail.stream} log are no longer kept live; {whole})"
    return f"({size(tail.offset - asked)} of the {tail.stream} log skipped: no longer kept live; {whole})"


def resume(job_id: str, stream: str) -> str:
    option = "" if stream == "stdout" else f" --stream {stream}"
    return f"follow it again with: simgate logs {job_id}{option} -f"


def _terminal(out: TextIO) -> bool:
    try:
        return out.isatty()
    except ValueError:  # closed
        return False
