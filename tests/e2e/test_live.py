"""Live runs over HTTP against the local host, real sshd (direct and Slurm) and Azurite: a script that
prints numbered lines for 20 s is followed through /log while it runs, every line in order and once;
progress moves forward; a live CSV is partial while running and final at done; the final log equals
the script's output byte for byte; and with the agent cut off from simgate for 30 s mid-run, the log
still ends complete and in order."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
import requests

from tests.e2e.helpers import ALICE, assert_problem, wait_for_status
from tests.factories import case_document

pytestmark = pytest.mark.e2e

ADMIN = {"X-Simgate-User": "carol", "X-Simgate-Roles": "simgate.admin"}
BOB = {"X-Simgate-User": "bob"}
LINES_SCRIPT = """\
import os, sys, time

count, pause = {{ lines }}, {{ pause }}
os.makedirs("results", exist_ok=True)
series = os.environ.get("SIMGATE_SERIES_FILE")
if series:
    with open(series, "a") as handle:
        handle.write("step,residual\\n")
for i in range(1, count + 1):
    print(f"line {i} of {count}", flush=True)
    if i % 10 == 0:
        print(f"warning {i}", file=sys.stderr, flush=True)
    with open("progress.tmp", "w") as handle:
        handle.write(f"{i / count:.3f} line {i} of {count}")
    os.replace("progress.tmp", os.environ["SIMGATE_PROGRESS_FILE"])
    if series:
        with open(series, "a") as handle:
            handle.write(f"{i},{1.0 / i}\\n")
    with open("results/live.tmp", "w") as handle:
        handle.write("step,value\\n" + "".join(f"{j},{j * j}\\n" for j in range(1, i + 1)))
    os.replace("results/live.tmp", "results/live.csv")
    time.sleep(pause)
