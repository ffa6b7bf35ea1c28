"""Comparisons: jobs of one case side by side, from what each job holds (never its files)."""

from __future__ import annotations

from collections.abc import Sequence

from shared.auth import Principal
from shared.domain.compare import Comparison, compare
from shared.domain.jobs import Job
from shared.errors import BadRequest, Conflict, NotFound
from shared.services.jobs import Jobs
from shared.services.ports import CaseRepository
from shared.services.sweeps import Sweeps

MIN_COMPARED, MAX_COMPARED = 2, 50


class Comparisons:
    def __init__(self, cases: CaseRepository, jobs: Jobs, sweeps: Sweeps) -> None:
        self._cases = cases
        self._jobs = jobs
        self._sweeps = sweeps

    def jobs(self, caller: Principal, job_ids: Sequence[str]) -> Comparison:
        """2 to 50 of the caller's jobs of one case, side by side (another user's job is NotFound)."""
        unique = list(dict.fromkeys(job_ids))
        if not MIN_COMPARED <= len(unique) <= MAX_COMPARED:
            raise BadRequest(f"compare {MIN_COMPARED} to {MAX_COMPARED} different jobs, not {len(unique)}", errors=[
                {"field": "job", "message": f"give {MIN_COMPARED} to {MAX_COMPARED} job ids: job=A&job=B"}])
        return self._compare(self._jobs.get_many(caller, unique))

    def sweep(self, caller: Principal, sweep_id: str) -> Comparison:
        """The current members of a sweep, side by side."""
        members = self._sweeps.view(caller, sweep_id).members
        if not members:
            raise Conflict(f"sweep {sweep_id} has no members yet")
        return self._compare([m.job for m in members])

    def _compare(self, jobs: list[Job]) -> Comparison:
        if len({job.case_id for job in jobs}) > 1:
            return compare(jobs, [])  # refused there, naming the cases
        versions = sorted({(job.case_id, job.case_version) for job in jobs})
        cases = []
        for case_id, version in versions:
            try:
                cases.append(self._cases.get(case_id, version))
            except NotFound:  # a version gone: its fields are named, not labelled
                continue
        return compare(jobs, cases)
