"""Whether notifications slow the API: runs asked for while a thousand events go to a slow receiver.

    python -m bench.notify [--events 1000] [--runs 600] [--rounds 4] [--receiver-seconds 1]

On a local stack of its own (Azurite in memory, sshd with the direct runner, the local Functions host
and its notifications queue), one user runs ``--runs`` drafts of a case, one ``POST /api/job/{id}``
after another (each draft made just before and cancelled just after, untimed). The site takes one job
at a time and the first one holds it for the whole benchmark, so every run is submitted and waits in
the site's line until it is cancelled: the runs cost the API and the governor the same in both phases,
and nothing else runs beside them.

- reference: with the user's subscription paused (as good as none: nothing is made or sent for it);
- notifying: the same with it enabled: every event goes to a loopback receiver that takes
  ``--receiver-seconds`` per request, with ``--events`` events of the user's earlier jobs queued for
  it (the notifier sends from its own queue; the runs' own events join the line).

The two alternate in ``--rounds`` rounds, so that the machine's drift falls on both alike.

It prints the p50 and p99 latencies and their ratio (target: notifying p99 <= 1.2x reference p99),
and how many events the receiver got while the runs were measured.
"""

from __future__ import annotations

import argparse
import http.server
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests

from commands.local_settings import SAMPLE_SETTINGS, read_local_settings
from devstack.stack import LocalStack
from shared.adapters.job_queue import StorageJobQueue
from shared.adapters.job_store import TableJobRepository
from shared.adapters.notification_store import TableNotificationStore
from shared.adapters.storage import StorageClients
from shared.domain.jobs import Job, JobStatus, Transition, new_job_id
from shared.domain.messages import NotifyMessage

ADMIN = {"X-Simgate-User": "bench", "X-Simgate-Roles": "simgate.admin"}
USER = {"X-Simgate-User": "bench"}
CASE = {
    "id": "bench-notify",
    "title": "Notification benchmark",
    "summary": "Holds its site",
    "fields": [{"name": "label", "type": "string", "default": "x", "max_length": 20}],
    "scripts": {"run.sh": "#!/bin/sh\nsleep 3600\n"},
    "entry_point": "run.sh",
    "outputs": [],
    "resources": {"cores": 1, "memory_mb": 64, "wall_time_minutes": 5},
}
WALK = [JobStatus.SUBMITTED, JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.CLEANUP, JobStatus.DONE]
EVENTS_PER_JOB = len(WALK) + 1  # a status_changed for each step, and job.finished
PACE = 0.05  # seconds between two runs: a busy user, not a load test


class SlowReceiver:
    """A loopback receiver that takes ``seconds`` to answer each request, and counts them."""

    def __init__(self, seconds: float) -> None:
        receiver = self
        self.count = 0
        self._lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(seconds)  # the receiver's own slowness is what is measured against
                with receiver._lock:
                    receiver.count += 1
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def timed_runs(api: str, count: int) -> list[float]:
    session = requests.Session()
    times = []
    for _ in range(count):
        job_id = session.post(f"{api}/job", headers=USER, json={"case_id": CASE["id"], "job_title": "run"},
                              timeout=60).json()["job_id"]
        began = time.perf_counter()
        session.post(f"{api}/job/{job_id}", headers=USER, timeout=60).raise_for_status()
        times.append(time.perf_counter() - began)
        # cancelled again (untimed), so that the site's line stays as short in both phases
        session.post(f"{api}/job/{job_id}/cancel", headers=USER, timeout=60).raise_for_status()
        time.sleep(PACE)
    return times


