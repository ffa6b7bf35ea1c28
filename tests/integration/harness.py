"""A manager wired to one real simulator (sshd, with or without Slurm) and Azurite's tables and job
queue, with the helpers the simulator tests share: the "holder" case, delivering the start messages
the manager scheduled, waiting on the agent's state file, and counting agents in the process table."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from devstack.keys import ensure_ssh_keys
from devstack.processes import free_port, wait_until
from devstack.sshd import login_user, start_sshd
from shared.adapters.job_queue import StorageJobQueue, decode_envelope
from shared.adapters.simulators import SshSimulatorGateway, job_directory
from shared.adapters.site_store import TableSiteStore
from shared.adapters.ssh import SshPool, SshSession
from shared.adapters.system_clock import SystemClock
from shared.agent import simgate_agent
from shared.api.models import StatusAnswer
from shared.api.requests import StatusReport
from shared.config import SimulatorSpec
from shared.domain.jobs import Job, JobStatus, Transition, new_job_id
from shared.errors import SimgateError
from shared.http import problem_kind, problem_of
from shared.services.agent_reports import AgentReports
from shared.services.changes import JobChanges
from shared.services.manager import AgentOptions, Delivery, Manager, WaitPolicy
from shared.services.sites import Sites
from tests import conftest
from tests.loopback import JsonHandler, LoopbackServer

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
            "echo run >> \"$SIMGATE_JOB_DIR/runs\"\n"
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


# Short waits, so that tests of an unreachable simulator take seconds.
QUICK_RETRIES = WaitPolicy(horizon=timedelta(hours=1), first_delay=timedelta(seconds=0.5),
                           max_delay=timedelta(seconds=1))


class Ungoverned(Sites):
    """The sites' lines as the app keeps them, without their limits: these tests are about the start path
    over SSH and the agent's own slot on the simulator; the governor's grants are tested on their own
    (tests/integration/test_site_store.py, tests/e2e/test_governor.py)."""

    def acquire(self, spec, job, case):
        self.enlist(job, case, spec.name)
        return None


class Harness:
    def __init__(self, repositories, spec: SimulatorSpec, gateway_class=SshSimulatorGateway, *,
                 callback_base_url: str | None = None, waiting: WaitPolicy = QUICK_RETRIES,
                 pool: SshPool | None = None, **agent_options) -> None:
        self.cases, self.jobs, self.storage = repositories
        self.spec = spec
        self.pool = pool or SshPool(SshSession)
        self.gateway = gateway_class(self.pool)
        self.queue = StorageJobQueue(self.storage, "h" + uuid.uuid4().hex[:20])  # this harness's own queue
        self.storage.queue_service.create_queue(self.queue.queue_name)
        clock = SystemClock()
        changes = JobChanges(self.jobs, clock)
        self.site_store = TableSiteStore(self.storage, self.jobs.table_name)  # beside the jobs, as in the app
        self.sites = self.governor([spec])
        self.manager = Manager(self.cases, self.jobs, self.gateway, [spec], AgentOptions(callback_base_url, **agent_options),
                               changes, clock, self.queue, self.sites, max_deliveries=FIRST.max_count,
                               waiting=waiting)

    def governor(self, specs) -> Sites:
        clock = SystemClock()
        return Ungoverned(self.site_store, self.jobs, JobChanges(self.jobs, clock), self.queue, self.gateway, specs,
                          clock)

    def submitted_job(self, **fields) -> Job:
        at = now()
        values = {"label": "plain", "hold": False, **fields}
        job = Job(job_id=new_job_id("alice", at), owner="alice", title="Test 1", case_id="holder", case_version=1,
                  fields=values, status=JobStatus.SUBMITTED, created=at, updated=at,
                  history=[Transition(status=JobStatus.SUBMITTED, at=at, source="api:alice")])
        self.sites.enlist(job, self.cases.get(job.case_id, job.case_version))  # as a run puts it in line
        self.jobs.add(job)
        return job

    def start(self, job_id: str, delivery: Delivery = FIRST) -> str:
        return self.manager.handle(json.dumps({"action": "start", "job_id": job_id}), delivery.count)

    def deliver_scheduled(self, timeout: float = WAIT) -> list[str]:
        """Wait for the start messages the manager scheduled to come due on the Azurite queue, and
        hand each to the manager as the queue trigger would; what the manager did with them."""
        client = self.storage.queue(self.queue.queue_name)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            messages = list(client.receive_messages(max_messages=32, visibility_timeout=60))
            if messages:
                outcomes = []
                for message in messages:
                    body = decode_envelope(message.content)["body"]
                    outcomes.append(self.manager.handle(body, message.dequeue_count))
                    client.delete_message(message)
                return outcomes
            if client.get_queue_properties().approximate_message_count == 0:
                return []  # nothing scheduled at all
            time.sleep(0.2)
        raise AssertionError(f"no scheduled message came due within {timeout} s")

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
        """Agents running this job, counted in the process table as the agent itself finds them."""
        wanted = str(self.directory(job_id).resolve())
        return sum(1 for _, cwd in simgate_agent.running_agents() if cwd == wanted)

    def close(self) -> None:
        self.pool.close()
        self.storage.queue_service.delete_queue(self.queue.queue_name)


def private_sshd(tmp_path):
    """An sshd of this test's own, to stop and start."""
    directory = tmp_path / "sshd"
    keys = ensure_ssh_keys(directory)
    port = free_port()
    process = start_sshd(directory, keys, port, directory / "sshd.log")
    spec = SimulatorSpec(name="flaky", host="127.0.0.1", port=port, user=login_user(), host_key=keys.host_public,
                         private_key_path=keys.client_key, workdir=str(tmp_path / "jobs"))
    return process, spec


