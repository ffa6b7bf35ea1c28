"""What the e2e tests share: reading problem responses and waiting for a job's status."""

from __future__ import annotations

import time

import requests

ALICE = {"X-Simgate-User": "alice"}
WALK_TO_DONE = ["draft", "submitted", "queued", "running", "cleanup", "done"]


def assert_problem(response, status, slug=None):
    """The response is an RFC 9457 problem with this status (and type slug); its body."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    if slug:
        assert body["type"] == f"urn:simgate:problem:{slug}"
    return body


def wait_for_status(local_host, job_id, *wanted, headers=ALICE, timeout=60):
    """Long-poll the job's status until it is one of ``wanted``; the job's details then. The manager
    and the agent work behind the queue, so a fast job may pass some statuses between two reads."""
    deadline = time.monotonic() + timeout
    status = None
    while time.monotonic() < deadline:
        status = requests.get(f"{local_host.url}/api/job/{job_id}/status", params={"wait": 5, "since": status},
                              headers=headers, timeout=60).json()["status"]
        if status in wanted:
            return requests.get(f"{local_host.url}/api/job/{job_id}", headers=headers, timeout=60).json()
    raise AssertionError(f"job {job_id} is still {status}, not {' or '.join(wanted)}, after {timeout} s")


def assert_walked_to_done(job):
    """The job went every step of the way to done, moved by the API, the manager and its agent. The
    agent starts reporting the moment its job is submitted, so its "running" may be recorded before
    the manager records "queued"; the manager then records where the job runs and keeps its status."""
    history = job["history"]
    assert [h["status"] for h in history] in (WALK_TO_DONE, [s for s in WALK_TO_DONE if s != "queued"]), history
    assert all(h["source"] == ("manager" if h["status"] == "queued" else "agent") for h in history[2:]), history
    assert job["simulator"] and job["scheduler_job_id"]
