"""Is every dependency reachable? Probes run concurrently, each bounded in time."""

from __future__ import annotations

import concurrent.futures
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from shared.errors import SimgateError

log = logging.getLogger("simgate.health")


@dataclass(frozen=True)
class Probe:
    group: str  # "storage", "queue", "simulators"
    name: str
    check: Callable[[], None]  # raises when the dependency is not usable


@dataclass(frozen=True)
class ProbeResult:
    group: str
    name: str
    ok: bool
    latency_ms: int
    error: str | None = None  # the kind of failure; never an address or a path


@dataclass(frozen=True)
class HealthReport:
    checks: list[ProbeResult]

    @property
    def healthy(self) -> bool:
        return all(r.ok for r in self.checks)


class Health:
    """Whether each dependency the app needs is reachable, checked on demand.

    Health needs no sign-in, so a burst of callers must not become a burst of SSH logins: callers
    arriving while a check runs wait for that check, and a report stays the answer for `fresh` seconds.
    """

    def __init__(self, probes: list[Probe], timeout: float = 8.0, fresh: float = 2.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._probes = probes
        self._timeout = timeout
        self._fresh = fresh
        self._clock = clock
        self._lock = threading.Lock()
        self._last: tuple[float, HealthReport] | None = None

    def check(self) -> HealthReport:
        with self._lock:  # one check at a time; the others wait and take its report
            if self._last is not None and self._clock() - self._last[0] < self._fresh:
                return self._last[1]
            report = check_health(self._probes, self._timeout)
            self._last = (self._clock(), report)
            return report


def misconfigured(exc: SimgateError) -> HealthReport:
    """Health when the settings cannot be read: which settings are invalid (names only: an unsigned
    caller reads this; why is in the log)."""
    log.error("health: %s", exc.detail)
    names = [e["field"] for e in exc.errors if e.get("field")] or ["settings"]
    return HealthReport(checks=[ProbeResult(group="configuration", name=name, ok=False, latency_ms=0,
                                            error="invalid setting; the app's log says why") for name in names])


def check_health(probes: list[Probe], timeout: float = 8.0) -> HealthReport:
    if not probes:
        return HealthReport(checks=[])
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=min(8, len(probes)))
    futures = [(probe, pool.submit(_timed, probe)) for probe in probes]
    deadline = time.monotonic() + timeout
    results = []
    for probe, future in futures:
        try:
            results.append(future.result(timeout=max(0.0, deadline - time.monotonic())))
        except concurrent.futures.TimeoutError:
            results.append(ProbeResult(group=probe.group, name=probe.name, ok=False,
                                       latency_ms=int(timeout * 1000), error="timed out"))
    pool.shutdown(wait=False)  # a hung probe finishes on its own; the answer does not wait for it
    return HealthReport(checks=results)


def _timed(probe: Probe) -> ProbeResult:
    started = time.monotonic()
    error = None
    try:
        probe.check()
    except SimgateError as exc:
        # Callers see the kind of failure; the detail (addresses, paths) stays in the logs.
        error = exc.title
        log.warning("health: %s %s failed: %s", probe.group, probe.name, exc.detail)
    except Exception:
        error = "unexpected error"
        log.exception("health: %s %s failed", probe.group, probe.name)
    elapsed = int((time.monotonic() - started) * 1000)
    return ProbeResult(group=probe.group, name=probe.name, ok=error is None, latency_ms=elapsed, error=error)
