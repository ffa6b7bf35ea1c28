"""What a deep page of a list costs, against page 1 measured in the same run.

    python -m bench.deep_pages [--jobs 2500] [--per-page 50] [--rounds 9]

On a local stack of its own (Azurite in memory, the local Functions host), one user owns ``--jobs``
jobs. Each figure is the median over ``--rounds`` requests to ``GET /api/job`` through the host:

- page 1:      the first page;
- page N:      the last full page by number (``?page=N``), which skips the rows before it key-only;
- by tokens:   the same page reached the way a page by number cost before, a full page at a time
               following each continuation token (for comparison).

It prints the ratios; the target is page N <= 3x page 1.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests

from commands.local_settings import SAMPLE_SETTINGS, read_local_settings
from devstack.stack import LocalStack
from shared.adapters.job_store import TableJobRepository
from shared.adapters.storage import StorageClients
from shared.domain.jobs import Job, new_job_id

USER = "bench"
HEADERS = {"X-Simgate-User": USER}
START = datetime(2026, 1, 1, tzinfo=timezone.utc)


def seed(stack: LocalStack, count: int) -> None:
    jobs = TableJobRepository(StorageClients(stack.settings), stack.settings.jobs_table)

    def add(index: int) -> None:
        at = START + timedelta(seconds=index)
        jobs.add(Job(job_id=new_job_id(USER, at), owner=USER, title=f"Job {index}", case_id="heat-rod",
                     case_version=1, fields={"material": "copper"}, created=at, updated=at))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(add, range(count)))


def median_seconds(rounds: int, request) -> tuple[float, list]:
    times, answer = [], None
    for _ in range(rounds):
        began = time.perf_counter()
        answer = request()
        times.append(time.perf_counter() - began)
    return statistics.median(times), answer


def by_number(session: requests.Session, api: str, page: int, per_page: int) -> list[str]:
    answer = session.get(f"{api}/job", params={"page": page, "per_page": per_page}, headers=HEADERS, timeout=60)
    answer.raise_for_status()
    return [job["job_id"] for job in answer.json()]


def by_tokens(session: requests.Session, api: str, page: int, per_page: int) -> list[str]:
    token = None
    for _ in range(page):
        params = {"per_page": per_page, **({"continuation": token} if token else {})}
        answer = session.get(f"{api}/job", params=params, headers=HEADERS, timeout=60)
        answer.raise_for_status()
        token = answer.headers.get("X-Continuation-Token")
    return [job["job_id"] for job in answer.json()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.deep_pages", description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2500)
    parser.add_argument("--per-page", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args(argv)
    deep = args.jobs // args.per_page
    values = read_local_settings(SAMPLE_SETTINGS)["Values"]
    with tempfile.TemporaryDirectory(prefix="simgate-bench-") as root:
        with LocalStack(root=Path(root), values=values, slurm=False, persist=False) as stack:
            seed(stack, args.jobs)
            with requests.Session() as session:
                by_number(session, stack.api, deep, args.per_page)  # warm: connections, the signing key
                first, _ = median_seconds(args.rounds, lambda: by_number(session, stack.api, 1, args.per_page))
                numbered, page = median_seconds(args.rounds,
                                                lambda: by_number(session, stack.api, deep, args.per_page))
                followed, same = median_seconds(max(3, args.rounds // 3),
                                                lambda: by_tokens(session, stack.api, deep, args.per_page))
    ratio = numbered / first
    met = ratio <= 3 and page == same and len(page) == args.per_page
    print(f"\ndeep pages: {args.jobs} jobs of one user, {args.per_page} a page, median of {args.rounds}")
    print(f"  page 1                                   {first * 1000:7.1f} ms")
    print(f"  page {deep:<4} by number (key-only skip)     {numbered * 1000:7.1f} ms  {ratio:.2f}x page 1   "
          f"[target <= 3x]")
    print(f"  page {deep:<4} following tokens (before)     {followed * 1000:7.1f} ms  {followed / first:.1f}x page 1")
    print(f"  same jobs   {'yes' if page == same else 'NO'} (page by number == page by tokens)")
    print(f"  targets     {'met' if met else 'NOT met'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
