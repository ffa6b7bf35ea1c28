"""How live a live run is: many jobs printing at once, each followed through the API.

    python -m bench.live [--jobs 50] [--seconds 20] [--interval 0.2]

On a local stack of its own (Azurite in memory, sshd with the direct runner, the local Functions host),
``--jobs`` jobs run at once, each printing a line every ``--interval`` seconds for ``--seconds`` (all
starting to print together once every job runs); every line carries the time it was written. One follower per job (threads of a process of their own)
long-polls ``GET /api/job/{id}/log`` (as ``simgate logs -f`` does) and notes, for every line, when it
became readable. It prints:

- latency: from a line written on the simulator to the line readable through the API, p50 and p95
  (target p95 <= 2 s);
- agent requests: the live channel's requests per running job per minute while it prints, counted at
  the host (target <= 60); status reports are counted beside them;
- completeness: every line of every job read once, in order.

A page's own pace (<= 30 API requests a minute following one job) is asserted by the browser test
tests/browser/test_live.py, which counts the page's requests in Chromium.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import re
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from commands.local_settings import SAMPLE_SETTINGS, read_local_settings
from devstack.stack import LocalStack

ADMIN = {"X-Simgate-User": "bench", "X-Simgate-Roles": "simgate.admin"}
USER = {"X-Simgate-User": "bench"}
SCRIPT = """\
import time

count, interval = {{ count }}, {{ interval }}
began = max(time.time(), {{ begin_at }})
for i in range(1, count + 1):
    time.sleep(max(0.0, began + i * interval - time.time()))
    print(f"line {i} {time.time():.3f}", flush=True)
"""
CASE = {
    "id": "bench-live",
    "title": "Live benchmark",
    "summary": "Prints numbered, timed lines at a steady pace",
    "fields": [{"name": "count", "type": "integer", "min": 1, "max": 100000, "default": 100},
               {"name": "interval", "type": "number", "min": 0.01, "max": 10, "default": 0.2},
               {"name": "begin_at", "type": "number", "min": 0, "max": 1e11, "default": 0}],
    "scripts": {"lines.py": SCRIPT},
    "entry_point": "lines.py",
    "outputs": [],
    "resources": {"cores": 1, "memory_mb": 64, "wall_time_minutes": 30},
}
# The jobs start first and print together once all of them run: what starting costs is start_burst's
# business, and a burst of starts would blur what following costs.
START_ALLOWANCE, START_SECONDS_PER_JOB = 5.0, 0.2
LINE = re.compile(r"^line (\d+) (\d+\.\d+)$")
LIVE_REQUEST = re.compile(r'"(POST|PATCH) /api/job/([^/]+)/(live|status)')


class RequestCounter(logging.Handler):
    """The host's request log, counted: when each live channel post and status report of a job came."""

    def __init__(self) -> None:
        super().__init__()
        self.times: defaultdict[tuple[str, str], list[float]] = defaultdict(list)

    def emit(self, record: logging.LogRecord) -> None:  # called under the handler's own lock
        found = LIVE_REQUEST.search(record.getMessage())
        if found:
            self.times[(found.group(2), found.group(3))].append(record.created)

    def per_minute(self, job_id: str, since: float) -> float | None:
        """The job's live posts a minute from ``since`` (when it began printing) to its last."""
        times = [at for at in self.times[(job_id, "live")] if at >= since]
        return len(times) / (times[-1] - since) * 60 if times and times[-1] > since else None


def follow(api: str, job_id: str, count: int, deadline: float) -> tuple[list[float], list[int]]:
    """Long-poll the job's log to its end: the latency of each line, and the line numbers in the order read."""
    session = requests.Session()
    latencies, numbers, offset, pending = [], [], 0, ""
    while time.monotonic() < deadline:
        tail = session.get(f"{api}/job/{job_id}/log", headers=USER, timeout=60,
                           params={"offset": offset, "wait": 25}).json()
        seen = time.time()
        pending += tail["text"]
        *lines, pending = pending.split("\n")
        for line in lines:
            found = LINE.match(line)
            if found:
                numbers.append(int(found.group(1)))
                latencies.append(seen - float(found.group(2)))
        offset = tail["next_offset"]
        if tail["complete"] or len(numbers) >= count:
            break
    return latencies, numbers


