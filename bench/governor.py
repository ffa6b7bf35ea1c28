"""What the site governor costs and whether it holds its site to its limit, measured in one run.

    python -m bench.governor [--jobs 200] [--slots 8] [--seconds 4] [--finished 20000] [--rounds 21]

On a local stack of its own (Azurite in memory, sshd with the direct runner "local" allowing
``--slots`` jobs at once, the local Functions host serving ``shared.wiring.app()`` in this process,
the reconciler's timer off: the benchmark runs its cycles itself):

- burst: first one run's duration, POST run -> done of a job alone (a warm-up, then the median of
  three), for a case that sleeps ``--seconds``. Then ``--jobs`` jobs run at once (POST
  /api/job/{id} from a pool of client threads, as users would) until every one is done. Its wall
  time, from the first POST to the last job's ``done`` in its history, against the waves the limit
  makes (jobs / slots, rounded up) x one run's duration (target <= 1.3x); failed jobs (target 0);
  the most jobs at once on the simulator from their arrival there, by the agents' own records
  (each job directory's state.json, queued_at -> ended_at) and by the jobs' histories (queued ->
  done), both (target <= slots). From arrival, because the agent's own slot lock keeps the jobs
  that run (started_at, running) to the limit whatever the governor sends; those are printed too,
  with the jobs that found no free slot on arrival.
- per start: every ``Sites.acquire`` of the app the host serves, timed during the burst: median and
  p95 of the calls that granted a slot (target median <= 50 ms), beside them those that answered
  "wait" and the releases.
- reconciler: ``Reconciler.run()`` with the burst's jobs finished and local as a busy site
  (``--slots`` jobs running there holding their grants, two waiting in line), beside a twin: the
  same app built over a copy of its jobs table. Cycles of the two run in turn, the first of them
  alternating, for ``--rounds`` rounds: first with the tables alike (the ratio shows the two are), then
  after ``--finished`` finished jobs are written into the app's own jobs table (directly, 100 an
  entity-group transaction, over many owner partitions). Target: the median of the rounds' ratios
  with them <= 1.5x. A read of every line (the one query of a cycle over a range of partitions) is
  timed beside the cycles, for information.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TypeVar

import requests

from commands.local_settings import SAMPLE_SETTINGS, read_local_settings
from devstack.stack import LOCAL_SIMULATOR, LocalStack
from shared.adapters.job_store import _entity
from shared.adapters.storage import StorageClients
from shared.domain.jobs import Job, JobStatus, new_job_id
from shared.domain.sites import Grant, Ledger, LineEntry
from shared.wiring import App, app, azure_adapters, build

ADMIN = {"X-Simgate-User": "bench", "X-Simgate-Roles": "simgate.admin"}
USER = {"X-Simgate-User": "bench"}
CASE = {
    "id": "bench-governor",
    "title": "Governor benchmark",
    "summary": "Sleeps for a while",
    "fields": [{"name": "seconds", "type": "number", "min": 0, "max": 86400, "default": 4}],
    "scripts": {"run.sh": "#!/bin/sh\nsleep {{ seconds }}\n"},
    "entry_point": "run.sh",
    "outputs": [],
    "resources": {"cores": 1, "memory_mb": 64, "wall_time_minutes": 60},
}
NEVER = "0 0 0 1 1 *"  # the reconciler's timer: once a year, so that no cycle of its own runs meanwhile
CLIENT_THREADS = 20
BURST_DEADLINE_SECONDS = 20 * 60
BATCH = 100  # the most entities in one entity-group transaction
OWNERS = 200  # owner partitions the finished jobs are spread over
WAITING = 2  # jobs waiting in the busy line, beside the running ones
TWIN_TABLE = "jobstwin"
SLOT_WAIT_SECONDS = 0.5  # an agent that finds no slot free tries again after a second
TARGET_OVER_WAVES, TARGET_ACQUIRE_MS, TARGET_HISTORY = 1.3, 50.0, 1.5
T = TypeVar("T")


class Acquires:
    """``Sites.acquire`` of the app the host serves, timed call by call, by what each answered:
    ``granted`` (a new grant), ``again`` (the job held it already: another start message of the same
    job), ``waited`` or ``raised``."""

    def __init__(self) -> None:
        self.seconds: defaultdict[str, list[float]] = defaultdict(list)
        self._granted: set[str] = set()

    def wrap(self, acquire: Callable) -> Callable:
        def timed(spec, job, case):
            began, outcome = time.perf_counter(), "raised"
            try:
                answer = acquire(spec, job, case)
                outcome = "waited" if answer is not None else "again" if job.job_id in self._granted else "granted"
                return answer
            finally:
                self.seconds[outcome].append(time.perf_counter() - began)
                if outcome == "granted":
                    self._granted.add(job.job_id)
        return timed


def timing(seconds: list[float], method: Callable) -> Callable:
    def timed(*args, **kwargs):
        began = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            seconds.append(time.perf_counter() - began)
    return timed


class Retries(logging.Handler):
    """The manager's log, counted: start deliveries that failed and were retried."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "will retry" in record.getMessage():
            self.count += 1