"""


def expected_output(count: int) -> str:
    return "".join(f"line {i} of {count}\n" for i in range(1, count + 1))


def live_case(local_host, simulator: str) -> str:
    case_id = f"live-{simulator}-{uuid.uuid4().hex[:6]}"
    document = case_document(
        case_id, entry_point="lines.py", scripts={"lines.py": LINES_SCRIPT}, simulators=[simulator],
        fields=[{"name": "lines", "type": "integer", "min": 1, "max": 10000, "default": 100},
                {"name": "pause", "type": "number", "min": 0, "max": 5, "default": 0.2}],
        outputs=[{"pattern": "results/live.csv", "description": "grows as the run goes", "live": True}])
    response = requests.put(f"{local_host.url}/api/case/{case_id}", headers=ADMIN, json=document, timeout=30)
    assert response.status_code == 201, response.text
    return case_id


def start(local_host, case_id: str, **fields) -> str:
    job_id = requests.post(f"{local_host.url}/api/job", headers=ALICE, timeout=30, json={
        "case_id": case_id, "job_title": "live", "fields": fields}).json()["job_id"]
    assert requests.post(f"{local_host.url}/api/job/{job_id}", headers=ALICE, timeout=30).status_code == 202
    return job_id


class Follower:
    """Follows a job the way a person would while it runs: the log tail (long-polled), its status
    and progress, and its outputs, noting what was seen while it was still running."""

    def __init__(self, url: str, job_id: str) -> None:
        self.url, self.job_id = url, job_id
        self.text = ""
        self.lines_while_running = 0
        self.progress: list[float] = []
        self.partial_seen = False
        self.offsets: list[tuple[int, int]] = []

    def log(self, deadline: float) -> dict:
        offset = 0
        while time.monotonic() < deadline:
            tail = requests.get(f"{self.url}/api/job/{self.job_id}/log", headers=ALICE, timeout=60,
                                params={"stream": "stdout", "offset": offset, "wait": 5}).json()
            assert tail["offset"] == offset, tail  # nothing skipped: the window holds the whole of this log
            self.offsets.append((tail["offset"], tail["next_offset"]))
            self.text += tail["text"]
            offset = tail["next_offset"]
            if tail["complete"]:
                return tail
            status = requests.get(f"{self.url}/api/job/{self.job_id}/status", headers=ALICE, timeout=30).json()
            if status["status"] in ("queued", "running"):  # a closed site's job may stay queued to the end
                self.lines_while_running = self.text.count("\n")
                if status["progress"] is not None:
                    self.progress.append(status["progress"])
                outputs = requests.get(f"{self.url}/api/job/{self.job_id}/output", headers=ALICE, timeout=30).json()
                self.partial_seen |= any(o["name"] == "results/live.csv" and o["state"] == "partial"
                                         and o["taken_at"] for o in outputs)
        raise AssertionError(f"the log of job {self.job_id} was not complete in time: {self.text[-200:]!r}")


def download(local_host, job_id: str, output: dict, azurite) -> bytes:
    link = requests.get(f"{local_host.url}/api/job/{job_id}/output/{output['output_id']}", headers=ALICE,
                        timeout=30).json()
    return requests.get(link["url"], verify=str(azurite.ca_bundle), timeout=30).content


@pytest.mark.parametrize("simulator", ["test", "test-slurm"])
def test_a_running_job_is_followed_line_by_line_and_ends_with_its_whole_log(local_host, azurite, simulator):
    case_id = live_case(local_host, simulator)
    job_id = start(local_host, case_id, lines=100, pause=0.2)  # 20 s
    follower = Follower(local_host.url, job_id)
    last = follower.log(time.monotonic() + 180)

    assert follower.text == expected_output(100)  # every line, in order, once
    assert last["complete"] and last["truncated_before"] == 0
    assert follower.lines_while_running >= 30, "lines became readable only at the end"
    assert follower.progress and follower.progress == sorted(follower.progress) and follower.progress[-1] > 0
    assert follower.partial_seen, "the live CSV was never listed as partial while the job ran"

    job = wait_for_status(local_host, job_id, "done")
    outputs = {o["name"]: o for o in requests.get(f"{local_host.url}/api/job/{job_id}/output", headers=ALICE,
                                                   timeout=30).json()}
    assert outputs["results/live.csv"]["state"] == "final" and outputs["results/live.csv"]["md5"]
    assert all(o["state"] == "final" for o in outputs.values()), outputs
    assert download(local_host, job_id, outputs["logs/stdout.log"], azurite) == expected_output(100).encode()
    assert download(local_host, job_id, outputs["results/live.csv"], azurite).count(b"\n") == 101
    assert job["progress"] == 1.0

    stderr = requests.get(f"{local_host.url}/api/job/{job_id}/log", headers=ALICE, timeout=30,
                          params={"stream": "stderr"}).json()
    assert stderr["text"] == "".join(f"warning {i}\n" for i in range(10, 101, 10)) and stderr["complete"]
    look = requests.get(f"{local_host.url}/api/job/{job_id}/live", headers=ALICE, timeout=30)
    assert look.status_code == 200 and look.json()["series"]["text"].startswith("step,residual\n1,1.0\n")
    assert requests.get(f"{local_host.url}/api/job/{job_id}/live", timeout=30,
                        headers={**ALICE, "If-None-Match": look.headers["ETag"]}).status_code == 304


def test_with_simgate_unreachable_for_30_s_mid_run_the_log_still_ends_complete_and_in_order(local_host):
    case_id = live_case(local_host, "test")
    job_id = start(local_host, case_id, lines=200, pause=0.25)  # 50 s
    wait_for_status(local_host, job_id, "running")
    follower = Follower(local_host.url, job_id)
    outage = threading.Thread(target=cut_off, args=(local_host, follower, 30))
    outage.start()
    try:
        follower.log(time.monotonic() + 240)
    finally:
        outage.join()
    assert follower.text == expected_output(200)
    assert wait_for_status(local_host, job_id, "done")["status"] == "done"


def cut_off(local_host, follower: Follower, seconds: float) -> None:
    """Once the follower has read some lines, cut the agents off from simgate for ``seconds``."""
    deadline = time.monotonic() + 60
    while follower.text.count("\n") < 20 and time.monotonic() < deadline:
        time.sleep(0.2)
    local_host.agent_gate.shut()
    try:
        time.sleep(seconds)  # the outage itself: a length of time, not a condition
    finally:
        local_host.agent_gate.open()


def test_bad_log_requests_are_refused_and_someone_elses_log_is_not_found(local_host):
    case_id = live_case(local_host, "test")
    job_id = start(local_host, case_id, lines=3, pause=0)
    base = f"{local_host.url}/api/job/{job_id}/log"
    for params in ({"offset": -1}, {"offset": "x"}, {"stream": "series"}, {"stream": "stdin"}, {"wait": 26}):
        assert_problem(requests.get(base, params=params, headers=ALICE, timeout=30), 400)
    assert_problem(requests.get(base, headers=BOB, timeout=30), 404)
    assert_problem(requests.get(f"{local_host.url}/api/job/{job_id}/live", headers=BOB, timeout=30), 404)


def test_on_a_site_whose_nodes_cannot_call_out_a_followed_job_is_pulled_and_settled_over_ssh(local_host, azurite):
    """The closed site's jobs get no callback address at all: the log tail and progress come from
    pulls over SSH while someone follows, and the reconciler settles the job at the end."""
    case_id = live_case(local_host, "test-slurm-closed")
    job_id = start(local_host, case_id, lines=60, pause=0.25)  # 15 s
    follower = Follower(local_host.url, job_id)
    follower.log(time.monotonic() + 240)
    assert follower.text == expected_output(60)
    assert follower.lines_while_running >= 10, "nothing was pulled while the job ran"
    assert follower.progress and follower.progress == sorted(follower.progress)
    job = wait_for_status(local_host, job_id, "done", timeout=120)
    assert all(h["source"] != "agent" for h in job["history"]), job["history"]  # no call came from the node
    assert "running" in [h["status"] for h in job["history"]], job["history"]
    outputs = {o["name"]: o for o in requests.get(f"{local_host.url}/api/job/{job_id}/output", headers=ALICE,
                                                   timeout=30).json()}
    assert download(local_host, job_id, outputs["logs/stdout.log"], azurite) == expected_output(60).encode()


BIG_LOG_SCRIPT = """\
import sys, time

