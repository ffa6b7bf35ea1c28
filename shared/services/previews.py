"""Previews: what a run or a sweep would be, checked and rendered, with a quote from each site.
Nothing is written: the scripts come from the same pure rendering a start uses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.auth import Principal
from shared.domain import sweeps as plans
from shared.domain.cases import PublishedCase
from shared.domain.jobs import Job
from shared.domain.sites import at_once, estimated_finish
from shared.domain.sweeps import Problem, Sweep, SweepPlan, new_sweep_id, render_member
from shared.errors import SimgateError, ValidationFailed
from shared.services.jobs import Jobs
from shared.services.ports import CaseRepository, Clock
from shared.services.sites import Offer, Sites

PREVIEW_JOB_ID = "<job id>"  # what a preview's scripts show for a job that does not exist yet


@dataclass(frozen=True)
class MemberPreview:
    index: int
    title: str
    values: dict[str, Any]
    problems: list[Problem]


@dataclass(frozen=True)
class RenderedRun:
    index: int
    job_id: str | None
    title: str
    values: dict[str, Any]
    scripts: dict[str, str]


@dataclass(frozen=True)
class Quote:
    offer: Offer
    runs: int
    finish: datetime | None
    finish_basis: str


@dataclass(frozen=True)
class Preview:
    case: PublishedCase
    runs: int
    problems: list[Problem]
    members: list[MemberPreview]
    rendered: list[RenderedRun]
    placement: str | None
    quotes: list[Quote]


class Previews:
    """What a run or a sweep would be, checked and rendered, with a quote from each site. Writes nothing."""

    def __init__(self, cases: CaseRepository, jobs: Jobs, sites: Sites, clock: Clock, *, max_members: int) -> None:
        self._cases = cases
        self._jobs = jobs
        self._sites = sites
        self._clock = clock
        self._max_members = max_members

    def plan(self, caller: Principal, case_id: str, title: str, plan: SweepPlan) -> Preview:
        case = self._cases.get(case_id)
        if not plan.vary and plan.rows is None and plan.table is None:
            plan = SweepPlan(base=plan.base, rows=[{}])  # no vary: one run of the base values
        checked = plans.check_plan(case.definition.fields, plan, self._max_members)
        now = self._clock.now()
        sketch = Sweep(sweep_id=new_sweep_id(caller.user_id, now), owner=caller.user_id, title=title,
                       case_id=case.id, case_version=case.version, mode=plan.mode,
                       base=checked.plan.base if checked.plan else {}, total=checked.size, created=now)
        members = [MemberPreview(m.index, sketch.member_title(m.values), m.values, m.problems) for m in checked.members]
        problems = list(checked.problems)
        rendered: list[RenderedRun] = []
        first = checked.plan.members()[0] if checked.plan is not None else {}
        sample = sketch.member(case.definition.fields, 0, first, now).model_copy(update={"job_id": PREVIEW_JOB_ID})
        if checked.plan is not None:
            try:
                rendered.append(RenderedRun(0, None, sample.title, first, render_member(case, sample)))
            except ValidationFailed as exc:
                problems += [Problem(e.get("field", "fields"), e["message"], e.get("rule")) for e in exc.errors]
        return self._quoted(case, checked.size, problems, members, rendered, sample)

    def job(self, caller: Principal, job_id: str) -> Preview:
        """The job's own scripts, exactly as its start writes them, and the quotes for it."""
        job = self._jobs.get(caller, job_id).item
        case = self._cases.get(job.case_id, job.case_version)
        problems: list[Problem] = []
        rendered = []
        try:
            rendered.append(RenderedRun(0, job.job_id, job.title, dict(job.fields), render_member(case, job)))
        except ValidationFailed as exc:
            problems += [Problem(e.get("field", "fields"), e["message"], e.get("rule")) for e in exc.errors]
        members = [MemberPreview(0, job.title, dict(job.fields), problems)]
        return self._quoted(case, 1, problems, members, rendered, job)

    def _quoted(self, case: PublishedCase, runs: int, problems: list[Problem], members: list[MemberPreview],
                rendered: list[RenderedRun], job: Job) -> Preview:
        quotes: list[Quote] = []
        licences = dict(case.definition.licences)
        for offer in self._sites.offers(job, case):
            together = at_once(offer.limits, licences)
            finish = estimated_finish(offer.estimated_start, offer.estimated_duration_s, runs, together)
            basis = (f"{runs} run{'s' if runs != 1 else ''}, at most {together} at once, each as long as the "
                     f"{offer.basis}" if finish else "no estimate: " + (
                         offer.basis if offer.estimated_duration_s is None else offer.start_basis))
            quotes.append(Quote(offer, runs, finish, basis))
        return Preview(case, runs, problems, members, rendered, self._placement(job, case), quotes)

    def _placement(self, job: Job, case: PublishedCase) -> str:
        if job.simulator:
            return job.placement or job.simulator
        try:
            return self._sites.choose(job, case)[1]
        except SimgateError as exc:
            return f"no site can take it now: {exc.detail}"