def percentile(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100)[p - 1] if len(values) > 1 else values[0]


def most_at_once(intervals: Iterable[tuple[float, float]]) -> int:
    """The most intervals open at one moment (one that ends as another begins does not overlap it)."""
    events = sorted((at, step) for start, end in intervals for at, step in ((start, 1), (end, -1)))
    most = now = 0
    for _, step in events:
        now += step
        most = max(most, now)
    return most


def epoch(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


# --- the burst ---


def create(session: requests.Session, api: str, seconds: float, index: int) -> str:
    answer = session.post(f"{api}/job", headers=USER, timeout=60, json={
        "case_id": CASE["id"], "job_title": f"governor {index}", "fields": {"seconds": seconds}})
    answer.raise_for_status()
    return answer.json()["job_id"]


def job(session: requests.Session, api: str, job_id: str) -> dict:
    answer = session.get(f"{api}/job/{job_id}", headers=USER, timeout=60)
    answer.raise_for_status()
    return answer.json()


def moved(found: dict, status: str) -> float | None:
    """When the job (as the API shows it) was first recorded in ``status``, epoch seconds."""
    return next((epoch(h["at"]) for h in found["history"] if h["status"] == status), None)


def alone(api: str, seconds: float) -> float:
    """One job, POST run -> done in its history, on an idle stack."""
    with requests.Session() as session:
        job_id = create(session, api, seconds, 0)
        began = time.time()
        session.post(f"{api}/job/{job_id}", headers=USER, timeout=60).raise_for_status()
        deadline = time.monotonic() + 60 + seconds * 3
        while time.monotonic() < deadline:
            found = job(session, api, job_id)
            if found["status"] in ("done", "failed", "cancelled"):
                break
            time.sleep(0.1)
        if found["status"] != "done":
            raise RuntimeError(f"the job alone ended {found['status']}: {found.get('detail') or found.get('error')}")
        return moved(found, "done") - began


def statuses(session: requests.Session, api: str) -> dict[str, str]:
    """Every job of the benchmark's case and its status, page by page."""
    found, token = {}, None
    while True:
        params = {"case_id": CASE["id"], "per_page": 100, **({"continuation": token} if token else {})}
        answer = session.get(f"{api}/job", params=params, headers=USER, timeout=60)
        answer.raise_for_status()
        found.update({j["job_id"]: j["status"] for j in answer.json()})
        token = answer.headers.get("X-Continuation-Token")
        if not token:
            return found


@dataclass
class Burst:
    job_ids: list[str]
    began: float
    refused: int
    jobs: list[dict]  # each job as the API shows it once the burst is over

    @property
    def ended(self) -> float:
        return max((moved(j, "done") or 0.0) for j in self.jobs)

    @property
    def failed(self) -> int:
        return self.refused + sum(j["status"] != "done" for j in self.jobs)

    def on_simulator(self, *since: str) -> list[tuple[float, float]]:
        """Each job's time on the simulator by its own history: from the first of ``since`` to done."""
        spans = []
        for found in self.jobs:
            began = [at for at in (moved(found, status) for status in since) if at is not None]
            if began and moved(found, "done"):
                spans.append((min(began), moved(found, "done")))
        return spans


def in_parallel(call: Callable[[requests.Session, int], T], count: int) -> list[T]:
    """``call(session, index)`` for each index, from a pool of client threads (each with a keep-alive
    connection of its own, as each user has)."""
    clients = threading.local()

    def one(index: int) -> T:
        if not hasattr(clients, "session"):
            clients.session = requests.Session()
        return call(clients.session, index)

    with ThreadPoolExecutor(CLIENT_THREADS) as pool:
        return list(pool.map(one, range(count)))


def burst(api: str, count: int, seconds: float) -> Burst:
    job_ids = in_parallel(lambda session, index: create(session, api, seconds, index + 1), count)
    began = time.time()
    answers = in_parallel(lambda session, index: session.post(f"{api}/job/{job_ids[index]}", headers=USER,
                                                              timeout=60).status_code, count)
    with requests.Session() as watcher:
        deadline = time.monotonic() + BURST_DEADLINE_SECONDS
        while time.monotonic() < deadline:
            listed = statuses(watcher, api)
            if all(listed.get(j) in ("done", "failed", "cancelled") for j in job_ids):
                break
            time.sleep(2)  # a light watcher: it shares the process with the host it measures
        return Burst(job_ids, began, sum(code != 202 for code in answers), [job(watcher, api, j) for j in job_ids])


@dataclass
class Records:
    """The jobs' runs by their agents' own state.json."""

    arrived: list[tuple[float, float]]  # queued_at -> ended_at: from the agent's start on the simulator
    ran: list[tuple[float, float]]  # started_at -> ended_at: holding the agent's own slot lock, then delivering
    waited: int  # jobs that arrived to find no slot free (queued at the agent's own slot lock)


def agents_records(workdir: Path, job_ids: list[str]) -> Records:
    records = Records([], [], 0)
    for job_id in job_ids:
        path = workdir / job_id / "state.json"
        state = json.loads(path.read_text()) if path.exists() else {}
        if not all(state.get(at) for at in ("queued_at", "started_at", "ended_at")):
            continue
        queued, started, ended = (epoch(state[at]) for at in ("queued_at", "started_at", "ended_at"))
        records.arrived.append((queued, ended))
        records.ran.append((started, ended))
        records.waited += started - queued > SLOT_WAIT_SECONDS
    return records


# --- the reconciler ---


def history_job(owner: str, index: int, at: datetime) -> Job:
    """A job that ran on local and is done, as the app would have left it."""
    made = Job(job_id=new_job_id(owner, at), owner=owner, title=f"finished {index}", case_id=CASE["id"],
               case_version=1, fields={"seconds": 4}, created=at, updated=at)
    made = made.move(JobStatus.SUBMITTED, at=at, source=f"api:{owner}", reason="run requested")
    made = made.placed(LOCAL_SIMULATOR, f"{LOCAL_SIMULATOR}: the only simulator")
    for status, after in ((JobStatus.QUEUED, 1), (JobStatus.RUNNING, 2), (JobStatus.CLEANUP, 6),
                          (JobStatus.DONE, 7)):
        made = made.move(status, at=at + timedelta(seconds=after), source="agent", reason=status.value)
    return made.model_copy(update={"progress": 1.0, "agent_token_hash": "0" * 64})


def finished_jobs(count: int) -> dict[str, list[Job]]:
    """``count`` finished jobs over ``OWNERS`` owners, a day's worth before now, by partition."""
    start = datetime.now(timezone.utc) - timedelta(days=1)
    by_partition: dict[str, list[Job]] = {}
    for index in range(count):
        made = history_job(f"user-{index % OWNERS:03d}", index, start + timedelta(seconds=index * 4))
        by_partition.setdefault(made.job_id[:12], []).append(made)
    return by_partition


def batches(by_partition: dict[str, list[Job]]) -> list[list[Job]]:
    return [jobs[i:i + BATCH] for jobs in by_partition.values() for i in range(0, len(jobs), BATCH)]


def write(table, groups: list[list[Job]]) -> None:
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda group: table.submit_transaction([("create", _entity(j)) for j in group]), groups))


