"""The site governor on the real local stack (Azurite, sshd, the local host): licences and fair shares
hold across a burst of starts, a host killed mid-way leaks nothing, and offers say where a job would go."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import pytest
import requests

from devstack import PROJECT_ROOT
from devstack.processes import ManagedProcess, free_port, port_open, wait_until
from devstack.provision import provision
from shared.adapters.case_folders import read_case_folder
from shared.adapters.storage import StorageClients
from shared.config import Settings
from tests.e2e.helpers import assert_problem

pytestmark = pytest.mark.e2e

ADMIN = {"X-Simgate-User": "carol", "X-Simgate-Roles": "simgate.admin"}
RUNS = 30
DEADLINE = 600
# Counts its runs in the job's directory: a job run twice would show it.
COUNTED_CASE = {
    "title": "Counted solve", "summary": "Holds a solver licence for a moment and counts its runs",
    "fields": [{"name": "seconds", "type": "number", "min": 0, "max": 10, "default": 1}],
    "scripts": {"run.sh": "#!/bin/sh\nset -eu\necho run >> \"$SIMGATE_JOB_DIR/runs\"\nsleep {{ seconds }}\n"
                          "mkdir -p results && echo 'x,y' > results/out.csv\n"},
    "entry_point": "run.sh", "outputs": [{"pattern": "results/*.csv"}], "licences": {"solver": 1},
}


def user(name: str) -> dict[str, str]:
    return {"X-Simgate-User": name}


def call(base: str, method: str, path: str, headers: dict, **kwargs) -> requests.Response:
    response = requests.request(method, f"{base}/api/{path}", headers=headers, timeout=60, **kwargs)
    assert response.status_code < 400, f"{method} {path}: {response.status_code} {response.text}"
    return response


def publish(base: str, case_id: str, document: dict) -> None:
    call(base, "PUT", f"case/{case_id}", ADMIN, json={**document, "id": case_id})


def start_all(base: str, case_id: str, headers: dict, count: int, fields: dict) -> list[str]:
    """``count`` jobs created, then all run at once."""
    ids = [call(base, "POST", "job", headers, json={"case_id": case_id, "job_title": f"run {i}", "fields": fields}
                ).json()["job_id"] for i in range(count)]
    with ThreadPoolExecutor(10) as workers:
        list(workers.map(lambda job_id: call(base, "POST", f"job/{job_id}", headers), ids))
    return ids


def wait_until_ended(base: str, ids: list[str], headers: dict, timeout: float = DEADLINE) -> dict[str, dict]:
    deadline, jobs = time.monotonic() + timeout, {}
    for job_id in ids:
        while True:
            job = call(base, "GET", f"job/{job_id}", headers).json()
            if job["status"] in ("done", "failed", "cancelled"):
                jobs[job_id] = job
                break
            assert time.monotonic() < deadline, f"job {job_id} is still {job['status']}: {job['detail']}"
            call(base, "GET", f"job/{job_id}/status", headers, params={"wait": 5, "since": job["status"]})
    return jobs


def most_at_once(spans: list[tuple[datetime, datetime]]) -> int:
    events = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans], key=lambda e: (e[0], e[1]))
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak


def running_spans(jobs: dict[str, dict]) -> list[tuple[datetime, datetime]]:
    """From each job's own history: from its start on the simulator to its end."""
    spans = []
    for job in jobs.values():
        at = {h["status"]: datetime.fromisoformat(h["at"]) for h in job["history"]}
        spans.append((at.get("running") or at["queued"], at["done"]))
    return spans


def simulator_spans(workdir: Path, ids: list[str]) -> list[tuple[datetime, datetime]]:
    """From the agents' own records on the simulator: when each script started and ended."""
    spans = []
    for job_id in ids:
        state = json.loads((workdir / job_id / "state.json").read_text())
        spans.append((datetime.fromisoformat(state["started_at"]), datetime.fromisoformat(state["ended_at"])))
    return spans


def workdir_of(app_env: dict, simulator: str) -> Path:
    return Path(next(s["workdir"] for s in json.loads(app_env["SIMULATORS"]) if s["name"] == simulator))


def in_use(base: str, simulator: str) -> dict:
    sites = {site["name"]: site for site in call(base, "GET", "simulators", ADMIN).json()}
    return sites[simulator]


