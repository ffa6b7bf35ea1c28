"""What a deep page of a list costs, against its floor measured in the same run.

    python -m bench.deep_pages [--jobs 2500] [--per-page 50] [--rounds 21]

Table storage cannot skip rows: to serve page N by number, something must read past the rows of the
pages before it, at most 1,000 a request. simgate reads them key-only (shared/adapters/table_paging.py),
then reads page N as it reads page 1. That is the floor: page 1 plus the key-only requests for the rows
before page N; no listing over Table storage does less. Remembering where pages start would beat it,
but a remembered position is wrong as soon as a job before it is added or deleted, on any instance of
the app, and Table storage has no count or change marker to tell cheaply whether it still holds
(checking costs the same scan). Keeping positions right would take a shared index written beside every
create, delete and status change of a job. A wrong page is worse than a slow one, so the target is set
from the floor instead.

On a local stack of its own (Azurite in memory, the local Functions host), one user owns ``--jobs``
jobs. Each of ``--rounds`` rounds times, in an order that rotates from round to round:

- page 1:           ``GET /api/job?page=1`` through the host;
- page N:           the last full page by number, ``?page=N``, through the host;
- key-only reads:   the requests for the rows before page N, timed directly against the table with the
                    listing's own query: key-only, 1,000 a request.

The figure checked is the median over the rounds of each round's page N / (page 1 + key-only reads),
so a busy moment of the machine weighs on both sides of the ratio. The target is page N <= 1.3x that
floor: what the app adds to the requests Table storage makes it do. Page N / page 1 is printed for
information only: Azurite evaluates every query over the whole table, so there a request of 1,000 keys
costs more than page 1 and the floor alone is about five times page 1.

For comparison it also times the same page reached a full page at a time, following each continuation
token (three walks, each with page 1 just before it), and checks that by number, by tokens and after
the floor's reads it is the same jobs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests
from azure.data.tables import TableClient

from commands.local_settings import SAMPLE_SETTINGS, read_local_settings
from devstack.stack import LocalStack
from shared.adapters.job_store import IDEMPOTENCY_PREFIX, TableJobRepository
from shared.adapters.storage import StorageClients
from shared.domain.jobs import Job, new_job_id, owner_partition

USER = "bench"
HEADERS = {"X-Simgate-User": USER}
START = datetime(2026, 1, 1, tzinfo=timezone.utc)
TABLE_MAX_ROWS = 1000  # the most rows Table storage returns in one request
TARGET_OVER_FLOOR = 1.3
# one owner's listing, as shared/adapters/job_store.py queries it (the same-jobs check confirms it)
LISTING = "PartitionKey eq @partition and RowKey lt @idempotency and owner eq @owner"
LISTING_PARAMETERS = {"partition": owner_partition(USER), "idempotency": IDEMPOTENCY_PREFIX, "owner": USER}


def seed(stack: LocalStack, count: int) -> None:
    jobs = TableJobRepository(StorageClients(stack.settings), stack.settings.jobs_table)

    def add(index: int) -> None:
        at = START + timedelta(seconds=index)
        jobs.add(Job(job_id=new_job_id(USER, at), owner=USER, title=f"Job {index}", case_id="heat-rod",
                     case_version=1, fields={"material": "copper"}, created=at, updated=at))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(add, range(count)))


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


def key_only_reads(table: TableClient, skip: int) -> tuple[dict[str, str] | None, list[int]]:
    """The position after the first ``skip`` rows of the listing, and the rows each request read."""
    position, counts = None, []
    while sum(counts) < skip:
        pages = table.query_entities(LISTING, parameters=LISTING_PARAMETERS, select=["RowKey"],
                                     results_per_page=min(TABLE_MAX_ROWS, skip - sum(counts))
                                     ).by_page(continuation_token=position)
        counts.append(sum(1 for _ in next(pages, [])))
        position = pages.continuation_token
        if position is None:
            break
    return position, counts


def page_after(table: TableClient, position: dict[str, str] | None, per_page: int) -> list[str]:
    pages = table.query_entities(LISTING, parameters=LISTING_PARAMETERS, select=["RowKey"],
                                 results_per_page=per_page).by_page(continuation_token=position)
    return [entity["RowKey"] for entity in next(pages, [])]


def seconds(request: Callable[[], object]) -> float:
    began = time.perf_counter()
    request()
    return time.perf_counter() - began


def interleaved(rounds: int, measures: dict[str, Callable[[], object]]) -> list[dict[str, float]]:
    """Each measure once a round, starting one later each round, so none always runs first or last."""
    names = list(measures)
    timings = []
    for index in range(rounds):
        order = names[index % len(names):] + names[:index % len(names)]
        timings.append({name: seconds(measures[name]) for name in order})
    return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.deep_pages", description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2500)
    parser.add_argument("--per-page", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=21)
    args = parser.parse_args(argv)
    deep = args.jobs // args.per_page
    skip = (deep - 1) * args.per_page
    values = read_local_settings(SAMPLE_SETTINGS)["Values"]
    with tempfile.TemporaryDirectory(prefix="simgate-bench-") as root:
        with LocalStack(root=Path(root), values=values, slurm=False, persist=False) as stack:
            seed(stack, args.jobs)
            table = StorageClients(stack.settings).table(stack.settings.jobs_table)
            with requests.Session() as session:
                measures = {
                    "first": lambda: by_number(session, stack.api, 1, args.per_page),
                    "deep": lambda: by_number(session, stack.api, deep, args.per_page),
                    "reads": lambda: key_only_reads(table, skip),
                }
                interleaved(1, measures)  # warm: connections, the signing key, the clients' pipelines
                timings = interleaved(args.rounds, measures)
                walks = interleaved(3, {"first": measures["first"],
                                        "tokens": lambda: by_tokens(session, stack.api, deep, args.per_page)})
                page = by_number(session, stack.api, deep, args.per_page)
                same = by_tokens(session, stack.api, deep, args.per_page)
                position, counts = key_only_reads(table, skip)
                after_reads = page_after(table, position, args.per_page)

    def median(name: str) -> float:
        return statistics.median(round_[name] for round_ in timings)

    def per_round(ratio: Callable[[dict[str, float]], float]) -> float:
        return statistics.median(ratio(round_) for round_ in timings)

    first, numbered, reads = median("first"), median("deep"), median("reads")
    floor_over_first = per_round(lambda round_: (round_["first"] + round_["reads"]) / round_["first"])
    deep_over_first = per_round(lambda round_: round_["deep"] / round_["first"])
    over_floor = per_round(lambda round_: round_["deep"] / (round_["first"] + round_["reads"]))
    followed = statistics.median(walk["tokens"] for walk in walks)
    followed_over_first = statistics.median(walk["tokens"] / walk["first"] for walk in walks)
    same_jobs = page == same == after_reads and len(page) == args.per_page
    met = over_floor <= TARGET_OVER_FLOOR and same_jobs

    def line(label: str, took: float, note: str = "") -> None:
        print(f"  {label:<44} {took * 1000:7.1f} ms  {note}".rstrip())

    print(f"\ndeep pages: {args.jobs} jobs of one user, {args.per_page} a page; medians of {args.rounds} "
          f"interleaved rounds (ratios: medians of each round's)")
    line("page 1", first)
    line(f"key-only reads before page {deep} (direct)", reads,
         f"{len(counts)} requests: {'+'.join(map(str, counts))} keys of the {skip} rows before it, "
         f"at most {TABLE_MAX_ROWS} a request")
    line(f"floor of page {deep} = page 1 + key-only reads", first + reads, f"{floor_over_first:4.1f}x page 1")
    line(f"page {deep} by number", numbered,
         f"{deep_over_first:4.1f}x page 1   {over_floor:.2f}x floor   [target <= {TARGET_OVER_FLOOR}x floor]")
    line(f"page {deep} following tokens (comparison)", followed, f"{followed_over_first:4.1f}x page 1")
    print(f"  same jobs   {'yes' if same_jobs else 'NO'} (by number == by tokens == after the floor's reads)")
    print(f"  targets     {'met' if met else 'NOT met'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