def queue_backlog(stack: LocalStack, events: int) -> int:
    """Jobs of the user that walked to done just now (written straight into the table, as many as make
    ``events`` events), each announced to the notifier as the app's own writes are; how many."""
    settings = stack.settings
    clients = StorageClients(settings)
    jobs = TableJobRepository(clients, settings.jobs_table)
    queue = StorageJobQueue(clients, settings.notify_queue)
    now = datetime.now(timezone.utc)

    def add(index: int) -> None:
        at = now + timedelta(milliseconds=index)
        history = [Transition(status=JobStatus.DRAFT, at=at, source="api:bench")]
        history += [Transition(status=s, at=at + timedelta(seconds=i + 1), source="agent") for i, s in enumerate(WALK)]
        job = Job(job_id=new_job_id("bench", at), owner="bench", title=f"earlier {index}", case_id=CASE["id"],
                  case_version=1, fields={"label": "x"}, created=at, updated=at + timedelta(seconds=len(WALK)),
                  status=JobStatus.DONE, history=history, progress=1.0)
        jobs.add(job)
        queue.send(NotifyMessage.notify(job.job_id))

    count = -(-events // EVENTS_PER_JOB)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(add, range(count)))
    return count


def wait_for_streams(stack: LocalStack, subscription: str, count: int, seconds: float = 120) -> None:
    """Until the notifier has made the events of ``count`` jobs for the subscription (a stream each)."""
    store = TableNotificationStore(StorageClients(stack.settings), stack.settings.jobs_table)
    deadline = time.monotonic() + seconds
    while len(store.streams(subscription)) < count:
        if time.monotonic() > deadline:
            raise SystemExit(f"the notifier made the events of fewer than {count} jobs in {seconds:.0f} s")
        time.sleep(0.5)


def switch(api: str, subscription: str, *, enabled: bool) -> None:
    """Pause the subscription (as good as none: nothing is made or sent for it) or resume it (what
    waited is sent again)."""
    requests.patch(f"{api}/subscription/{subscription}", headers=USER, json={"enabled": enabled},
                   timeout=60).raise_for_status()


def p99(times: list[float]) -> float:
    return statistics.quantiles(times, n=100)[98]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.notify", description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--receiver-seconds", type=float, default=1.0)
    args = parser.parse_args(argv)
    values = {**read_local_settings(SAMPLE_SETTINGS)["Values"], "NOTIFY_ALLOW_LOOPBACK_HTTP": "true"}
    receiver = SlowReceiver(args.receiver_seconds)
    try:
        with tempfile.TemporaryDirectory(prefix="simgate-bench-") as root:
            with LocalStack(root=Path(root), values=values, slurm=False, persist=False,
                            simulator_options={"max_parallel_jobs": 1, "max_jobs_per_user": None,
                                               "workdir": f"{root}/jobs"}) as stack:
                api = stack.api
                requests.put(f"{api}/case/{CASE['id']}", headers=ADMIN, json=CASE, timeout=60).raise_for_status()
                timed_runs(api, 30)  # warm
                subscription = requests.post(f"{api}/subscription", headers=USER, timeout=60, json={
                    "url": receiver.url, "events": ["job.status_changed", "job.finished", "job.progress"],
                    "description": "bench"}).json()["id"]
                jobs = queue_backlog(stack, args.events)
                wait_for_streams(stack, subscription, jobs)  # every event made (and the first ones sent)
                switch(api, subscription, enabled=False)  # what is left of the backlog waits
                reference: list[float] = []
                notifying: list[float] = []
                delivered, seconds = 0, 0.0
                for _ in range(args.rounds):  # interleaved: the machine's drift falls on both alike
                    reference += timed_runs(api, args.runs // args.rounds)
                    switch(api, subscription, enabled=True)
                    before, began = receiver.count, time.perf_counter()
                    notifying += timed_runs(api, args.runs // args.rounds)
                    delivered += receiver.count - before
                    seconds += time.perf_counter() - began
                    switch(api, subscription, enabled=False)
    finally:
        receiver.close()
    ratio = p99(notifying) / p99(reference)
    met = ratio <= 1.2 and delivered > 0
    print(f"\nnotify: {args.runs} runs (POST /api/job/{{id}}) by one user, {PACE * 1000:.0f} ms apart, in "
          f"{args.rounds} rounds of each")
    print(f"  reference   subscription paused        p50 {statistics.median(reference) * 1000:6.1f} ms   "
          f"p99 {p99(reference) * 1000:6.1f} ms")
    print(f"  notifying   {args.events} events queued      p50 {statistics.median(notifying) * 1000:6.1f} ms   "
          f"p99 {p99(notifying) * 1000:6.1f} ms   {ratio:.2f}x reference   [target <= 1.2x]")
    print(f"  receiver    {args.receiver_seconds:g} s a request; {delivered} events delivered in the {seconds:.0f} s "
          f"measured ({delivered / seconds:.1f}/s), from {jobs} earlier jobs and the runs")
    print(f"  targets     {'met' if met else 'NOT met'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
