"""The governor of every site: grants before a start, releases when a job leaves, the line of waiting
jobs, offers before a run, and the reconciler's recount.

Grants are leases in the site's ledger, written with ETag conditions (shared/domain/sites.py decides
who may have one), so no two instances can grant past a limit. Failure cases:

- an instance dies after granting and before the SSH start: the job is submitted and holds its grant;
  the reconciler finds it stale and sends its start again (the start is idempotent);
- an instance dies after a job ended and before releasing its grant: the next reconciler cycle finds
  the grant's job finished and drops it; the grant outlives the job by a cycle (two if that cycle
  read the job just before it ended);
- a release's wake-up is lost: the reconciler sends the start of every job that now fits (backstop);
- a job's line entry is written and its own write fails: the entry names a draft; the recount
  removes it.

A start that finds no room leaves the job submitted with a detail saying why it waits; a release
sends the start of the jobs that now fit, oldest first, and nothing spins meanwhile.
"""

from __future__ import annotations

import json
import logging
import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared.auth import Principal
from shared.config import SimulatorSpec, simulator_named
from shared.domain.cases import PublishedCase
from shared.domain.jobs import Job, JobStatus
from shared.domain.messages import JobMessage
from shared.domain.sites import (
    UNPLACED,
    DurationHistory,
    Grant,
    Ledger,
    LineEntry,
    SiteLimits,
    Wait,
    admissible,
    admission,
    estimated_start,
    missing_licences,
    ordered,
    run_seconds,
    waits,
)
from shared.errors import (
    ConfigurationError,
    Forbidden,
    SimgateError,
    SimulatorError,
    StaleWrite,
    TransientError,
    ValidationFailed,
)
from shared.logs import job_log
from shared.services.changes import JobChanges
from shared.services.followers import Bounded
from shared.services.ports import Clock, JobQueue, JobRepository, SimulatorGateway, SiteStore, Stored, Survey

log = logging.getLogger("simgate.sites")

LEDGER_ATTEMPTS = 30
ORPHAN_GRACE = timedelta(minutes=2)  # a line entry whose job never left draft is removed after this
WAKE_QUIET_SECONDS = 10.0  # a job woken by this instance is not woken again by it sooner than this


@dataclass(frozen=True)
class Offer:
    """One site for one job: whether it can run it, how busy it is, and when it would start it."""

    simulator: str
    scheduler: str
    available: bool
    reason: str | None
    running: int
    waiting: int
    limits: SiteLimits
    licences_in_use: dict[str, int]
    estimated_start: datetime | None
    start_basis: str
    estimated_duration_s: float | None
    basis: str


@dataclass(frozen=True)
class WaitingJob:
    job_id: str
    owner: str
    since: datetime
    place: int
    reason: str


@dataclass(frozen=True)
class SiteView:
    """A site as the admin view shows it."""

    spec: SimulatorSpec
    reachable: bool
    reason: str | None
    running: int
    licences_in_use: dict[str, int]
    per_user: dict[str, int]
    waiting: list[WaitingJob]


@dataclass
class Recount:
    """What one reconciler recount did, for the log."""

    released: int = 0
    removed: int = 0
    woken: int = 0
    noted: int = 0
    unread: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = f"grants released {self.released}, line entries removed {self.removed}, starts sent {self.woken}"
        return text + (f"; sites not recounted: {', '.join(self.unread)}" if self.unread else "")


class GrantsBusy(TransientError):
    """A site's ledger changed under every attempt to write it: the job stays in line."""


