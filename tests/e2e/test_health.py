"""GET /api/health over HTTP against the local host serving the real app."""

import json

import pytest
import requests

from shared import wiring

pytestmark = pytest.mark.e2e


def test_health_reports_every_dependency_reachable(local_host):
    response = requests.get(f"{local_host.url}/api/health", timeout=30)
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    checks = {(c["group"], c["name"]): c["ok"] for c in body["checks"]}
    assert checks == {
        ("storage", "table:cases"): True,
        ("storage", "table:jobs"): True,
        ("storage", "blob:case-scripts"): True,
        ("storage", "blob:job-outputs"): True,
        ("queue", "e2e-jobs"): True,
        ("queue", "e2e-notifications"): True,
        ("simulators", "test"): True,
        ("simulators", "test-slurm"): True,
        ("simulators", "test-slurm-closed"): True,
        ("simulators", "test-shared"): True,
    }
    assert response.headers["Cache-Control"] == "no-store"


def health_with(local_host, monkeypatch, **settings: str) -> requests.Response:
    """GET /api/health while the app runs with ``settings`` changed."""
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    wiring.reset()
    try:
        return requests.get(f"{local_host.url}/api/health", timeout=30)
    finally:
        monkeypatch.undo()
        wiring.reset()


def test_health_is_503_and_says_why_when_a_simulator_is_not_trusted(local_host, app_env, monkeypatch):
    simulator = json.loads(app_env["SIMULATORS"])[0]
    simulator["host_key"] = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHVfbJ0pyMYG0C5v7V4Pd9d2Bnbl3HgFhFZ+o6r9mQYx"
    response = health_with(local_host, monkeypatch, SIMULATORS=json.dumps([simulator]))
    body = response.json()
    assert response.status_code == 503 and body["status"] == "degraded"
    (sim,) = [c for c in body["checks"] if c["group"] == "simulators"]
    assert sim["ok"] is False and sim["error"] == "Simulator host key does not match the pinned key"


def test_a_broken_configuration_names_the_setting_and_never_its_value(local_host, monkeypatch):
    response = health_with(local_host, monkeypatch, SIMULATORS="{broken")
    assert response.status_code == 503 and response.json()["status"] == "degraded"
    assert [(c["group"], c["name"], c["ok"]) for c in response.json()["checks"]] == [
        ("configuration", "SIMULATORS", False)]
    assert "broken" not in response.text


def test_a_malformed_site_limit_is_named_by_health_not_found_at_run_time(local_host, app_env, monkeypatch):
    simulators = json.loads(app_env["SIMULATORS"])
    simulators[0]["licences"] = {"solver": "two"}
    response = health_with(local_host, monkeypatch, SIMULATORS=json.dumps(simulators))
    assert response.status_code == 503
    assert [c["name"] for c in response.json()["checks"]] == ["SIMULATORS"]
