"""Is every dependency reachable? Probes run concurrently, each bounded in time."""

from __future__ import annotations

import concurrent.futures
import logging
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
    """Whether each dependency the app needs is reachable, checked on demand."""

    def __init__(self, probes: list[Probe], timeout: float = 8.0) -> None:
        self._probes = probes
        self._timeout = timeout

    def check(self) -> HealthReport:
        return check_health(self._probes, self._timeout)


def check_health(probes: list[Probe], timeout: float = 8.0) -> HealthReport:
    if not probes:
        return HealthReport(checks=[])
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(8, len(probes))) as pool:
        futures = [(probe, pool.submit(_timed, probe)) for probe in probes]
        results = []
        for probe, future in futures:
            try:
                results.append(future.result(timeout=timeout))
            except concurrent.futures.TimeoutError:
                results.append(ProbeResult(group=probe.group, name=probe.name, ok=False,
                                           latency_ms=int(timeout * 1000), error="timed out"))
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
