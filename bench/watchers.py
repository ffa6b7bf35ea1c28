"""Whether people watching their jobs starve everyone else, against the idle API in the same run.

    python -m bench.watchers [--watchers 200] [--requests 400] [--mode page|status|long-poll]

On a local stack of its own (Azurite in memory, the local Functions host), each of ``--watchers``
users has a running job and follows it the way the web app's job page does: one conditional look at
its status, progress, log tail and series (``GET /api/job/{id}/live`` with ``If-None-Match``) every
4 s, answered 304 while nothing changed, from a process of its own. Meanwhile one more user reads a
job (``GET /api/job/{id}``) ``--requests`` times, one after another:

- idle:      those reads with nobody watching;
- watched:   the same reads while every watcher watches.

It prints the p50 and p99 latencies and their ratio; the target is watched p99 <= 2x idle p99.
``--mode status`` polls ``GET /api/job/{id}/status`` with If-None-Match every 3 s instead (the page's
way before live looks); ``--mode long-poll`` watches with ``?wait=25&since=running`` (what the CLI does
for one job), for comparison.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import requests

from commands.local_settings import SAMPLE_SETTINGS, read_local_settings
from devstack.stack import LocalStack
from shared.adapters.job_store import TableJobRepository
from shared.adapters.storage import StorageClients
from shared.domain.jobs import Job, JobStatus, new_job_id

READER = "reader"
INTERVALS = {"page": 4.0, "status": 3.0}  # seconds between a watcher's looks (web/src/job/livePacing.ts)


def seed(stack: LocalStack, owners: list[str]) -> dict[str, str]:
    jobs = TableJobRepository(StorageClients(stack.settings), stack.settings.jobs_table)

    def add(owner: str) -> tuple[str, str]:
        now = datetime.now(timezone.utc)
        job = Job(job_id=new_job_id(owner, now), owner=owner, title=f"Job of {owner}", case_id="heat-rod",
                  case_version=1, fields={"material": "copper"}, created=now, updated=now, status=JobStatus.RUNNING)
        jobs.add(job)
        return owner, job.job_id

    with ThreadPoolExecutor(8) as pool:
        return dict(pool.map(add, owners))


def watch(api: str, watched: dict[str, str], mode: str, ready, stop, counts) -> None:
    """In a process of its own: every watcher polls its job's status with If-None-Match (or long-polls)."""

    interval = INTERVALS.get(mode, 0.0)

    def watcher(owner: str, job_id: str) -> None:
        session = requests.Session()
        headers = {"X-Simgate-User": owner}
        etag = None
        time.sleep(random.uniform(0, interval or 3))  # people open their pages at different moments
        while not stop.is_set():
            if mode == "long-poll":
                session.get(f"{api}/job/{job_id}/status", params={"wait": 25, "since": "running"}, headers=headers,
                            timeout=60)
            else:
                path = f"{api}/job/{job_id}/live" if mode == "page" else f"{api}/job/{job_id}/status"
                answer = session.get(path, timeout=60, headers={**headers, **({"If-None-Match": etag} if etag else {})})
                etag = answer.headers.get("ETag", etag)
            with counts.get_lock():
                counts.value += 1
            if interval:
                stop.wait(interval)

    threads = [threading.Thread(target=watcher, args=item, daemon=True) for item in watched.items()]
    for thread in threads:
        thread.start()
    ready.set()
    for thread in threads:
        thread.join()


def latencies(api: str, job_id: str, count: int) -> list[float]:
    session = requests.Session()
    times = []
    for _ in range(count):
        began = time.perf_counter()
        session.get(f"{api}/job/{job_id}", headers={"X-Simgate-User": READER}, timeout=60).raise_for_status()
        times.append(time.perf_counter() - began)
    return times


def p99(times: list[float]) -> float:
    return statistics.quantiles(times, n=100)[98]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.watchers", description=__doc__.split("\n\n")[0])
    parser.add_argument("--watchers", type=int, default=200)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--mode", choices=["page", "status", "long-poll"], default="page")
    args = parser.parse_args(argv)
    values = read_local_settings(SAMPLE_SETTINGS)["Values"]
    with tempfile.TemporaryDirectory(prefix="simgate-bench-") as root:
        with LocalStack(root=Path(root), values=values, slurm=False, persist=False) as stack:
            jobs = seed(stack, [READER] + [f"watcher-{i}" for i in range(args.watchers)])
            own = jobs.pop(READER)
            latencies(stack.api, own, 50)  # warm
            idle = latencies(stack.api, own, args.requests)
            context = multiprocessing.get_context("spawn")
            ready, stop, counts = context.Event(), context.Event(), context.Value("i", 0)
            watchers = context.Process(target=watch, args=(stack.api, jobs, args.mode, ready, stop, counts), daemon=True)
            watchers.start()
            ready.wait(60)
            time.sleep(max(INTERVALS.values()) * 2)  # every watcher polling
            before, began = counts.value, time.perf_counter()
            watched = latencies(stack.api, own, args.requests)
            rate = (counts.value - before) / (time.perf_counter() - began)
            stop.set()
            watchers.join(60)
    ratio = p99(watched) / p99(idle)
    how = {"long-poll": "long-polling its status with ?wait=25",
           "status": f"its status every {INTERVALS['status']:.0f} s with If-None-Match",
           "page": f"a live look every {INTERVALS['page']:.0f} s with If-None-Match, as the job page does"}[args.mode]
    print(f"\nwatchers: {args.watchers} users each watching a running job ({how}), {args.requests} reads of another job")
    print(f"  idle      GET /api/job/{{id}}  p50 {statistics.median(idle) * 1000:6.1f} ms   p99 {p99(idle) * 1000:6.1f} ms")
    print(f"  watched   GET /api/job/{{id}}  p50 {statistics.median(watched) * 1000:6.1f} ms   "
          f"p99 {p99(watched) * 1000:6.1f} ms   {ratio:.2f}x idle   [target <= 2x]")
    print(f"  watching  {rate:.0f} answers/s to the watchers while measured")
    print(f"  targets   {'met' if ratio <= 2 else 'NOT met'}")
    return 0 if ratio <= 2 else 1


if __name__ == "__main__":
    sys.exit(main())