line = "x" * 99 + "\\n"
for i in range({{ megabytes }} * 10486):
    sys.stdout.write(line)
sys.stdout.flush()
time.sleep({{ linger }})
"""


def test_a_log_larger_than_the_window_is_tailed_from_the_window_and_sealed_whole(local_host, azurite):
    """A script writing 20 MB at once: the agent sends the last window, the tail says what it no longer
    has, and the sealed log (and the tail once the job is done) is the whole of it."""
    case_id = f"big-log-{uuid.uuid4().hex[:6]}"
    document = case_document(case_id, entry_point="big.py", scripts={"big.py": BIG_LOG_SCRIPT}, simulators=["test"],
                             fields=[{"name": "megabytes", "type": "integer", "min": 1, "max": 200, "default": 20},
                                     {"name": "linger", "type": "number", "min": 0, "max": 60, "default": 8}],
                             outputs=[])
    assert requests.put(f"{local_host.url}/api/case/{case_id}", headers=ADMIN, json=document,
                        timeout=30).status_code == 201
    job_id = start(local_host, case_id)
    expected_size = 20 * 10486 * 100
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        tail = requests.get(f"{local_host.url}/api/job/{job_id}/log", headers=ALICE, timeout=60,
                            params={"offset": 0, "wait": 5}).json()
        if tail["truncated_before"]:
            break
    assert tail["truncated_before"] > 0 and tail["offset"] == tail["truncated_before"]  # the window, said so
    assert expected_size - tail["truncated_before"] <= 9 * 1024 * 1024
    assert len(tail["text"].encode()) <= 64 * 1024 and tail["text"].startswith("x")
    job = wait_for_status(local_host, job_id, "done", timeout=180)
    (log,) = [o for o in requests.get(f"{local_host.url}/api/job/{job_id}/output", headers=ALICE,
                                      timeout=30).json() if o["name"] == "logs/stdout.log"]
    assert log["size"] == expected_size and job["status"] == "done"
    whole = requests.get(f"{local_host.url}/api/job/{job_id}/log", headers=ALICE, timeout=30,
                         params={"offset": 0}).json()
    assert (whole["offset"], whole["truncated_before"], whole["next_offset"]) == (0, 0, 64 * 1024)
    end = requests.get(f"{local_host.url}/api/job/{job_id}/log", headers=ALICE, timeout=30,
                       params={"offset": expected_size - 100}).json()
    assert end["text"] == "x" * 99 + "\n" and end["complete"]
