"""What sweeps and comparisons cost, measured in one run against references of the same run.

    python -m bench.sweep [--members 1000] [--compared 50] [--rounds 11]

On a local stack of its own (Azurite in memory, the local Functions host serving
``shared.wiring.app()`` in this process, the smoothie case published), through the API:

- create: ``POST /api/sweep`` of ``--members`` members (draft jobs, a grid over the blade speed) until
  every member is written (a sweep of more than 100 is written by the manager after the answer), against
  ``POST /api/job`` of one job, in interleaved rounds (each the median of its rounds).
  Targets: the sweep within 10 s, and within 20x one job.
- compare: ``GET /api/compare`` of ``--compared`` done jobs (each with a CSV output and its summary)
  against the compare of 2 of them, in interleaved rounds. Target: within 2x.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import requests

from commands.local_settings import SAMPLE_SETTINGS, read_local_settings
from devstack.stack import LocalStack
from shared.domain.jobs import JobStatus
from shared.domain.outputs import Output
from shared.domain.summaries import summarise
from shared.wiring import app

USER = {"X-Simgate-User": "bench"}
TARGET_SECONDS = 10.0
TARGET_OVER_ONE_JOB = 20.0
TARGET_COMPARE = 2.0
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
    """POST /api/sweep, then (a large sweep's members being written in the background) its reads until
    every member is written: the answer of the POST."""
    speeds = [1000 + index * (19000 // max(members - 1, 1)) for index in range(members)]
    answer = session.post(f"{api}/sweep", headers=USER, timeout=120,
                          json={"case_id": "smoothie", "title": "Speeds", "vary": {"speed_rpm": speeds}})
    deadline = time.monotonic() + 120
    sweeps = app().adapters.sweeps
    while answer.ok and not answer.json()["complete"] and time.monotonic() < deadline:
        if sweeps.find(answer.json()["sweep_id"]).item.materialised:  # a point read: no member is read
            break
        time.sleep(0.02)
    return answer


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
            timed(lambda: a_sweep(session, api, 10))
            sweep_rounds = max(3, args.rounds // 3)
            job_s, sweep_s = interleaved(sweep_rounds, lambda: timed(lambda: one_job(session, api)),
                                         lambda: timed(lambda: a_sweep(session, api, args.members)))
            job_ids = finished_jobs(session, api, args.compared)

            def compare(ids: list[str]) -> float:
                return timed(lambda: session.get(f"{api}/compare", headers=USER, timeout=60,
                                                 params=[("job", job_id) for job_id in ids]))

            compare(job_ids)
            two_s, many_s = interleaved(args.rounds, lambda: compare(job_ids[:2]), lambda: compare(job_ids))
    over_one = sweep_s / job_s
    over_two = many_s / two_s
    checks = [sweep_s <= TARGET_SECONDS, over_one <= TARGET_OVER_ONE_JOB, over_two <= TARGET_COMPARE]
    print(f"\nsweep: creating {args.members} members against one job, and comparing {args.compared} jobs against 2")
    print(f"  one job        POST /api/job (median of {sweep_rounds})              {job_s * 1000:8.1f} ms")
    print(f"  sweep          POST /api/sweep, {args.members} members (median of {sweep_rounds}) {sweep_s * 1000:8.1f} ms"
          f"   [target <= {TARGET_SECONDS:g} s]")
    print(f"                 {over_one:.1f}x one job   [target <= {TARGET_OVER_ONE_JOB:g}x]")
    print(f"  compare 2      GET /api/compare (median of {args.rounds})           {two_s * 1000:8.1f} ms")
    print(f"  compare {args.compared:<6} GET /api/compare (median of {args.rounds})           {many_s * 1000:8.1f} ms"
          f"   {over_two:.2f}x   [target <= {TARGET_COMPARE:g}x]")
    print("  targets " + ("met" if all(checks) else "MISSED"))
    return 0 if all(checks) else 1


if __name__ == "__main__":
    sys.exit(main())
