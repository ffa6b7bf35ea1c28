"""A manager wired to one real simulator (sshd, with or without Slurm) and Azurite's tables, with
the helpers the simulator tests share: the "holder" case, waiting on the agent's state file, and
counting agents in the process table."""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

from devstack.processes import wait_until
from shared.adapters.simulators import SshSimulatorGateway, job_directory
from shared.adapters.ssh import SshPool, SshSession
from shared.config import SimulatorSpec
from shared.domain.jobs import Job, JobStatus, Transition, new_job_id
from shared.adapters.system_clock import SystemClock
from shared.services.changes import JobChanges
from shared.services.manager import AgentOptions, Delivery, Manager
from tests import conftest

FIRST = Delivery(1, 5)

WAIT = 60  # seconds: generous, for a loaded CI machine; every wait ends as soon as its condition holds

HOLD_CASE = {
    "id": "holder",
    "title": "Holder",
    "summary": "Writes its values back and, when asked, waits for a release file",
    "fields": [
        {"name": "label", "type": "string", "default": "plain", "max_length": 200},
        {"name": "hold", "type": "boolean", "default": False},
    ],
    "scripts": {
        "run.sh": (
            "#!/bin/sh\nset -eu\n"
            "printf '%s' {{ label }} > label.txt\n"
            "python3 show.py > show.txt\n"
            "mkdir -p results && echo 'x,y' > results/out.csv\n"
            "{% if hold %}i=0\n"
            "while [ ! -e \"$SIMGATE_JOB_DIR/release\" ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done\n"
            "{% endif %}"
        ),
        "show.py": "LABEL = {{ label }}\nprint(LABEL, end='')\n",
        "params.json": "{\"label\": {{ label }}}\n",
    },
    "entry_point": "run.sh",
    "outputs": [{"pattern": "results/*.csv"}],
    "resources": {"cores": 1, "memory_mb": 100, "wall_time_minutes": 5},
}


def now() -> datetime:
    return datetime.now(timezone.utc)


class Harness:
    def __init__(self, repositories, spec: SimulatorSpec, gateway_class=SshSimulatorGateway, *,
                 callback_base_url: str | None = None, **manager_options) -> None:
        self.cases, self.jobs = repositories
        self.spec = spec
        self.pool = SshPool(SshSession)
        self.gateway = gateway_class(self.pool)
        clock = SystemClock()
        self.manager = Manager(self.cases, self.jobs, self.gateway, [spec], AgentOptions(callback_base_url, **manager_options),
                               JobChanges(self.jobs, clock), clock, max_deliveries=FIRST.max_count)

    def submitted_job(self, **fields) -> Job:
        at = now()
        values = {"label": "plain", "hold": False, **fields}
        job = Job(job_id=new_job_id("alice", at), owner="alice", title="Test 1", case_id="holder", case_version=1,
                  fields=values, status=JobStatus.SUBMITTED, created=at, updated=at,
                  history=[Transition(status=JobStatus.SUBMITTED, at=at, source="api:alice")])
        self.jobs.add(job)
        return job

    def start(self, job_id: str, delivery: Delivery = FIRST) -> str:
        return self.manager.handle(json.dumps({"action": "start", "job_id": job_id}), delivery.count)

    def cancel(self, job_id: str, by: str = "alice") -> str:
        stored = self.jobs.find(job_id)
        self.jobs.update(stored.item.request_cancel(by, now()), stored.etag)
        return self.manager.handle(json.dumps({"action": "cancel", "job_id": job_id}), FIRST.count)

    def job(self, job_id: str) -> Job:
        return self.jobs.find(job_id).item

    def directory(self, job_id: str) -> Path:
        return Path(job_directory(self.spec, job_id))

    def state(self, job_id: str) -> dict:
        try:
            return json.loads((self.directory(job_id) / "state.json").read_text())
        except FileNotFoundError:
            return {}

    def wait_for_state(self, job_id: str, *statuses: str) -> dict:
        wait_until(lambda: self.state(job_id).get("status") in statuses, timeout=WAIT,
                   what=f"job {job_id} to be {' or '.join(statuses)} (state: {self.state(job_id)})")
        return self.state(job_id)

    def release(self, job_id: str) -> None:
        (self.directory(job_id) / "release").touch()

    def agent_processes(self, job_id: str) -> int:
        """Agents running this job, counted in the process table."""
        wanted = ["run", str(self.directory(job_id))]
        count = 0
        for entry in os.listdir("/proc"):
            try:
                argv = Path(f"/proc/{entry}/cmdline").read_bytes().decode(errors="replace").split("\0")
            except OSError:
                continue
            if any(a.endswith("simgate_agent.py") for a in argv) and argv[-3:-1] == wanted:
                count += 1
        return count

    def close(self) -> None:
        self.pool.close()


def simulator_spec(simulator: conftest.TestSimulator, workdir: Path, **changes) -> SimulatorSpec:
    return simulator.spec.model_copy(update={"workdir": str(workdir), **changes})
