"""Timer triggers on their NCRONTAB schedules ("{second} {minute} {hour} {day} {month} {day-of-week}")."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timezone

from azure.functions.timer import TimerRequest
from croniter import croniter

log = logging.getLogger("devstack.timers")

PAST_DUE_SECONDS = 5.0


class TimerRunner:
    def __init__(self, invocable, schedule: str, *, run_on_startup: bool = False) -> None:
        if len(schedule.split()) != 6:
            raise ValueError(f"{invocable.name}: schedule {schedule!r} is not a six-field NCRONTAB expression")
        self.invocable = invocable
        self.schedule = schedule
        self.run_on_startup = run_on_startup
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"timer-{invocable.name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        if self.run_on_startup:
            self._fire(past_due=False)
        iterator = croniter(self.schedule, datetime.now(timezone.utc), second_at_beginning=True)
        while True:
            due = iterator.get_next(datetime)
            if self._stop.wait(max(0.0, (due - datetime.now(timezone.utc)).total_seconds())):
                return
            late = (datetime.now(timezone.utc) - due).total_seconds()
            self._fire(past_due=late > PAST_DUE_SECONDS)

    def _fire(self, *, past_due: bool) -> None:
        try:
            self.invocable(TimerRequest(past_due=past_due))
        except Exception:
            log.exception("timer function %s raised", self.invocable.name)
