"""Changing a job: read it, apply a change, write it back with the ETag that was read.

Every writer (the API, the agent's reports, the manager, the reconciler) goes through ``JobChanges``,
so two of them changing one job at the same moment never lose an update: the write that finds the
job changed re-reads it and applies its change again to what is stored now.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from shared.domain.jobs import Job
from shared.errors import StaleWrite, TransientError
from shared.services.ports import Clock, JobRepository, Stored

UPDATE_ATTEMPTS = 10

Change = Callable[[Job], Job]
Reader = Callable[[], "Stored[Job] | None"]


class JobChanges:
    def __init__(self, jobs: JobRepository, clock: Clock, attempts: int = UPDATE_ATTEMPTS) -> None:
        self._jobs = jobs
        self._clock = clock
        self._attempts = attempts

    def apply(self, job_id: str, change: Change, read: Reader | None = None,
              known: Stored[Job] | None = None) -> Stored[Job] | None:
        """Read the job (with ``read``, by default a plain read), apply ``change`` and write it with
        its ETag; on a concurrent change, again with what is stored now. ``change`` returns the same
        object for "nothing to do"; its errors leave the job as it was. None when there is no job.
        ``known``: the job as the caller last wrote it, tried first instead of a read."""
        read = read or (lambda: self._jobs.find(job_id))
        for _ in range(self._attempts):
            stored, known = (known, None) if known is not None else (read(), None)
            if stored is None:
                return None
            changed = change(stored.item)
            if changed is stored.item:
                return stored
            try:
                return self._jobs.update(changed, stored.etag)
            except StaleWrite:
                self._clock.sleep(random.uniform(0.005, 0.05))  # spread the writers that collided
        raise TransientError(f"job {job_id} is changing too often right now; try again")
