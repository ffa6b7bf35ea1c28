"""Run functions at the same moment, for tests of concurrent writers."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any


def run_together(target: Callable[[Any], None], arguments: Iterable[Any], timeout: float = 60) -> list[Exception]:
    """Start ``target(argument)`` for every argument at once (behind a barrier); the errors raised."""
    arguments = list(arguments)
    barrier = threading.Barrier(len(arguments))
    errors: list[Exception] = []

    def run(argument):
        barrier.wait()
        try:
            target(argument)
        except Exception as exc:  # noqa: BLE001 - returned to the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(a,)) for a in arguments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return errors