@pytest.mark.timeout(DEADLINE + 60)
def test_thirty_runs_of_the_licensed_demo_case_never_hold_more_than_its_two_licences(local_host, app_env):
    document = read_case_folder(PROJECT_ROOT / "cases" / "heat-rod")
    assert document["licences"] == {"solver": 1}
    for field in document["fields"]:
        if field["name"] == "run_seconds":
            field.update(default=1, max=2)
    publish(local_host.url, "licensed-rod", {**document, "simulators": ["test"]})
    alice = user(f"rods-{uuid.uuid4().hex[:6]}")
    ids = start_all(local_host.url, "licensed-rod", alice, RUNS, {"run_seconds": 1})
    jobs = wait_until_ended(local_host.url, ids, alice)
    assert [job["status"] for job in jobs.values()] == ["done"] * RUNS
    assert most_at_once(running_spans(jobs)) <= 2
    assert most_at_once(simulator_spans(workdir_of(app_env, "test"), ids)) <= 2
    waited = [job for job in jobs.values()
              if any("waiting for licence solver (2/2 in use" in h["reason"] for h in job["history"])]
    # most had to wait, and said why (those that arrived as a licence came free did not)
    assert len(waited) >= RUNS // 2, [job["history"] for job in jobs.values()][:3]
    wait_until(lambda: in_use(local_host.url, "test")["licences_in_use"].get("solver", 0) == 0, timeout=30,
               what="every solver licence to be released")


@pytest.mark.timeout(DEADLINE + 60)
def test_two_users_on_a_site_shared_per_user_both_make_progress_from_the_start(local_host):
    publish(local_host.url, "shared-solve", {**COUNTED_CASE, "licences": {}, "simulators": ["test-shared"]})
    alice, bob = user(f"alice-{uuid.uuid4().hex[:6]}"), user(f"bob-{uuid.uuid4().hex[:6]}")
    # runs long enough that Bob's are in line before Alice's first two end (starts reach the simulator at once)
    alices = start_all(local_host.url, "shared-solve", alice, 20, {"seconds": 3})
    bobs = start_all(local_host.url, "shared-solve", bob, 20, {"seconds": 3})
    jobs = {**wait_until_ended(local_host.url, alices, alice), **wait_until_ended(local_host.url, bobs, bob)}
    assert {job["status"] for job in jobs.values()} == {"done"}
    started = sorted(jobs.values(), key=lambda job: min(datetime.fromisoformat(h["at"]) for h in job["history"]
                                                        if h["status"] in ("queued", "running")))
    first_four = [job["owner"] for job in started[:4]]
    assert first_four.count(alice["X-Simgate-User"]) == 2 and first_four.count(bob["X-Simgate-User"]) == 2
    assert most_at_once(running_spans(jobs)) <= 4


def test_offers_list_every_site_a_case_may_use_count_history_and_refuse_a_bad_choice(local_host):
    case_id = f"offered-{uuid.uuid4().hex[:6]}"
    publish(local_host.url, case_id, {**COUNTED_CASE, "licences": {}, "simulators": ["test", "test-slurm"]})
    alice = user(f"offers-{uuid.uuid4().hex[:6]}")
    ran = start_all(local_host.url, case_id, alice, 2, {"seconds": 0})
    wait_until_ended(local_host.url, ran, alice)
    placed = {call(local_host.url, "GET", f"job/{job_id}", alice).json()["placement"] for job_id in ran}
    assert all("soonest of 2 available offers" in why for why in placed), placed
    draft = call(local_host.url, "POST", "job", alice, json={"case_id": case_id, "job_title": "next"}).json()["job_id"]
    offers = {o["simulator"]: o for o in call(local_host.url, "GET", f"job/{draft}/offers", alice).json()["offers"]}
    assert set(offers) == {"test", "test-slurm"} and all(o["available"] for o in offers.values())
    counted = sum(int(o["basis"].split()[2]) for o in offers.values() if o["basis"] != "no history")
    assert counted == 2
    for name, words in (("nope", "no simulator 'nope'"), ("test-shared", "does not run on test-shared")):
        problem = assert_problem(call_raw(local_host.url, "POST", f"job/{draft}", alice, json={"simulator": name}),
                                 422)
        assert problem["errors"][0]["field"] == "simulator" and words in problem["errors"][0]["message"]
    assert call(local_host.url, "GET", f"job/{draft}", alice).json()["status"] == "draft"


