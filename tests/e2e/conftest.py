"""The real function_app served by the local host, configured for the test Azurite and sshd."""

from __future__ import annotations

import json

import pytest

from commands.local_settings import read_local_settings
from devstack import PROJECT_ROOT
from devstack.host import LocalFunctionsHost
from shared import wiring
from tests.loopback import TcpGate

E2E_RETRY_SCHEDULE = "0,1,2,4,8,15,20,20,20,20"  # seconds before each attempt: 110 s in all


@pytest.fixture(scope="session")
def app_env(storage_env, sshd, slurm_sshd, storage, tmp_path_factory) -> dict[str, str]:
    """The sample's settings on the test services: the direct simulator "test" first (with two "solver"
    licences), then "test-slurm", "test-slurm-closed", the same Slurm cluster as a site whose compute nodes
    cannot call out, and "test-shared", the direct simulator again as a site shared fairly (4 slots, at
    most 2 per user). A case that names no simulator goes to the first with room: "test" unless it is full."""
    sample = read_local_settings(PROJECT_ROOT / "local.settings.sample.json")["Values"]
    simulators = []
    for simulator, changes in ((sshd, {"licences": {"solver": 2}}), (slurm_sshd, {}),
                               (slurm_sshd, {"name": "test-slurm-closed", "nodes_call_out": False}),
                               (sshd, {"name": "test-shared", "max_parallel_jobs": 4, "max_jobs_per_user": 2})):
        spec = {**json.loads(simulator.spec.model_dump_json()), **changes}
        spec["workdir"] = str(tmp_path_factory.mktemp(f"{spec['name']}-jobs"))
        simulators.append(spec)
    # its own job queue: the app's manager must not take messages meant for other tests' hosts;
    # a reconciler that looks every 2 s at jobs unchanged for 3 s, so that every test runs beside it;
    # followed jobs on the closed site pulled every 2 s; webhooks to loopback receivers, retried on a
    # schedule of about two minutes instead of three days, and a catch-up every 5 s
    return {**sample, **storage_env, "AUTH_DEV_MODE": "true", "SIMULATORS": json.dumps(simulators),
            "JOBS_QUEUE": "e2e-jobs", "RECONCILE_SCHEDULE": "*/2 * * * * *", "RECONCILE_STALE_AFTER_SECONDS": "3",
            "LIVE_PULL_SCHEDULE": "*/2 * * * * *", "NOTIFY_QUEUE": "e2e-notifications",
            "NOTIFY_RETRY_SCHEDULE": E2E_RETRY_SCHEDULE, "NOTIFY_SCAN_SCHEDULE": "*/5 * * * * *",
            "NOTIFY_ALLOW_LOOPBACK_HTTP": "true"}


@pytest.fixture(scope="session")
def local_host(app_env, storage):
    with pytest.MonkeyPatch.context() as patch:
        for name, value in app_env.items():
            patch.setenv(name, value)
        wiring.reset()
        import function_app

        host_json = json.loads((PROJECT_ROOT / "host.json").read_text())
        with LocalFunctionsHost(function_app.build(), host_json=host_json, port=0,
                                queue_service=storage.queue_service,
                                max_delivery_count=int(app_env["JOBS_QUEUE_MAX_DELIVERY_COUNT"])) as host:
            # agents on the test simulators post their webhooks to this host, through a gate a test
            # may shut to cut them off
            gate = TcpGate(int(host.url.rsplit(":", 1)[1]))
            host.agent_gate = gate
            patch.setenv("AGENT_CALLBACK_URL", f"http://127.0.0.1:{gate.port}/api")
            wiring.reset()
            yield host
            gate.close()
        wiring.reset()