def follow_all(api: str, job_ids: list[str], count: int, seconds: float) -> list[tuple[list[float], list[int]]]:
    """Every job followed by a thread of its own, in a process of its own (the readers are the API's
    clients, not part of the host)."""
    deadline = time.monotonic() + seconds
    with ThreadPoolExecutor(len(job_ids)) as pool:
        return list(pool.map(lambda job_id: follow(api, job_id, count, deadline), job_ids))


def run_job(api: str, count: int, interval: float, begin_at: float) -> str:
    job_id = requests.post(f"{api}/job", headers=USER, timeout=60, json={
        "case_id": CASE["id"], "job_title": "live bench",
        "fields": {"count": count, "interval": interval, "begin_at": begin_at}}).json()["job_id"]
    requests.post(f"{api}/job/{job_id}", headers=USER, timeout=60).raise_for_status()
    return job_id


def started_at(api: str, job_id: str) -> float:
    """When the job was recorded running (epoch seconds)."""
    from datetime import datetime

    history = requests.get(f"{api}/job/{job_id}", headers=USER, timeout=60).json()["history"]
    return next((datetime.fromisoformat(h["at"]).timestamp() for h in history if h["status"] == "running"), 0.0)


def percentile(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100)[p - 1] if len(values) > 1 else values[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.live", description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--interval", type=float, default=0.2)
    args = parser.parse_args(argv)
    count = int(args.seconds / args.interval)
    values = read_local_settings(SAMPLE_SETTINGS)["Values"]
    counter = RequestCounter()
    logging.getLogger("devstack.host").addHandler(counter)
    logging.getLogger("devstack.host").setLevel(logging.INFO)
    with tempfile.TemporaryDirectory(prefix="simgate-bench-") as root:
        with LocalStack(root=Path(root), values=values, slurm=False, persist=False,
                        simulator_options={"max_parallel_jobs": args.jobs + 2, "max_jobs_per_user": None,
                                           "workdir": f"{root}/jobs"}) as stack:
            api = stack.api
            requests.put(f"{api}/case/{CASE['id']}", headers=ADMIN, json=CASE, timeout=60).raise_for_status()
            begin_at = time.time() + START_ALLOWANCE + args.jobs * START_SECONDS_PER_JOB
            with ThreadPoolExecutor(args.jobs) as pool:
                job_ids = list(pool.map(lambda _: run_job(api, count, args.interval, begin_at), range(args.jobs)))
            with multiprocessing.get_context("spawn").Pool(1) as readers:
                followed = readers.apply(follow_all, (api, job_ids, count, args.seconds + 180))
            late = sum(1 for job_id in job_ids if started_at(api, job_id) > begin_at)
    latencies = [latency for job_latencies, _ in followed for latency in job_latencies]
    complete = sum(1 for _, numbers in followed if numbers == list(range(1, count + 1)))
    per_minute = [rate for rate in (counter.per_minute(job_id, begin_at) for job_id in job_ids) if rate is not None]
    reports = [len(counter.times[(job_id, "status")]) for job_id in job_ids]
    p50, p95 = statistics.median(latencies), percentile(latencies, 95)
    later = [lat[i] for lat, numbers in followed for i, n in enumerate(numbers) if n > count // 2]
    rate = max(per_minute) if per_minute else float("nan")
    met = p95 <= 2 and rate <= 60 and complete == args.jobs
    print(f"\nlive: {args.jobs} jobs at once, each printing a line every {args.interval:g} s for {args.seconds:g} s, "
          "each followed by a long-polling reader")
    print(f"  latency    written on the simulator -> readable through the API: p50 {p50:5.2f} s   "
          f"p95 {p95:5.2f} s   [target p95 <= 2 s]; after the starts (2nd half of the run): "
          f"p50 {statistics.median(later):4.2f} s  p95 {percentile(later, 95):4.2f} s")
    print(f"  channel    {statistics.mean(per_minute):5.1f} requests per running job per minute (most {rate:.1f})   "
          f"[target <= 60]; status reports per job: {statistics.mean(reports):.1f}")
    print(f"  complete   {complete} of {args.jobs} logs read whole, in order, each line once"
          + (f"; {late} jobs started running after the lines began" if late else ""))
    print(f"  targets    {'met' if met else 'NOT met'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