class Sites:
    def __init__(self, store: SiteStore, jobs: JobRepository, changes: JobChanges, queue: JobQueue,
                 simulators: SimulatorGateway, specs: Sequence[SimulatorSpec], clock: Clock,
                 survey_fresh_seconds: float = 10.0) -> None:
        self._store = store
        self._jobs = jobs
        self._changes = changes
        self._queue = queue
        self._simulators = simulators
        self._specs = specs
        self._clock = clock
        self._survey_fresh = survey_fresh_seconds
        self._surveys: Bounded[str, tuple[float, Survey | SimulatorError]] = Bounded(256)
        self._woken: Bounded[str, float] = Bounded()  # job -> when this instance last sent its start
        self._lock = threading.Lock()

    # --- the line and the grants ---

    def enlist(self, job: Job, case: PublishedCase, site: str | None = None) -> None:
        """Put a job that is asked to run in its site's line (the unplaced line without a site)."""
        self._store.enter(self._entry(job, site or UNPLACED, case))

    def place(self, job: Job, case: PublishedCase) -> None:
        """The manager chose the job's site: move it from the unplaced line to that site's."""
        self._store.enter(self._entry(job, job.simulator, case))
        self._store.leave(UNPLACED, job.job_id)

    def acquire(self, spec: SimulatorSpec, job: Job, case: PublishedCase) -> Wait | None:
        """Take the job's grant on ``spec`` (None, also when it holds it already) or say why it waits."""
        entry = self._entry(job, spec.name, case)
        missing = missing_licences(spec.limits, entry.licences)
        if missing:  # it would wait for ever: the site's limits changed since the case was published
            raise ConfigurationError(f"simulator {spec.name} cannot run case {case.id}: it {missing}")

        def decide(ledger: Ledger) -> Grant | Wait:
            line = self._store.line(spec.name)
            if all(e.job_id != job.job_id for e in line):
                self._store.enter(entry)
            return admission(spec.limits, ledger, line, entry) or Grant(
                job_id=job.job_id, owner=job.owner, licences=entry.licences, since=self._clock.now())

        wait = self._grant(spec.name, job.job_id, decide)
        if wait is None:
            job_log(log, job.job_id, spec.name).info("holds a slot on %s%s", spec.name, _licences(entry.licences))
        else:
            with self._lock:
                self._woken.pop(job.job_id)  # it found no room: the next release may wake it again
        return wait

    def adopt(self, job: Job, case: PublishedCase) -> bool:
        """Put an active job that has no line entry (it started before sites had lines) in its line, with
        the grant it holds if it is already on its site, whatever the limits say: it is there. Whether it
        was taken in."""
        if not job.status.active:
            return False
        self.enlist(job, case, job.simulator)
        if job.simulator is not None and job.status != JobStatus.SUBMITTED:
            grant = Grant(job_id=job.job_id, owner=job.owner, licences=dict(case.definition.licences),
                          since=job.updated)
            self._grant(job.simulator, job.job_id, lambda ledger: grant)
        return True

    def _grant(self, site: str, job_id: str, decide: Callable[[Ledger], Grant | Wait]) -> Wait | None:
        """Write the grant ``decide`` gives from the site's ledger as it is now, with its ETag (None, also
        when the job holds one already), or return the Wait it gives; a concurrent change decides again."""
        for _ in range(LEDGER_ATTEMPTS):
            stored = self._store.ledger(site)
            ledger = stored.item if stored else Ledger()
            if ledger.holds(job_id):
                return None
            decision = decide(ledger)
            if isinstance(decision, Wait):
                return decision
            try:
                self._store.save_ledger(site, ledger.granting(decision), stored.etag if stored else None)
                return None
            except StaleWrite:  # another instance granted or released meanwhile: spread the writers out
                self._clock.sleep(random.uniform(0.005, 0.05))
        raise GrantsBusy(f"the grants of {site} are changing too fast right now")

    def release(self, job: Job) -> None:
        """The job left its site (it ended): drop its grant if it holds one, take it out of the line,
        and send the start of the jobs that now fit. Never raises: the reconciler's recount is the
        backstop of a release that could not be written."""
        site = job.simulator
        try:
            if site is None:
                self._store.leave(UNPLACED, job.job_id)
                return
            # Out of the line first: an ended job still in it would be promised the room it frees.
            self._store.leave(site, job.job_id)
            if self._drop(site, {job.job_id}):
                job_log(log, job.job_id, site).info("grant on %s released (%s)", site, job.status.value)
            self._wake(site, nudge=f"after-{job.job_id[-8:]}")  # also when it only held a promise
            if job.status == JobStatus.DONE:
                self._remember_duration(site, job)
        except SimgateError as exc:
            job_log(log, job.job_id, site).warning("release on %s not done now (the reconciler does it): %s",
                                                   site, exc.detail)

    def recount(self, known: dict[str, Job | None], at: str, entries: list[LineEntry] | None = None) -> Recount:
        """The reconciler's recount: from the jobs' own states, drop the grants of jobs that left their
        site, remove their line entries, send the start of every waiting job that fits, and refresh the
        reason each waiting job shows. ``known``: jobs already read this cycle; ``entries``: the lines as
        the cycle read them (read here if not)."""
        recount = Recount()
        entries = self._store.line() if entries is None else entries
        by_site: dict[str, list[LineEntry]] = {}
        for entry in entries:
            by_site.setdefault(entry.site, []).append(entry)
        now = self._clock.now()
        sites = [spec.name for spec in self._specs] + [s for s in by_site if s != UNPLACED and not self._spec(s)]
        for site in [UNPLACED, *dict.fromkeys(sites)]:
            try:
                self._recount_site(site, by_site.get(site, []), known, now, at, recount)
            except SimgateError as exc:
                log.warning("site %s not recounted this cycle: %s", site, exc.detail, extra={"simulator": site})
                recount.unread.append(site)
        return recount

    def lines(self) -> list[LineEntry]:
        """Every site's line (and the unplaced): every job active on a site or waiting to be placed."""
        return self._store.line()

    def granted(self, site: str) -> set[str]:
        """The jobs holding a grant on the site."""
        return set(self._ledger(site).grants)

    # --- offers and the admin's view ---

    def candidates(self, case: PublishedCase) -> list[SimulatorSpec]:
        return [spec for spec in self._specs if case.may_run_on(spec.name)]

    def check_choice(self, case: PublishedCase, name: str) -> SimulatorSpec:
        """The site a user chose for a run of ``case``; ValidationFailed naming the field when it cannot be."""
        spec = self._spec(name)
        problem = None
        if spec is None:
            known = ", ".join(s.name for s in self._specs) or "none"
            problem = f"there is no simulator '{name[:40]}' (configured: {known})"
        elif not case.may_run_on(name):
            problem = f"case {case.id} does not run on {name} (it runs on: {', '.join(case.definition.simulators)})"
        elif missing := missing_licences(spec.limits, dict(case.definition.licences)):
            problem = f"{name} cannot run case {case.id}: it {missing}"
        if problem:
            raise ValidationFailed(problem, errors=[{"field": "simulator", "message": problem}])
        return spec

    def offers(self, job: Job, case: PublishedCase) -> list[Offer]:
        """Every site the job's case may use, as it would take the job now."""
        return [self._offer(spec, job, case) for spec in self.candidates(case)]

    def choose(self, job: Job, case: PublishedCase) -> tuple[SimulatorSpec, str]:
        """The site that would start the job soonest (among equals, the one with the shorter line, then
        the first in SIMULATORS), and why; the only one without asking."""
        candidates = self.candidates(case)
        if not candidates:
            allowed = ", ".join(case.definition.simulators) or "any"
            raise ConfigurationError(f"no configured simulator may run case {case.id} (it runs on: {allowed})")
        if len(candidates) == 1:
            return candidates[0], f"{candidates[0].name}: the only simulator case {case.id} may run on"
        offers = self.offers(job, case)
        available = [o for o in offers if o.available]
        if not available:
            resources = case.definition.resources.model_dump()
            surveys = [self._survey(spec, resources) for spec in candidates]  # remembered: no second call
            error = next((s for s in surveys if isinstance(s, SimulatorError) and s.retryable), None)
            if error is not None:
                raise error
            reasons = "; ".join(f"{o.simulator}: {o.reason}" for o in offers)
            raise ConfigurationError(f"no simulator can run case {case.id}: {reasons}")
        far = datetime.max.replace(tzinfo=self._clock.now().tzinfo)
        order = {spec.name: index for index, spec in enumerate(self._specs)}  # the operator's preference
        best = min(available, key=lambda o: (o.estimated_start or far, o.waiting, order[o.simulator]))
        when = _when(best.estimated_start, self._clock.now())
        return simulator_named(self._specs, best.simulator), (
            f"{best.simulator}: the soonest of {len(available)} available offers (estimated start {when})")

    def overview(self, caller: Principal) -> list[SiteView]:
        """Every site with its limits, what is in use, who waits, and whether it answers (admins only)."""
        if not caller.is_admin:
            raise Forbidden("the sites' view needs the admin role")
        views = []
        for spec in self._specs:
            ledger, line = self._ledger(spec.name), self._store.line(spec.name)
            usage = ledger.usage()
            found = waits(spec.limits, ledger, line)
            waiting = [WaitingJob(job_id=e.job_id, owner=e.owner, since=e.since, place=found[e.job_id].place,
                                  reason=found[e.job_id].describe()) for e in ordered(line) if e.job_id in found]
            survey = self._survey(spec, {})
            views.append(SiteView(spec=spec, reachable=not isinstance(survey, SimulatorError),
                                  reason=survey.shown if isinstance(survey, SimulatorError) else None,
                                  running=usage.slots, licences_in_use=dict(usage.licences),
                                  per_user=dict(usage.per_user), waiting=waiting))
        return views

    # --- steps ---

    def _offer(self, spec: SimulatorSpec, job: Job, case: PublishedCase) -> Offer:
        ledger, line = self._ledger(spec.name), self._store.line(spec.name)
        entry = self._entry(job, spec.name, case)
        history = self._store.history(spec.name, case.id, case.version)
        durations = history.item if history else DurationHistory()
        usage = ledger.usage()
        waiting = sum(1 for e in line if not ledger.holds(e.job_id) and e.job_id != job.job_id)
        reason, start, start_basis = None, None, "no estimate"
        missing = missing_licences(spec.limits, entry.licences)
        if missing:
            reason = missing
        else:
            survey = self._survey(spec, case.definition.resources.model_dump())
            if isinstance(survey, SimulatorError):
                reason = survey.shown
            else:
                now = self._clock.now()
                start = estimated_start(spec.limits, ledger, line, entry, now, durations.median)
                start_basis = ("room now" if start == now else
                               f"simgate's line ({waiting} waiting)" if start else "no history to estimate from")
                if survey.estimated_start is not None and start is not None:
                    start = max(start, survey.estimated_start)
                    start_basis = "Slurm's own estimate (sbatch --test-only), an estimate"
        return Offer(simulator=spec.name, scheduler=spec.scheduler, available=reason is None, reason=reason,
                     running=usage.slots, waiting=waiting, limits=spec.limits, licences_in_use=dict(usage.licences),
                     estimated_start=start, start_basis=start_basis, estimated_duration_s=durations.median,
                     basis=durations.basis(case.version, spec.name))

    def _survey(self, spec: SimulatorSpec, resources: dict) -> Survey | SimulatorError:
        """The site's survey, from this instance's memory while it is fresh (offers are asked often)."""
        key = f"{spec.name}:{json.dumps(resources, sort_keys=True)}"
        with self._lock:
            known = self._surveys.get(key)
        if known is not None and self._clock.monotonic() - known[0] < self._survey_fresh:
            return known[1]
        try:
            answer: Survey | SimulatorError = self._simulators.survey(spec, resources)
        except SimulatorError as exc:
            answer = exc
        with self._lock:
            self._surveys[key] = (self._clock.monotonic(), answer)
        return answer

    def _drop(self, site: str, job_ids: set[str]) -> int:
        """Remove these jobs' grants from the site's ledger; how many it held."""
        for _ in range(LEDGER_ATTEMPTS):
            stored = self._store.ledger(site)
            held = [j for j in job_ids if stored is not None and stored.item.holds(j)]
            if not held:
                return 0
            try:
                self._store.save_ledger(site, stored.item.without(held), stored.etag)
                return len(held)
            except StaleWrite:
                self._clock.sleep(random.uniform(0.005, 0.05))
        raise GrantsBusy(f"the grants of {site} are changing too fast right now")

    def _wake(self, site: str, nudge: str) -> int:
        """Send the start of every waiting job that fits now, oldest first, but not to one this instance
        woke lately; how many were sent."""
        spec = self._spec(site)
        if spec is None:
            return 0
        return self._send_starts(site, admissible(spec.limits, self._ledger(site), self._store.line(site)), nudge)

    def _send_starts(self, site: str, entries: list[LineEntry], nudge: str, quiet: bool = True) -> int:
        """Send the start of each of these waiting jobs still submitted on the site; how many were sent.
        ``quiet``: not to a job this instance woke lately (the recount, the backstop, sends to every one)."""
        sent = 0
        for entry in entries:
            if quiet and self._woken_lately(entry.job_id):
                continue  # its start is on its way: releases close together would send it again
            found = self._jobs.find(entry.job_id)
            job = found.item if found else None
            if job is None or job.status != JobStatus.SUBMITTED or job.cancel_requested or job.simulator != site:
                continue
            self._queue.send(JobMessage.start(job, nudge=nudge))
            with self._lock:
                self._woken[entry.job_id] = self._clock.monotonic()
            sent += 1
        return sent

    def _woken_lately(self, job_id: str) -> bool:
        with self._lock:
            at = self._woken.get(job_id)
        return at is not None and self._clock.monotonic() - at < WAKE_QUIET_SECONDS

    def _recount_site(self, site: str, entries: list[LineEntry], known: dict[str, Job | None], now: datetime,
                      at: str, recount: Recount) -> None:
        def job(job_id: str) -> Job | None:
            if job_id not in known:
                found = self._jobs.find(job_id)
                known[job_id] = found.item if found else None
            return known[job_id]

        def left(entry_site: str, found: Job | None) -> bool:
            """Whether the job has left the site for good. Only what cannot change back counts: ended, gone,
            or placed on another site (a job read before its placement, unplaced, has not left)."""
            if found is None or found.status.terminal:
                return True
            if entry_site == UNPLACED:
                return found.simulator is not None
            return found.simulator is not None and found.simulator != entry_site

        for entry in entries:
            found = job(entry.job_id)
            young = now - entry.since <= ORPHAN_GRACE  # its job's own write may still be on its way
            never_ran = found is None or found.status == JobStatus.DRAFT
            if (never_ran and not young) or (not never_ran and left(site, found)):
                self._store.leave(site, entry.job_id)
                recount.removed += 1
        if site == UNPLACED:
            return
        gone = {j for j in self._ledger(site).grants if left(site, job(j))}
        recount.released += self._drop(site, gone) if gone else 0
        spec = self._spec(site)
        if spec is None:
            return
        ledger, line = self._ledger(site), self._store.line(site)
        recount.woken += self._send_starts(site, admissible(spec.limits, ledger, line), f"cycle-{at}", quiet=False)
        for job_id, wait in waits(spec.limits, ledger, line).items():
            current = job(job_id)
            if current is not None and current.status == JobStatus.SUBMITTED and current.detail != wait.describe():
                self.note_wait(job_id, wait)
                recount.noted += 1

    def note_wait(self, job_id: str, wait: Wait) -> Stored[Job] | None:
        """Show why the job waits (a submitted job only; a write only when the reason changed)."""
        text = wait.describe()

        def change(job: Job) -> Job:
            if job.status != JobStatus.SUBMITTED or job.cancel_requested or (job.detail == text and not job.waiting):
                return job
            # Waiting in line is not waiting for an unreachable simulator: that clock starts again if it must.
            return job.model_copy(update={"detail": text, "updated": self._clock.now(), "waiting": None})

        return self._changes.apply(job_id, change)

    def _remember_duration(self, site: str, job: Job) -> None:
        seconds = run_seconds(job.history, job.updated)
        if seconds is None:
            return
        for _ in range(3):
            stored = self._store.history(site, job.case_id, job.case_version)
            history = (stored.item if stored else DurationHistory()).adding(seconds)
            try:
                self._store.save_history(site, job.case_id, job.case_version, history, stored.etag if stored else None)
                return
            except StaleWrite:
                continue

    def _entry(self, job: Job, site: str, case: PublishedCase) -> LineEntry:
        return LineEntry(site=site, job_id=job.job_id, owner=job.owner, licences=dict(case.definition.licences),
                         since=job.submitted_at if job.status != JobStatus.DRAFT else self._clock.now())

    def _ledger(self, site: str) -> Ledger:
        """The site's grants as they are now, for reading (writes go through ``_grant`` and ``_drop``)."""
        stored = self._store.ledger(site)
        return stored.item if stored else Ledger()

    def _spec(self, name: str | None) -> SimulatorSpec | None:
        return simulator_named(self._specs, name)


def _licences(licences: dict[str, int]) -> str:
    return "".join(f", licence {name} x{count}" for name, count in sorted(licences.items()))


def _when(start: datetime | None, now: datetime) -> str:
    if start is None:
        return "unknown"
    if start <= now:
        return "now"
    return f"in {_span((start - now).total_seconds())}"


def _span(seconds: float) -> str:
    for unit, size in (("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds:.0f} s"
