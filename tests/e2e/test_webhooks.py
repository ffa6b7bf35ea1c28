"""Bad input and attacks on the status webhook and the output endpoints, over HTTP."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import requests

from tests.e2e.helpers import assert_problem, wait_for_status
from tests.factories import case_document

pytestmark = pytest.mark.e2e

ALICE = {"X-Simgate-User": "alice"}
BOB = {"X-Simgate-User": "bob"}
ADMIN = {"X-Simgate-User": "carol", "X-Simgate-Roles": "simgate.admin"}


@pytest.fixture(scope="module")
def case_id(local_host):
    case_id = f"hooks-{uuid.uuid4().hex[:8]}"
    scripts = {**case_document()["scripts"],
               "run.sh": "#!/bin/sh\nmkdir -p results\necho 'a,b' > results/out.csv\n"
                         "i=0; while [ ! -e \"$SIMGATE_JOB_DIR/release\" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done\n"}
    response = requests.put(f"{local_host.url}/api/case/{case_id}", headers=ADMIN, timeout=30,
                            json=case_document(case_id, scripts=scripts, simulators=["test"]))
    assert response.status_code == 201, response.text
    return case_id


def started_job(local_host, case_id, app_env) -> tuple[str, Path]:
    """A job running on the test simulator (held until released), and its directory there."""
    job_id = requests.post(f"{local_host.url}/api/job", json={"case_id": case_id, "job_title": "hooks"},
                           headers=ALICE, timeout=30).json()["job_id"]
    requests.post(f"{local_host.url}/api/job/{job_id}", headers=ALICE, timeout=30)
    workdir = Path(json.loads(app_env["SIMULATORS"])[0]["workdir"])
    wait_for_status(local_host, job_id, "running")
    return job_id, workdir / job_id


def patch_status(local_host, job_id, token=None, **body):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.patch(f"{local_host.url}/api/job/{job_id}/status", json=body, headers=headers, timeout=30)


def token_of(directory: Path) -> str:
    return json.loads((directory / "job.json").read_text())["token"]


def test_webhook_tokens(local_host, case_id, app_env):
    job_id, directory = started_job(local_host, case_id, app_env)
    other_id, other_directory = started_job(local_host, case_id, app_env)
    token = token_of(directory)

    assert_problem(patch_status(local_host, job_id, status="cleanup"), 401)
    assert "WWW-Authenticate" in patch_status(local_host, job_id, status="cleanup").headers
    assert_problem(patch_status(local_host, job_id, "not-the-token", status="cleanup"), 401)
    assert_problem(patch_status(local_host, job_id, token_of(other_directory), status="cleanup"), 401)
    body = assert_problem(patch_status(local_host, job_id, token, status="exploded"), 422)
    assert body["errors"][0]["field"] == "status"
    assert_problem(patch_status(local_host, job_id, token, status="cleanup", files=[{"name": "../x/y.csv", "size": 1}]), 422)
    assert_problem(patch_status(local_host, job_id, token, status="cleanup", files=[{"name": "/etc/passwd", "size": 1}]), 422)
    late = patch_status(local_host, job_id, token, status="queued")  # late: a no-op with the current status
    assert late.status_code == 200 and late.json()["status"] == "running"
    assert token not in json.dumps(requests.get(f"{local_host.url}/api/job/{job_id}", headers=ALICE, timeout=30).json())

    (directory / "release").touch()
    (other_directory / "release").touch()
    wait_for_status(local_host, job_id, "done")
    assert_problem(patch_status(local_host, job_id, token, status="running"), 401)  # the token died with the job


def test_a_done_claiming_an_output_never_uploaded_is_refused(local_host, case_id, app_env):
    job_id, directory = started_job(local_host, case_id, app_env)
    token = token_of(directory)
    # the real agent is held; speak for it: cleanup, then a done naming a file that was never put
    granted = patch_status(local_host, job_id, token, status="cleanup", files=[{"name": "results/ghost.csv", "size": 5}])
    assert granted.status_code == 200 and set(granted.json()["upload"]["files"]) == {"results/ghost.csv"}
    body = assert_problem(patch_status(local_host, job_id, token, status="done",
                                files=[{"name": "results/ghost.csv", "size": 5}]), 422)
    assert body["errors"][0]["message"] == "results/ghost.csv was never uploaded"
    assert requests.get(f"{local_host.url}/api/job/{job_id}/status", headers=ALICE, timeout=30).json()["status"] == "cleanup"
    (directory / "release").touch()


def test_someone_elses_outputs_are_404(local_host, case_id, app_env):
    job_id, directory = started_job(local_host, case_id, app_env)
    (directory / "release").touch()
    wait_for_status(local_host, job_id, "done")
    outputs = requests.get(f"{local_host.url}/api/job/{job_id}/output", headers=ALICE, timeout=30).json()
    assert [o["output_id"] for o in outputs] == ["log1", "log2", "csv1"]
    for path in (f"job/{job_id}/output", f"job/{job_id}/output/csv1"):
        assert_problem(requests.get(f"{local_host.url}/api/{path}", headers=BOB, timeout=30), 404)
    assert_problem(requests.get(f"{local_host.url}/api/job/{job_id}/output/csv9", headers=ALICE, timeout=30), 404)