def test_an_unreachable_site_is_offered_as_unavailable_with_its_reason(local_host, app_env, tmp_path):
    dead_port = free_port()
    simulators = json.loads(app_env["SIMULATORS"])
    dead = {**simulators[0], "name": "gone", "port": dead_port, "licences": {}}
    with OwnHost(app_env, tmp_path, simulators=[simulators[0], dead]) as host:
        base = host.url
        publish(base, "anywhere", {**COUNTED_CASE, "licences": {}})
        draft = call(base, "POST", "job", user("offers"), json={"case_id": "anywhere", "job_title": "t"}).json()
        offers = {o["simulator"]: o for o in call(base, "GET", f"job/{draft['job_id']}/offers", user("offers")
                                                  ).json()["offers"]}
        assert offers["test"]["available"] and not offers["gone"]["available"]
        assert "gone" in offers["gone"]["reason"]


@pytest.mark.timeout(DEADLINE + 60)
def test_a_host_killed_mid_burst_leaks_no_grant_and_runs_every_job_once(app_env, tmp_path):
    with OwnHost(app_env, tmp_path) as host:
        base = host.url
        publish(base, "counted", {**COUNTED_CASE, "simulators": ["test"]})
        alice = user("killed")
        ids = start_all(base, "counted", alice, RUNS, {"seconds": 1})
        wait_until(lambda: sum(call(base, "GET", f"job/{i}", alice).json()["status"] == "done" for i in ids) >= 6,
                   timeout=DEADLINE, interval=0.5, what="a few jobs to be done")
        host.kill_and_restart()
        jobs = wait_until_ended(base, ids, alice)
        assert [job["status"] for job in jobs.values()] == ["done"] * RUNS
        workdir = workdir_of(app_env, "test")
        assert all((workdir / job_id / "runs").read_text() == "run\n" for job_id in ids)  # none ran twice
        assert most_at_once(simulator_spans(workdir, ids)) <= 2
        wait_until(lambda: in_use(base, "test")["running"] == 0, timeout=30, interval=0.5,
                   what="every grant to be released (one reconciler cycle)")
        assert in_use(base, "test")["licences_in_use"].get("solver", 0) == 0


def call_raw(base: str, method: str, path: str, headers: dict, **kwargs) -> requests.Response:
    return requests.request(method, f"{base}/api/{path}", headers=headers, timeout=60, **kwargs)


class OwnHost:
    """The local host as a process of its own (python -m devstack.serve) on its own tables, containers
    and queue, so that it can be killed with SIGKILL and started again on the same storage."""

    def __init__(self, app_env: dict, tmp_path: Path, simulators: list | None = None) -> None:
        suffix = uuid.uuid4().hex[:10]
        self.port = free_port()
        self.environ = {**os.environ, **app_env, "JOBS_TABLE": f"gjobs{suffix}", "CASES_TABLE": f"gcases{suffix}",
                        "JOBS_QUEUE": f"gjobs-{suffix}", "OUTPUTS_CONTAINER": f"gout-{suffix}",
                        "SCRIPTS_CONTAINER": f"gscripts-{suffix}",
                        "AGENT_CALLBACK_URL": f"http://127.0.0.1:{self.port}/api"}
        if simulators is not None:
            self.environ["SIMULATORS"] = json.dumps(simulators)
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp_path / "host.log"
        self.process: ManagedProcess | None = None

    def __enter__(self) -> "OwnHost":
        settings = Settings.from_environ(self.environ)
        provision(settings, StorageClients(settings))
        self._start()
        return self

    def __exit__(self, *exc_info) -> None:
        if self.process:
            self.process.stop()

    def _start(self) -> None:
        self.process = ManagedProcess("host", [sys.executable, "-m", "devstack.serve", "--port", str(self.port)],
                                      self.log, env=self.environ, cwd=PROJECT_ROOT)
        self.process.start(lambda: port_open(self.port), timeout=60)

    def kill_and_restart(self) -> None:
        os.killpg(self.process.proc.pid, signal.SIGKILL)
        self.process.proc.wait(timeout=10)
        wait_until(lambda: not port_open(self.port), timeout=10, what="the killed host's port to close")
        self._start()
