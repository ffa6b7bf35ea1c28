"""`make demo LIVE=1` (python -m commands.demo --live): a run watched while it runs, its log line by line
with its status and progress, against a fake API."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest

from cli import settings
from cli.client import Seen
from commands import demo
from shared.api.models import JobStatusInfo, LogTail

JOB = "job-1"


def seen(status: str, progress: float | None = None, detail: str = "", etag: str = "") -> Seen:
    return Seen(JobStatusInfo(job_id=JOB, status=status, uws_status="X", updated_at=datetime.now(timezone.utc),
                              detail=detail, progress=progress, cancel_requested=False), etag or f'"{status}"')


def tail(offset: int, text: str, complete: bool = False) -> LogTail:
    return LogTail(stream="stdout", offset=offset, next_offset=offset + len(text.encode()), text=text,
                   complete=complete, truncated_before=0)


class LiveApi:
    """A job that is queued, then runs printing its steps; None is a 304 (nothing changed)."""

    def __init__(self, statuses: list[Seen | None], pieces: list[LogTail]) -> None:
        self.statuses = statuses
        self.pieces = pieces
        self.asked: list[tuple] = []

    def watch(self, job_id, known=None, wait=0):
        self.asked.append(("status", known and known.etag, wait))
        answer = self.statuses.pop(0)
        return known if answer is None else answer

    def log(self, job_id, stream="stdout", offset=0, wait=0):
        self.asked.append(("log", offset, wait))
        return self.pieces.pop(0)


def test_the_live_demo_shows_each_log_line_as_it_comes_and_each_change_of_status(capsys):
    api = LiveApi([seen("queued"), seen("running", 0.0, "starting"),
                   seen("running", 0.5, "step 1 of 2"), None, seen("done", 1.0, "finished")],
                  [tail(0, "copper rod\nstep 1/2"), tail(19, "\nstep 2/2\n"), tail(29, "", complete=True)])
    final = demo.Demo(api, None).watch_live(JOB, deadline=time.monotonic() + 60)
    assert final.status == "done"
    assert capsys.readouterr().out.splitlines() == [
        f"   {JOB}  queued",
        f"   {JOB}  running 0%  starting",
        "   │ copper rod",
        f"   {JOB}  running 50%  step 1 of 2",
        "   │ step 1/2",
        "   │ step 2/2",
        f"   {JOB}  done 100%  finished",
    ]
    assert api.asked == [("status", None, 0), ("status", '"queued"', 25),  # long polls until it runs
                         ("log", 0, 25), ("status", '"running"', 0),  # then the log, and the status after each piece
                         ("log", 19, 25), ("status", '"running"', 0), ("log", 29, 25), ("status", '"running"', 0)]


def test_the_live_demo_gives_up_on_a_job_that_never_runs():
    api = LiveApi([seen("queued")] * 3, [])
    with pytest.raises(demo.DemoFailed, match="is still queued"):
        demo.Demo(api, None).watch_live(JOB, deadline=time.monotonic() - 1)


def test_live_is_chosen_by_option_or_by_make_demo_live_1(monkeypatch):
    played = []
    monkeypatch.setattr(demo.Demo, "play", lambda self, case_id: played.append(("story", case_id)))
    monkeypatch.setattr(demo.Demo, "play_live", lambda self, case_id, seconds: played.append(("live", case_id,
                                                                                              seconds)))
    monkeypatch.setattr(demo, "resolve", lambda **options: settings.resolve(url=options["url"], auth="dev",
                                                                             environ={}))
    monkeypatch.delenv("LIVE", raising=False)
    assert demo.main(["--live", "--seconds", "10"]) == 0
    assert demo.main([]) == 0
    monkeypatch.setenv("LIVE", "1")
    assert demo.main([]) == 0
    assert played == [("live", "heat-rod", 10.0), ("story", "smoothie"), ("live", "heat-rod", 30.0)]
