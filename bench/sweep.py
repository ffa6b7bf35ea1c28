"""What sweeps and comparisons cost, measured in one run against references of the same run.

    python -m bench.sweep [--members 1000] [--compared 50] [--rounds 11]

On a local stack of its own (Azurite in memory, the local Functions host serving
``shared.wiring.app()`` in this process, the smoothie case published), through the API:

- create: ``POST /api/sweep`` of ``--members`` members (draft jobs, a grid over the blade speed), against
  ``POST /api/job`` of one job, in interleaved rounds (each the median of its rounds): the answer (the
  sweep exists, its members' ids are known) and the time until every member is written (a sweep of
  more than 100 is written by the manager from the queue), beside the floor of any sweep that keeps a
  row per member: the same rows written straight into the table, 100 a transaction.
  Targets: the answer within 20x one job; every member written within 10 s and within 1.5x the floor.
- compare: ``GET /api/compare`` of ``--compared`` done jobs (each with a CSV output and its summary)
  against the compare of 2 of them, in interleaved rounds. Target: within 2x. Beside it, for
  information, the table read of those jobs alone (``JobRepository.find_many``), 2 against 50.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import requests

from commands.local_settings import SAMPLE_SETTINGS, read_local_settings
from devstack.stack import LocalStack
from shared.domain.jobs import JobStatus
from shared.domain.outputs import Output
from shared.domain.summaries import summarise
from shared.domain.sweeps import MAX_MEMBERS_LIMIT, Sweep, SweepPlan, check_plan, new_sweep_id
from shared.wiring import app

USER = {"X-Simgate-User": "bench"}
TARGET_SECONDS = 10.0
TARGET_OVER_ONE_JOB = 20.0
TARGET_COMPARE = 2.0
TARGET_OVER_FLOOR = 1.5
CASES = Path(__file__).resolve().parents[1] / "cases"


def timed(call: Callable[[], requests.Response]) -> float:
    started = time.perf_counter()
    answer = call()
    took = time.perf_counter() - started
    if not answer.ok:
        raise SystemExit(f"{answer.request.method} {answer.url}: {answer.status_code} {answer.text[:300]}")
    return took


def one_job(session: requests.Session, api: str) -> requests.Response:
    return session.post(f"{api}/job", headers=USER, timeout=60,
                        json={"case_id": "smoothie", "job_title": "One", "fields": {"speed_rpm": 5000}})


def a_sweep(session: requests.Session, api: str, members: int) -> requests.Response:
    speeds = [1000 + index * (19000 // max(members - 1, 1)) for index in range(members)]
    return session.post(f"{api}/sweep", headers=USER, timeout=120,
                        json={"case_id": "smoothie", "title": "Speeds", "vary": {"speed_rpm": speeds}})


@dataclass
class Created:
    answered: float  # the POST's answer
    written: float  # every member written


def create_sweep(session: requests.Session, api: str, members: int) -> Created:
    """A sweep's POST, then point reads of the sweep (no member is read) until its members are written."""
    started = time.perf_counter()
    answer = a_sweep(session, api, members)
    answered = time.perf_counter() - started
    if not answer.ok:
        raise SystemExit(f"POST /api/sweep: {answer.status_code} {answer.text[:300]}")
    sweeps, deadline = app().adapters.sweeps, time.monotonic() + 120
    while not answer.json()["complete"] and not sweeps.find(answer.json()["sweep_id"]).item.materialised:
        if time.monotonic() > deadline:
            raise SystemExit("the sweep's members were not written within 120 s")
        time.sleep(0.05)
    return Created(answered, time.perf_counter() - started)


def floor(members: int) -> float:
    """The rows of a sweep's members written straight into the table, 100 a transaction."""
    application = app()
    case = application.adapters.cases.get("smoothie")
    plan = check_plan(case.definition.fields, SweepPlan(vary={"speed_rpm": list(range(1000, 1000 + members))}),
                      MAX_MEMBERS_LIMIT).plan
    now = datetime.now(timezone.utc)
    sweep = Sweep(sweep_id=new_sweep_id("bench-floor", now), owner="bench-floor", title="Floor", case_id=case.id,
                  case_version=case.version, mode=plan.mode, base=plan.base, vary=plan.vary, total=plan.size,
                  created=now)
    jobs = [sweep.member(case.definition.fields, index, values, now) for index, values in enumerate(plan.members())]
    started = time.perf_counter()
    application.adapters.jobs.add_many(jobs)
    return time.perf_counter() - started