def stop_with_connections(process) -> int:
    """Stop sshd and the per-connection processes it forked (which outlive the listener otherwise)."""
    children = session_processes(process.proc.pid)
    process.stop()
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return len(children)


def session_processes(sshd_pid: int) -> list[int]:
    """The processes sshd forked, one per connection: killing one drops that connection."""
    return [pid for pid in _all_pids() if _parent(pid) == sshd_pid]


def drop_connections(sshd_directory: Path) -> int:
    """Drop every SSH connection to the sshd whose PidFile is in ``sshd_directory`` (it keeps
    listening); how many were dropped."""
    children = session_processes(int((sshd_directory / "sshd.pid").read_text()))
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return len(children)


def _all_pids() -> list[int]:
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]


def _parent(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def simulator_spec(simulator: conftest.TestSimulator, workdir: Path, **changes) -> SimulatorSpec:
    return simulator.spec.model_copy(update={"workdir": str(workdir), **changes})


class StatusEndpoint(LoopbackServer):
    """simgate's status webhook, serving the real service; reports whose status is in ``lose`` are
    answered 503, as if the app were down, so the agent's retries run out."""

    def __init__(self, jobs, outputs, live, lose: set[str] | None = None) -> None:
        endpoint = self
        self.received: list[str] = []
        self.lose = set(lose or ())  # change it to bring the API "back"
        clock = SystemClock()
        reports = AgentReports(jobs, outputs, JobChanges(jobs, clock), clock, live=live)

        class Handler(JsonHandler):
            def do_PATCH(self):
                body = self.read_json()
                endpoint.received.append(body["status"])
                if body["status"] in endpoint.lose:
                    return self.answer(503, {"title": "Service temporarily unavailable"})
                try:
                    agent = reports.authenticate(self.path.split("/")[-2], self.headers.get("Authorization"))
                    job, grant = reports.record(agent, StatusReport.model_validate(body).to_report())
                except SimgateError as exc:
                    return self.answer(problem_kind(exc).status, problem_of(exc).model_dump(mode="json"))
                self.answer(200, StatusAnswer.with_grant(job, grant).model_dump(mode="json"))

        super().__init__(Handler)
        self.base_url = f"{self.url}/api"