def busy_line(application: App, slots: int) -> None:
    """local as a busy site: ``slots`` jobs running there holding their grants, two waiting in line."""
    jobs, store, now = application.adapters.jobs, application.adapters.sites, datetime.now(timezone.utc)
    ledger = Ledger()
    for index in range(slots + WAITING):
        at = now - timedelta(seconds=60 - index)
        made = Job(job_id=new_job_id("busy", at), owner="busy", title=f"active {index}", case_id=CASE["id"],
                   case_version=1, fields={"seconds": 3600}, created=at, updated=at)
        made = made.move(JobStatus.SUBMITTED, at=at, source="api:busy", reason="run requested").placed(
            LOCAL_SIMULATOR, f"{LOCAL_SIMULATOR}: the only simulator")
        store.enter(LineEntry(site=LOCAL_SIMULATOR, job_id=made.job_id, owner="busy", since=at))
        if index < slots:
            made = made.move(JobStatus.QUEUED, at=at, source="manager").move(JobStatus.RUNNING, at=now,
                                                                              source="agent")
            ledger = ledger.granting(Grant(job_id=made.job_id, owner="busy", since=at))
        jobs.add(made)
    stored = store.ledger(LOCAL_SIMULATOR)
    store.save_ledger(LOCAL_SIMULATOR, Ledger(grants={**(stored.item.grants if stored else {}), **ledger.grants}),
                      stored.etag if stored else None)


