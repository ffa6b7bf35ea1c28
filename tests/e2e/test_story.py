"""The seed's story over HTTP against the local host, with real Azurite, sshd and Slurm behind it:
list the cases, open the smoothie case, make a job, set values, run it, poll until done, list the
outputs and download the CSV through its SAS link. Once per scheduler."""

from __future__ import annotations

import csv
import io
from urllib.parse import urljoin

import pytest
import requests

from devstack import PROJECT_ROOT
from shared.adapters.case_folders import read_case_folder
from tests.e2e.helpers import assert_walked_to_done, wait_for_status

pytestmark = pytest.mark.e2e

ALICE = {"X-Simgate-User": "alice"}
ADMIN = {"X-Simgate-User": "carol", "X-Simgate-Roles": "simgate.admin"}
SIMULATOR_OF = {"direct": "test", "slurm": "test-slurm"}


@pytest.fixture(scope="module")
def smoothie_cases(local_host):
    """The demo smoothie case, published once per scheduler (restricted to that simulator)."""
    document = read_case_folder(PROJECT_ROOT / "cases" / "smoothie")
    ids = {}
    for scheduler, simulator in SIMULATOR_OF.items():
        case_id = "smoothie" if scheduler == "direct" else "smoothie-slurm"
        body = {**document, "id": case_id, "simulators": [simulator]}
        response = requests.put(f"{local_host.url}/api/case/{case_id}", json=body, headers=ADMIN, timeout=30)
        assert response.status_code in (200, 201), response.text
        ids[scheduler] = case_id
    return ids


def api(local_host, method, path, **kwargs):
    response = requests.request(method, f"{local_host.url}/api/{path}", headers=ALICE, timeout=60, **kwargs)
    assert response.status_code < 400, f"{method} {path}: {response.status_code} {response.text}"
    return response


@pytest.mark.parametrize("scheduler", ["direct", "slurm"])
def test_the_seed_story(local_host, smoothie_cases, azurite, scheduler):
    case_id = smoothie_cases[scheduler]
    listed = api(local_host, "GET", "case", params={"page": 1, "per_page": 5})
    assert len(listed.json()) <= 5 and listed.headers["X-Per-Page"] == "5"
    headers = list(listed.json())
    while case_id not in [h["id"] for h in headers] and "next" in listed.links:
        listed = requests.get(urljoin(listed.url, listed.links["next"]["url"]), headers=ALICE, timeout=30)
        headers += listed.json()
    assert case_id in [h["id"] for h in headers]

    case = api(local_host, "GET", f"case/{case_id}").json()
    assert {f["name"] for f in case["fields"]} >= {"speed_rpm", "duration_s", "viscosity_pa_s"}

    job_id = api(local_host, "POST", "job", json={"case_id": case_id, "job_title": "Test 1"}).json()["job_id"]
    api(local_host, "PATCH", f"job/{job_id}", json={"fields": [
        {"name": "speed_rpm", "value": 6000}, {"name": "duration_s", "value": 60},
        {"name": "viscosity_pa_s", "value": 0.5}, {"name": "batch_label", "value": "Test 1"}]})
    assert api(local_host, "POST", f"job/{job_id}").json() == {"success": True, "status": "submitted"}

    job = wait_for_status(local_host, job_id, "done", "failed", "cancelled", timeout=120)
    assert job["status"] == "done", job
    assert_walked_to_done(job)
    assert job["simulator"] == SIMULATOR_OF[scheduler] and job["progress"] == 1.0

    outputs = {o["name"]: o for o in api(local_host, "GET", f"job/{job_id}/output").json()}
    assert set(outputs) == {"results/homogeneity.csv", "results/particle_profile.csv", "results/summary.json",
                            "logs/stdout.log", "logs/stderr.log"}
    csv1 = outputs["results/homogeneity.csv"]
    assert csv1["output_id"] == "csv1" and csv1["content_type"] == "text/csv" and len(csv1["md5"]) == 32

    link = api(local_host, "GET", f"job/{job_id}/output/csv1").json()
    assert link["url"].startswith("https://") and link["expires_at"]
    download = requests.get(link["url"], verify=str(azurite.ca_bundle), timeout=30)
    assert download.status_code == 200 and download.headers["Content-Disposition"] == 'attachment; filename="homogeneity.csv"'
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert len(download.content) == csv1["size"]
    # the numbers answer the values that were set: 60 s of blending at 6000 rpm (not motor-limited)
    assert float(rows[-1]["time_s"]) == 60.0 and float(rows[-1]["blade_speed_rpm"]) == 6000.0
    assert float(rows[0]["homogeneity"]) == 0.0 < float(rows[-1]["homogeneity"]) <= 1.0

    redirect = requests.get(f"{local_host.url}/api/job/{job_id}/output/csv1", params={"redirect": "true"},
                            headers=ALICE, allow_redirects=False, timeout=30)
    assert redirect.status_code == 302 and redirect.headers["Location"].startswith("https://")


def test_the_demo_command_plays_the_story(local_host, smoothie_cases, azurite, capsys):
    from commands import demo

    assert demo.main(["--api", f"{local_host.url}/api", "--case", smoothie_cases["direct"],
                      "--ca", str(azurite.ca_bundle)]) == 0
    printed = capsys.readouterr().out
    assert "draft → submitted → queued → running → cleanup → done" in printed
    assert "csv1   results/homogeneity.csv" in printed and printed.rstrip().endswith("Blob storage.")
