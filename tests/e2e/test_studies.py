"""Sweeps, previews and comparisons on the real local stack (Azurite, sshd, the local host): a 3 x 4 grid
of the smoothie case runs to done, is counted, compared and was previewed byte for byte; a create sent
twice, or cut by a host killed with SIGKILL and sent again, leaves exactly its members, each run once."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import pytest
import requests

from devstack import PROJECT_ROOT
from shared.adapters.case_folders import read_case_folder
from tests.e2e.helpers import assert_problem
from tests.e2e.test_governor import COUNTED_CASE, OwnHost, call, call_raw, publish, user, workdir_of

pytestmark = pytest.mark.e2e

DEADLINE = 300
GRID = {"speed_rpm": [4000, 8000, 12000], "duration_s": [10, 20, 30, 40]}


def wait_for_sweep(base: str, sweep_id: str, headers: dict, state: str = "finished") -> dict:
    deadline = time.monotonic() + DEADLINE
    while True:
        sweep = call(base, "GET", f"sweep/{sweep_id}", headers).json()
        if sweep["state"] == state:
            return sweep
        assert time.monotonic() < deadline, f"sweep {sweep_id} is {sweep['state']}: {sweep['counts']}"
        running = next((m for m in sweep["members"] if m["status"] not in ("done", "failed", "cancelled")), None)
        if running:  # wake when one of them moves on
            call(base, "GET", f"job/{running['job_id']}/status", headers, params={"wait": 5,
                                                                                   "since": running["status"]})
        else:
            time.sleep(0.2)


@pytest.fixture(scope="module")
def smoothie(local_host) -> str:
    """The demo smoothie case, on the direct simulator only (its job directories are read below)."""
    document = read_case_folder(PROJECT_ROOT / "cases" / "smoothie")
    publish(local_host.url, "sweep-smoothie", {**document, "simulators": ["test"]})
    return "sweep-smoothie"


@pytest.mark.timeout(DEADLINE + 60)
def test_a_grid_sweep_runs_to_done_is_counted_compared_and_ran_what_was_previewed(local_host, app_env, smoothie):
    base, alice = local_host.url, user(f"sweeper-{uuid.uuid4().hex[:6]}")
    plan = {"case_id": smoothie, "title": "Grid", "fields": {"fruit_mix": "kale-apple"}, "vary": GRID}
    preview = call(base, "POST", "preview", alice, json=plan).json()
    assert preview["runs"] == 12 and preview["valid"] and len(preview["members"]) == 12
    assert preview["quotes"][0]["simulator"] == "test" and preview["quotes"][0]["runs"] == 12
    assert call(base, "GET", "job", alice).json() == []  # a preview writes nothing

    key = {"Idempotency-Key": uuid.uuid4().hex}
    created = call(base, "POST", "sweep", {**alice, **key}, json={**plan, "run": True})
    assert created.status_code == 201 and created.json()["complete"]
    again = call(base, "POST", "sweep", {**alice, **key}, json={**plan, "run": True})
    assert again.headers.get("Idempotent-Replayed") == "true" and again.json() == created.json()
    sweep_id, ids = created.json()["sweep_id"], created.json()["job_ids"]

    finished = wait_for_sweep(base, sweep_id, alice)
    assert finished["counts"] == {"done": 12} and finished["progress"] == 1.0 and finished["total"] == 12
    assert [m["job_id"] for m in finished["members"]] == ids
    assert finished["members"][4]["values"] == {"speed_rpm": 8000, "duration_s": 10.0}
    assert "homogeneity" in str(finished["members"][0]["outputs"])
    listed = call(base, "GET", "job", alice, params={"sweep_id": sweep_id, "per_page": 50}).json()
    assert sorted(j["job_id"] for j in listed) == sorted(ids) and {j["sweep_id"] for j in listed} == {sweep_id}
    assert len(call(base, "GET", "job", alice, params={"per_page": 50}).json()) == 12  # never a duplicate

    compared = call(base, "GET", "compare", alice, params=[("job", ids[0]), ("job", ids[1]), ("job", ids[4])]).json()
    assert {f["name"] for f in compared["fields"] if f["differs"]} == {"speed_rpm", "duration_s"}
    assert {o["name"] for o in compared["outputs"]} >= {"results/homogeneity.csv", "results/summary.json"}
    columns = [c for c in compared["columns"] if c["output"] == "results/homogeneity.csv"]
    assert columns and all(len(c["stats"]) == 3 and all(s and s["count"] > 0 for s in c["stats"]) for c in columns)
    assert len(call(base, "GET", "compare", alice, params={"sweep_id": sweep_id}).json()["jobs"]) == 12

    # what ran is byte for byte what was previewed, before the sweep existed and for the job itself
    run_dir = workdir_of(app_env, "test") / ids[0] / "run"
    job_preview = call(base, "POST", f"job/{ids[0]}/preview", alice).json()["rendered"][0]["scripts"]
    assert set(job_preview) == {"run.sh", "smoothie.py"}
    ran = {name: (run_dir / name).read_bytes() for name in job_preview}
    assert {name: text.encode() for name, text in job_preview.items()} == ran
    sample = preview["rendered"][0]["scripts"]
    assert {name: text.encode() for name, text in sample.items()} == ran  # the smoothie's scripts name no job id


def test_bad_sweeps_name_each_problem_and_write_nothing(local_host, smoothie):
    base, bob = local_host.url, user(f"bad-{uuid.uuid4().hex[:6]}")

    def refused(body: dict, status: int = 422) -> list[str]:
        problem = assert_problem(call_raw(base, "POST", "sweep", bob, json={"case_id": smoothie, "title": "t",
                                                                             **body}), status)
        return [e["field"] for e in problem["errors"]]

    assert refused({"vary": {"speed_rpm": [4000, 90000], "duration_s": [1]}}) == ["vary.speed_rpm[1]",
                                                                                 "vary.duration_s[0]"]
    assert refused({"vary": {"blade": [1]}}) == ["vary.blade"]
    assert refused({"vary": {"speed_rpm": list(range(1000, 2001)), "duration_s": [10]}}) == ["vary"]
    assert refused({"vary": {"speed_rpm": [4000, 8000], "duration_s": [10]}, "mode": "zip"}) == ["vary"]
    assert refused({"table": "speed_rpm,duration_s\n4000,10\nfast,20\n4000\n"}) == ["rows[3]"]
    assert refused({"table": "speed_rpm,duration_s\n4000,10\nfast,20\n"}) == ["rows[2].speed_rpm"]
    assert call(base, "GET", "sweep", bob).json() == [] and call(base, "GET", "job", bob).json() == []

    job = call(base, "POST", "job", bob, json={"case_id": smoothie, "job_title": "one"}).json()["job_id"]
    assert_problem(call_raw(base, "GET", "compare", bob, params={"job": job}), 400)
    publish(base, "compared-other", {**COUNTED_CASE, "licences": {}})
    other_case = call(base, "POST", "job", bob, json={"case_id": "compared-other", "job_title": "two"}).json()["job_id"]
    assert_problem(call_raw(base, "GET", "compare", bob, params=[("job", job), ("job", other_case)]), 422)
    assert_problem(call_raw(base, "GET", "compare", user("someone-else"), params=[("job", job), ("job", job)]), 400)
    assert_problem(call_raw(base, "GET", "compare", user("someone-else"),
                            params=[("job", job), ("job", other_case)]), 404)


@pytest.mark.timeout(DEADLINE + 120)
def test_a_create_cut_by_a_killed_host_and_sent_again_leaves_each_member_once(app_env, tmp_path: Path):
    with OwnHost(app_env, tmp_path) as host:
        base = host.url
        publish(base, "counted", {**COUNTED_CASE, "licences": {}, "simulators": ["test"]})
        alice = user("cut")
        workdir = workdir_of(app_env, "test")
        for delay in (0.0, 0.02, 0.05, 0.1):
            key = {"Idempotency-Key": uuid.uuid4().hex}
            body = {"case_id": "counted", "title": f"cut after {delay}", "run": True,
                    "vary": {"seconds": [0, 0.1, 0.2, 0.3]}, "fields": {}}
            sent = threading.Thread(target=lambda: _post_quietly(f"{base}/api/sweep", {**alice, **key}, body))
            sent.start()
            time.sleep(delay)
            host.kill_and_restart()
            sent.join(timeout=60)
            created = call(base, "POST", "sweep", {**alice, **key}, json=body).json()
            finished = wait_for_sweep(base, created["sweep_id"], alice)
            assert finished["counts"] == {"done": 4} and [m["attempts"] for m in finished["members"]] == [1] * 4
            listed = call(base, "GET", "job", alice, params={"sweep_id": created["sweep_id"]}).json()
            assert sorted(j["job_id"] for j in listed) == sorted(created["job_ids"])
            assert all((workdir / job_id / "runs").read_text() == "run\n" for job_id in created["job_ids"])
        assert len(call(base, "GET", "sweep", alice).json()) == 4


def _post_quietly(url: str, headers: dict, body: dict) -> None:
    try:
        requests.post(url, headers=headers, json=body, timeout=30)
    except requests.RequestException:
        pass  # the host was killed under it