def twin(application: App) -> App:
    """The app over a copy of its jobs table as it is now: a reference for its cycles, timed beside them."""
    settings = application.settings.model_copy(update={"jobs_table": TWIN_TABLE})
    clients = StorageClients(settings)
    clients.table_service.create_table_if_not_exists(TWIN_TABLE)
    by_partition: defaultdict[str, list[dict]] = defaultdict(list)
    for entity in clients.table(application.settings.jobs_table).list_entities():
        by_partition[entity["PartitionKey"]].append(entity)
    copy = clients.table(TWIN_TABLE)
    for entities in by_partition.values():
        for i in range(0, len(entities), BATCH):
            copy.submit_transaction([("upsert", entity) for entity in entities[i:i + BATCH]])
    return build(settings, azure_adapters(settings))


def seconds(call: Callable[[], object]) -> float:
    began = time.perf_counter()
    call()
    return time.perf_counter() - began


def interleaved(own: App, reference: App, rounds: int) -> list[dict[str, float]]:
    """A reconciler cycle of each app a round, and a read of every line of each, the first of them
    alternating from round to round (after a warm-up round)."""
    measures = {"own": own.reconciler.run, "twin": reference.reconciler.run,
                "own line": own.adapters.sites.line, "twin line": reference.adapters.sites.line}
    timings = []
    pairs = [("own", "twin"), ("own line", "twin line")]
    for index in range(rounds + 1):
        timings.append({name: seconds(measures[name]) for pair in pairs
                        for name in (pair if index % 2 else pair[::-1])})
    return timings[1:]


@dataclass
class Rounds:
    timings: list[dict[str, float]]

    def median(self, name: str) -> float:
        return statistics.median(round_[name] for round_ in self.timings)

    def ratio(self, own: str = "own", reference: str = "twin") -> float:
        return statistics.median(round_[own] / round_[reference] for round_ in self.timings)


@dataclass
class Reconciling:
    alike: Rounds  # before the finished jobs are written: the two apps' tables hold the same
    history: Rounds  # with the finished jobs in the app's own table
    written: float  # seconds the finished jobs took to write
    line: int  # jobs a cycle reads


def reconciling(application: App, slots: int, finished: int, rounds: int) -> Reconciling:
    busy_line(application, slots)
    reference = twin(application)
    try:
        alike = Rounds(interleaved(application, reference, rounds))
        began = time.perf_counter()
        write(StorageClients(application.settings).table(application.settings.jobs_table),
              batches(finished_jobs(finished)))
        written = time.perf_counter() - began
        history = Rounds(interleaved(application, reference, rounds))
    finally:
        reference.close()
    return Reconciling(alike, history, written, len({entry.job_id for entry in application.sites.lines()}))


# --- the report ---


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.governor", description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--slots", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("--finished", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=21, help="interleaved rounds of reconciler cycles (median)")
    args = parser.parse_args(argv)
    values = {**read_local_settings(SAMPLE_SETTINGS)["Values"], "RECONCILE_SCHEDULE": NEVER}
    acquires, releases, retries = Acquires(), [], Retries()
    logging.getLogger("simgate.manager").addHandler(retries)
    with tempfile.TemporaryDirectory(prefix="simgate-bench-") as root:
        workdir = Path(root) / "jobs"
        with LocalStack(root=Path(root), values=values, slurm=False, persist=False,
                        simulator_options={"max_parallel_jobs": args.slots, "max_jobs_per_user": None,
                                           "workdir": str(workdir)}) as stack:
            api = stack.api
            requests.put(f"{api}/case/{CASE['id']}", headers=ADMIN, json=CASE, timeout=60).raise_for_status()
            application = app()
            alone(api, args.seconds)
            one = statistics.median(alone(api, args.seconds) for _ in range(3))
            sites, retries.count = application.sites, 0
            sites.acquire, sites.release = acquires.wrap(sites.acquire), timing(releases, sites.release)
            done = burst(api, args.jobs, args.seconds)
            del sites.acquire, sites.release
            retried = retries.count
            records = agents_records(workdir, done.job_ids)
            reconciled = reconciling(application, args.slots, args.finished, args.rounds)
    return report(args, one, done, records, acquires, releases, retried, reconciled)


