"""How fast jobs start, measured in one run against references measured in the same run.

    python -m bench.start_burst [--jobs 100] [--threads 8] [--scheduler direct|slurm|both]

On a local stack of its own (free ports, a temporary folder), for each scheduler:

- floor:   one shared SSH connection, one exec per job (the start command with its bundle on stdin),
           with no pool, no storage and no queue: what starting a job cannot go below;
- manager: simgate's SSH gateway (the connection pool within its budget, one exec per job);
- naive:   a new connection per job doing the steps a start took before one-exec starts (read the
           marker, clear the staging folder, three mkdir + SFTP uploads, then the agent's submit),
           with the agent of that time (from the repository's history, commit ``BEFORE``);
- end to end: POST /api/job/{id} for every job through the local Functions host, the Storage queue
           with its peek-lock pump, the manager and the simulator, until GET /api/job shows each job
           queued (or further): no job may fail.

The three SSH phases run ``--rounds`` times in turn (3 by default) and each counts with its median
round. It prints starts per second and the ratios the issue sets as targets (manager <= 1.3x the floor's
time; the naive way >= 5x the manager's; end to end >= 6 starts/s; 0 failed).
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cache
from pathlib import Path

import paramiko
import requests

from commands.local_settings import PROJECT_ROOT, SAMPLE_SETTINGS, read_local_settings
from devstack.processes import wait_until
from devstack.stack import LocalStack
from shared.adapters.simulators import SshSimulatorGateway
from shared.adapters.ssh import SshPool, SshSession, command_line
from shared.agent import agent_source
from shared.agent.simgate_agent import BOOTSTRAP, PYTHON_FLAGS, SLURM_NAME_PREFIX
from shared.config import SimulatorSpec
from shared.domain.bundle import JobBundle, Placement, build_bundle
from shared.domain.cases import PublishedCase, parse_definition
from shared.domain.jobs import Job, new_job_id

BEFORE = "0346d6a"  # the last commit whose manager started a job with eight round trips
ADMIN = {"X-Simgate-User": "bench", "X-Simgate-Roles": "simgate.admin"}
USER = {"X-Simgate-User": "bench"}
CASE = {
    "id": "bench",
    "title": "Benchmark",
    "summary": "Starts and ends at once",
    "fields": [{"name": "label", "type": "string", "default": "x"}],
    "scripts": {"run.sh": "#!/bin/sh\nprintf '%s' {{ label }} > label.txt\n"},
    "entry_point": "run.sh",
    "outputs": [],
    "resources": {"cores": 1, "memory_mb": 64, "wall_time_minutes": 5},
}


@dataclass
class Result:
    name: str
    jobs: int
    seconds: float
    failed: int = 0
    spread: tuple[float, float] | None = None  # the slowest and fastest rate of its rounds

    @property
    def rate(self) -> float:
        return self.jobs / self.seconds

    @classmethod
    def median(cls, runs: list[Result]) -> Result:
        """The median round's time, every round's failures."""
        seconds = statistics.median(r.seconds for r in runs)
        rates = [r.rate for r in runs]
        return cls(runs[0].name, runs[0].jobs, seconds, sum(r.failed for r in runs),
                   (min(rates), max(rates)) if len(runs) > 1 else None)

    def shown_spread(self) -> str:
        return f"  (rounds {self.spread[0]:.1f}-{self.spread[1]:.1f})" if self.spread else ""


@cache
def published_case() -> PublishedCase:
    definition = parse_definition(CASE)
    return PublishedCase(definition=definition, version=1, published=datetime.now(timezone.utc),
                         published_by="bench", digest=definition.digest())


def bundle(spec: SimulatorSpec, job_id: str) -> JobBundle:
    case = published_case()
    at = case.published
    job = Job(job_id=job_id, owner="bench", title="bench", case_id=case.id, case_version=case.version, fields={},
              created=at, updated=at)
    placement = Placement(simulator=spec.name, scheduler=spec.scheduler, python=spec.python,
                          max_parallel_jobs=spec.max_parallel_jobs, slurm_partition=spec.slurm_partition)
    return build_bundle(case, job, placement, {"run.sh": "#!/bin/sh\ntrue\n"}, callback_base_url=None,
                        token=secrets.token_urlsafe(32))


def start_line(spec: SimulatorSpec, workdir: str, job_id: str) -> str:
    return command_line([spec.python, *PYTHON_FLAGS, "-c", BOOTSTRAP, "start", workdir, job_id])


def start_stdin(spec: SimulatorSpec, job_id: str) -> bytes:
    source = agent_source()
    return f"{len(source)}\n".encode() + source + bundle(spec, job_id).to_bytes()


def timed(name: str, jobs: list[str], threads: int, start: Callable[[str], object]) -> Result:
    failed = 0

    def one(job_id: str) -> bool:
        try:
            start(job_id)
            return True
        except Exception as exc:  # noqa: BLE001 - a failed start is counted, the burst goes on
            print(f"  {name}: {job_id}: {exc}", file=sys.stderr)
            return False

    began = time.perf_counter()
    with ThreadPoolExecutor(threads) as workers:
        failed = sum(not ok for ok in workers.map(one, jobs))
    return Result(name, len(jobs), time.perf_counter() - began, failed)


def _exec(client: paramiko.SSHClient, line: str, stdin: bytes | None = None) -> str:
    channel = client.get_transport().open_session()
    channel.exec_command(line)
    if stdin is not None:
        channel.sendall(stdin)
    channel.shutdown_write()
    out = channel.makefile("rb").read()
    status = channel.recv_exit_status()
    channel.close()
    if status != 0:
        raise RuntimeError(f"{line[:60]}… exited {status}")
    return out.decode()


def floor(spec: SimulatorSpec, workdir: str, jobs: list[str], threads: int) -> Result:
    client = SshSession(spec)
    client.connect()
    try:
        return timed("floor", jobs, threads,
                     lambda job_id: _exec(client._client, start_line(spec, workdir, job_id), start_stdin(spec, job_id)))
    finally:
        client.close()


def manager(spec: SimulatorSpec, jobs: list[str], threads: int) -> Result:
    pool = SshPool(SshSession)
    gateway = SshSimulatorGateway(pool)
    try:
        return timed("manager", jobs, threads, lambda job_id: gateway.start(spec, job_id, bundle(spec, job_id)))
    finally:
        pool.close()


def agent_before() -> bytes:
    """The agent as it was before one-exec starts; the current one where history is not at hand."""
    shown = subprocess.run(["git", "show", f"{BEFORE}:shared/agent/simgate_agent.py"], cwd=PROJECT_ROOT,
                           capture_output=True)
    if shown.returncode != 0:
        print(f"  naive: commit {BEFORE} is not in this clone; its steps run with today's agent", file=sys.stderr)
        return agent_source()
    return shown.stdout


def naive(spec: SimulatorSpec, workdir: str, jobs: list[str], threads: int) -> Result:
    """A new connection per job, and the steps and the agent of a start before the one-exec protocol."""
    old_agent = agent_before()

    def start(job_id: str) -> None:
        session = SshSession(spec)
        session.connect()
        try:
            client = session._client
            directory = f"{workdir}/{job_id}"
            _exec(client, f"if [ -f {directory}/submission.json ]; then cat {directory}/submission.json; fi")
            _exec(client, f"rm -rf {directory}/staged")
            made = bundle(spec, job_id)
            description = json.dumps(made.job.to_dict()).encode()
            for folder, files, mode in ((directory, {"simgate_agent.py": old_agent}, 0o700),
                                        (f"{directory}/staged", {"job.json": description}, 0o600),
                                        (f"{directory}/staged/run", {n: t.encode() for n, t in made.scripts.items()},
                                         0o700)):
                _exec(client, f"mkdir -p -m 700 {folder}")
                with client.open_sftp() as sftp:
                    for name, content in files.items():
                        partial = f"{folder}/.{name}.{secrets.token_hex(4)}.part"
                        with sftp.open(partial, "wb") as handle:
                            handle.set_pipelined(True)
                            handle.write(content)
                        sftp.chmod(partial, mode)
                        sftp.posix_rename(partial, f"{folder}/{name}")
            _exec(client, command_line([spec.python, f"{directory}/simgate_agent.py", "submit", directory]))
        finally:
            session.close()

    return timed("naive", jobs, threads, start)


def end_to_end(stack: LocalStack, case_id: str, count: int, threads: int) -> Result:
    api = stack.api
    with ThreadPoolExecutor(threads) as workers:
        job_ids = list(workers.map(lambda i: _create(api, case_id, i), range(count)))
    clients = threading.local()  # one keep-alive connection per client thread, as a browser or the CLI has

    def run(job_id: str) -> requests.Response:
        if not hasattr(clients, "session"):
            clients.session = requests.Session()
        return clients.session.post(f"{api}/job/{job_id}", headers=USER, timeout=60)

    began = time.perf_counter()
    with ThreadPoolExecutor(threads) as workers:
        answers = list(workers.map(run, job_ids))
    refused = sum(a.status_code != 202 for a in answers)
    statuses: dict[str, str] = {}
    watcher = requests.Session()
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        listed = watcher.get(f"{api}/job", params={"case_id": case_id, "per_page": 100}, headers=USER, timeout=60)
        statuses = {j["job_id"]: j["status"] for j in listed.json()}
        if all(statuses.get(j) not in (None, "draft", "submitted") for j in job_ids):
            break
        time.sleep(0.25)  # a light watcher: the measurement must not load the stack it measures
    seconds = time.perf_counter() - began
    failed = refused + sum(statuses.get(j) in ("failed", "cancelled", None, "submitted") for j in job_ids)
    return Result("end to end", count, seconds, failed)


def _create(api: str, case_id: str, index: int) -> str:
    response = requests.post(f"{api}/job", headers=USER, timeout=60,
                             json={"case_id": case_id, "job_title": f"burst {index}"})
    response.raise_for_status()
    return response.json()["job_id"]


def wait_for_quiet(stack: LocalStack, spec: SimulatorSpec, workdir: Path) -> None:
    """Let the jobs a phase started finish, so that the next phase runs on an idle machine."""
    if spec.scheduler == "slurm":  # squeue reaches the cluster through the sshd's environment
        pool = SshPool(SshSession)
        try:
            wait_until(lambda: SLURM_NAME_PREFIX not in pool.run(spec, ["squeue", "-h", "-o", "%j"]).stdout,
                       timeout=600, interval=0.5, what="the Slurm jobs to end")
        finally:
            pool.close()
        return
    wait_until(lambda: all((d / "state.json").exists() and json.loads((d / "state.json").read_text())
                           .get("status") in ("finished", "failed", "done") for d in workdir.glob("*-*-*")
                           if (d / "submission.json").exists()),
               timeout=600, interval=0.5, what="the direct jobs to end")


def burst(stack: LocalStack, scheduler: str, count: int, threads: int, rounds: int) -> list[Result]:
    """The three SSH phases ``rounds`` times in turn (each phase's median counts, so that a moment of
    noise on the machine does not decide a ratio), then end to end once."""
    spec = next(s for s in stack.settings.simulators if s.scheduler == scheduler)
    measured: dict[str, list[Result]] = {"floor": [], "manager": [], "naive": []}
    for turn in range(rounds):
        for phase, runs in measured.items():
            workdir = stack.root / "jobs" / f"{scheduler}-{phase}-{turn}"
            workdir.mkdir(parents=True)
            phased = spec.model_copy(update={"workdir": str(workdir), "max_parallel_jobs": count})
            jobs = [new_job_id("bench", _now()) for _ in range(count)]
            if phase == "floor":
                runs.append(floor(phased, str(workdir), jobs, threads))
            elif phase == "manager":
                runs.append(manager(phased, jobs, threads))
            else:
                runs.append(naive(phased, str(workdir), jobs, threads))
            wait_for_quiet(stack, phased, workdir)
    results = [Result.median(runs) for runs in measured.values()]
    case_id = f"{CASE['id']}-{scheduler}"
    published = requests.put(f"{stack.api}/case/{case_id}", headers=ADMIN, timeout=60,
                             json={**CASE, "id": case_id, "simulators": [spec.name]})
    published.raise_for_status()
    results.append(end_to_end(stack, case_id, count, threads))
    wait_for_quiet(stack, spec, Path(spec.workdir))
    return results


def _now():
    return datetime.now(timezone.utc)


def report(scheduler: str, results: list[Result], threads: int, rounds: int) -> bool:
    by = {r.name: r for r in results}
    floor_, manager_, naive_, e2e = by["floor"], by["manager"], by["naive"], by["end to end"]
    over_floor = manager_.seconds / floor_.seconds
    under_naive = naive_.seconds / manager_.seconds
    checks = [over_floor <= 1.3, under_naive >= 5, e2e.rate >= 6, sum(r.failed for r in results) == 0]
    print(f"\nstart burst: {floor_.jobs} starts, {scheduler}, {threads} at a time; SSH phases: median of {rounds} rounds")
    print(f"  floor       one shared connection, one exec per job   {floor_.rate:6.1f} starts/s  "
          f"({floor_.seconds:.1f} s){floor_.shown_spread()}")
    print(f"  manager     simgate's SSH gateway (pool, one exec)    {manager_.rate:6.1f} starts/s  "
          f"{over_floor:.2f}x the floor's time   [target <= 1.3x]{manager_.shown_spread()}")
    print(f"  naive       a connection per job, 9 round trips (before) {naive_.rate:5.1f} starts/s  "
          f"manager {under_naive:.1f}x faster   [target >= 5x]{naive_.shown_spread()}")
    print(f"  end to end  run -> queued through the local stack     {e2e.rate:6.1f} starts/s  "
          f"[target >= 6/s]")
    print(f"  failed      {', '.join(f'{r.name} {r.failed}' for r in results)}   [target 0]")
    print(f"  targets     {'met' if all(checks) else 'NOT met'}")
    return all(checks)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.start_burst", description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--threads", type=int, default=8, help="starts at once (the host's maxConcurrentCalls)")
    parser.add_argument("--scheduler", choices=["direct", "slurm", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the SSH phases, taken in turn (median)")
    args = parser.parse_args(argv)
    values = read_local_settings(SAMPLE_SETTINGS)["Values"]
    ok = True
    with tempfile.TemporaryDirectory(prefix="simgate-bench-") as root:
        with LocalStack(root=Path(root), values=values, slurm=args.scheduler != "direct", persist=False,
                        simulator_options={"max_parallel_jobs": args.jobs, "max_jobs_per_user": None,
                                           "workdir": f"{root}/jobs/stack"}) as stack:
            schedulers = ["direct", "slurm"] if args.scheduler == "both" else [args.scheduler]
            for scheduler in schedulers:
                if scheduler == "slurm" and stack.slurm_note:
                    print(f"\nSlurm is off: {stack.slurm_note}")
                    continue
                ok &= report(scheduler, burst(stack, scheduler, args.jobs, args.threads, args.rounds), args.threads,
                             args.rounds)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