def finished_jobs(session: requests.Session, api: str, count: int) -> list[str]:
    """``count`` jobs made done directly in storage, each with a CSV output summarised as at its seal."""
    created = a_sweep(session, api, count).json()
    repository = app().adapters.jobs
    for index, job_id in enumerate(created["job_ids"]):
        stored = repository.find(job_id)
        data = "".join(f"{t},{20 + index + t * 0.5},{index * t}\n" for t in range(200)).encode()
        data = b"t,temperature_c,energy_j\n" + data
        output = Output(output_id="csv1", name="results/profile.csv", size=len(data), content_type="text/csv",
                        md5=f"{index:032x}", summary=summarise(data))
        job = stored.item
        for status in (JobStatus.SUBMITTED, JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.DONE):
            job = job.move(status, at=job.updated, source="bench")
        repository.update(job.model_copy(update={"outputs": [output.model_dump()]}), stored.etag)
    return created["job_ids"]


def interleaved(rounds: int, first: Callable[[], float], second: Callable[[], float]) -> tuple[float, float]:
    a, b = [], []
    for index in range(rounds):
        if index % 2:
            b.append(second())
            a.append(first())
        else:
            a.append(first())
            b.append(second())
    return statistics.median(a), statistics.median(b)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sweep", description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--compared", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=11)
    args = parser.parse_args(argv)
    values = read_local_settings(SAMPLE_SETTINGS)["Values"]
    with tempfile.TemporaryDirectory(prefix="simgate-bench-") as root:
        with LocalStack(root=Path(root), values=values, slurm=False, persist=False, cases=CASES) as stack:
            api = stack.api
            session = requests.Session()
            timed(lambda: one_job(session, api))  # warm-up: the first request builds the app
            create_sweep(session, api, 10)
            jobs_s, answers, written, floors = [], [], [], []
            for _ in range(max(3, args.rounds // 3)):
                jobs_s.append(timed(lambda: one_job(session, api)))
                created = create_sweep(session, api, args.members)
                answers.append(created.answered)
                written.append(created.written)
                floors.append(floor(args.members))
            job_s, answer_s, sweep_s, floor_s = map(statistics.median, (jobs_s, answers, written, floors))
            sweep_rounds = len(jobs_s)
            job_ids = finished_jobs(session, api, args.compared)

            def compare(ids: list[str]) -> float:
                return timed(lambda: session.get(f"{api}/compare", headers=USER, timeout=60,
                                                 params=[("job", job_id) for job_id in ids]))

            def read(ids: list[str]) -> float:
                started = time.perf_counter()
                app().adapters.jobs.find_many(ids)
                return time.perf_counter() - started

            compare(job_ids)
            two_s, many_s = interleaved(args.rounds, lambda: compare(job_ids[:2]), lambda: compare(job_ids))
            read_two, read_many = interleaved(args.rounds, lambda: read(job_ids[:2]), lambda: read(job_ids))
    over_one, over_floor, over_two = answer_s / job_s, sweep_s / floor_s, many_s / two_s
    checks = [over_one <= TARGET_OVER_ONE_JOB, sweep_s <= TARGET_SECONDS, over_floor <= TARGET_OVER_FLOOR,
              over_two <= TARGET_COMPARE]
    n = args.members
    print(f"\nsweep: creating {n} members against one job, and comparing {args.compared} jobs against 2 "
          f"(medians of {sweep_rounds} and {args.rounds} rounds)")
    print(f"  one job        POST /api/job                                {job_s * 1000:8.1f} ms")
    print(f"  sweep answer   POST /api/sweep, {n} members                 {answer_s * 1000:8.1f} ms   "
          f"{over_one:5.1f}x one job   [target <= {TARGET_OVER_ONE_JOB:g}x]")
    print(f"  sweep written  until every member is written               {sweep_s * 1000:8.1f} ms   "
          f"[target <= {TARGET_SECONDS:g} s]; {sweep_s / job_s:.1f}x one job")
    print(f"  floor          {n} member rows straight into the table     {floor_s * 1000:8.1f} ms   "
          f"written {over_floor:4.2f}x the floor   [target <= {TARGET_OVER_FLOOR:g}x]; the floor alone is "
          f"{floor_s / job_s:.1f}x one job")
    print(f"  compare 2      GET /api/compare                             {two_s * 1000:8.1f} ms")
    print(f"  compare {args.compared:<6} GET /api/compare                             {many_s * 1000:8.1f} ms   "
          f"{over_two:4.2f}x   [target <= {TARGET_COMPARE:g}x]")
    print(f"  their rows     the table read alone, 2 and {args.compared} jobs        {read_two * 1000:5.1f} and "
          f"{read_many * 1000:5.1f} ms   {read_many / read_two:4.2f}x (for information: the emulator's cost per row)")
    print("  targets " + ("met" if all(checks) else "MISSED"))
    return 0 if all(checks) else 1


if __name__ == "__main__":
    sys.exit(main())