def report(args, one: float, done: Burst, records: Records, acquires: Acquires,
           releases: list[float], retries: int, reconciled: Reconciling) -> int:
    waves = math.ceil(args.jobs / args.slots)
    took = done.ended - done.began
    over_waves = took / (waves * one)
    by_agents, by_history = most_at_once(records.arrived), most_at_once(done.on_simulator("queued", "running"))
    granted = acquires.seconds["granted"]
    median_ms = statistics.median(granted) * 1000 if granted else math.inf
    alike, history = reconciled.alike, reconciled.history
    checks = [over_waves <= TARGET_OVER_WAVES, done.failed == 0, by_agents <= args.slots,
              by_history <= args.slots, median_ms <= TARGET_ACQUIRE_MS, history.ratio() <= TARGET_HISTORY]

    def ms(values: list[float]) -> str:
        if not values:
            return "0 calls"
        return (f"{len(values):4d} calls, median {statistics.median(values) * 1000:6.1f} ms  "
                f"p95 {percentile(values, 95) * 1000:6.1f} ms")

    def pair(rounds: Rounds, own: str, reference: str) -> str:
        return (f"{rounds.median(own) * 1000:6.1f} ms, twin {rounds.median(reference) * 1000:6.1f} ms: "
                f"{rounds.ratio(own, reference):4.2f}x")

    print(f"\ngovernor: {args.jobs} jobs of {args.seconds:g} s run at once on local, {args.slots} slots")
    print(f"  one run        POST run -> done, a job alone (median of 3)   {one:7.2f} s")
    print(f"  burst          first POST -> last done                       {took:7.1f} s   "
          f"{over_waves:.2f}x {waves} waves x one run   [target <= {TARGET_OVER_WAVES}x]")
    print(f"  failed         {done.failed} of {args.jobs}   [target 0]; {retries} start deliveries failed and retried")
    print(f"  at once        on the simulator from arrival: by the agents' state.json (queued_at -> ended_at) "
          f"{by_agents}, by the jobs' histories (queued -> done) {by_history}   [target <= {args.slots}]")
    print(f"                 running only (started_at -> ended_at; running -> done): {most_at_once(records.ran)}, "
          f"{most_at_once(done.on_simulator('running'))}; {records.waited} of {len(records.arrived)} jobs found "
          "no free slot on arrival (waited at the agent's own slot lock)")
    print(f"  acquire        granted  {ms(granted)}   [target median <= {TARGET_ACQUIRE_MS:g} ms]")
    for outcome, what in (("waited", "no room"), ("again", "held it already (another start of the job)"),
                          ("raised", "failed: the start is retried")):
        if acquires.seconds[outcome]:
            print(f"                 {outcome:<8} {ms(acquires.seconds[outcome])}   {what}")
    print(f"  release                 {ms(releases)}")
    print(f"  reconciler     a cycle, {reconciled.line} jobs in the lines, beside a twin app over a copy of its table; "
          f"medians of {args.rounds} interleaved rounds")
    more = f"{args.finished} finished more"
    print(f"                 {'tables alike':<21} {pair(alike, 'own', 'twin')}")
    print(f"                 {more:<21} {pair(history, 'own', 'twin')}   "
          f"[target <= {TARGET_HISTORY}x]")
    print(f"                 every line read alone: alike {pair(alike, 'own line', 'twin line')}; "
          f"{args.finished} more {pair(history, 'own line', 'twin line')}")
    print(f"                 the {args.finished} finished jobs written in {reconciled.written:.1f} s")
    print(f"  targets        {'met' if all(checks) else 'NOT met'}")
    return 0 if all(checks) else 1


if __name__ == "__main__":
    sys.exit(main())
