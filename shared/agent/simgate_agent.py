#!/usr/bin/env python3
"""simgate's agent: the part of a job that lives on the simulator. Python 3 standard library only.

The manager uploads it with every job into the job's directory and calls it over SSH:

    simgate_agent.py submit <job dir>   hand the job to the scheduler, exactly once
    simgate_agent.py cancel <job dir>   stop the job wherever it is (idempotent)
    simgate_agent.py run <job dir>      what the scheduler starts: runs the case's entry script

Each command prints one JSON object on stdout. Exit status 0 means done, 2 a permanent refusal
(the scheduler rejected the job), 75 a temporary failure worth retrying.

The job directory:

    job.json              the job description (mode 0600: it holds the job's webhook token)
    run/                  the rendered scripts; the entry script's working directory
    staged/               a delivery not yet submitted; ``submit`` moves it into place
    submission.json       the submission marker: scheduler, scheduler job id, token hash
    submit.lock           serialises submit and cancel (flock: released if the holder dies)
    cancel-requested      written before any cancel; a later submit or run honours it
    state.json            what ``run`` is doing: queued, running, finished, cancelled
    stdout.log stderr.log the entry script's output; agent.log is the agent's own
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone

EXIT_PERMANENT = 2
EXIT_TEMPORARY = 75  # EX_TEMPFAIL
LOCK_WAIT_SECONDS = 60
SLOT_POLL_SECONDS = 1.0
KILL_GRACE_SECONDS = 10


class Refused(Exception):
    """A permanent failure: retrying the same request cannot succeed."""


class Temporary(Exception):
    """A failure that may pass: the manager retries the request."""


def now() -> str:
    return datetime.now(timezone.utc).isoformat()


# --- files ----------------------------------------------------------------------------------------


def read_json(path: str):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return None


def write_json(path: str, document, mode: int = 0o600) -> None:
    """Write atomically: a reader sees the old document or the new one, never half of one."""
    partial = f"{path}.{os.getpid()}.part"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(document, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)


@contextlib.contextmanager
def exclusive(path: str, wait: float = LOCK_WAIT_SECONDS):
    with open(path, "a") as handle:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES) or time.monotonic() > deadline:
                    raise Temporary(f"{path} is locked by another submit or cancel") from None
                time.sleep(0.1)
        yield


class JobDirectory:
    def __init__(self, path: str) -> None:
        self.path = os.path.abspath(path)

    def file(self, *names: str) -> str:
        return os.path.join(self.path, *names)

    @property
    def job(self) -> dict:
        job = read_json(self.file("job.json"))
        if job is None:
            raise Temporary(f"{self.file('job.json')} is missing: the job was not delivered")
        return job

    @property
    def submission(self):
        return read_json(self.file("submission.json"))

    @property
    def state(self):
        return read_json(self.file("state.json"))

    @property
    def cancel_requested(self) -> bool:
        return os.path.exists(self.file("cancel-requested"))

    def lock(self):
        return exclusive(self.file("submit.lock"))

    def set_state(self, **changes) -> dict:
        state = {**(self.state or {}), **changes, "updated_at": now()}
        write_json(self.file("state.json"), state)
        return state

    def promote_staged(self) -> None:
        """Put the latest delivery in place; only ever done before the job is submitted."""
        staged = self.file("staged")
        if not os.path.isdir(staged):
            return
        if os.path.isdir(os.path.join(staged, "run")):
            shutil.rmtree(self.file("run"), ignore_errors=True)
            os.replace(os.path.join(staged, "run"), self.file("run"))
        if os.path.exists(os.path.join(staged, "job.json")):
            os.chmod(os.path.join(staged, "job.json"), 0o600)  # it holds the token, whoever uploaded it
            os.replace(os.path.join(staged, "job.json"), self.file("job.json"))
        shutil.rmtree(staged, ignore_errors=True)


def token_hash(job: dict) -> str:
    return hashlib.sha256(str(job.get("token", "")).encode()).hexdigest()


# --- schedulers -----------------------------------------------------------------------------------


def agent_command(job: dict, directory: JobDirectory) -> list:
    return [job.get("python") or sys.executable, os.path.abspath(__file__), "run", directory.path]


def slurm_job_name(job: dict) -> str:
    return f"simgate-{job['job_id']}"


def _scheduler_command(argv: list, timeout: float = 60) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError:
        raise Refused(f"{argv[0]} is not installed on this simulator") from None
    except subprocess.TimeoutExpired:
        raise Temporary(f"{argv[0]} did not answer within {timeout:.0f} s") from None


class Direct:
    """simgate is the scheduler: the agent runs detached, in its own session and process group."""

    name = "direct"

    def find(self, job: dict, directory: JobDirectory):
        """A run agent already started for this job (a submit that died before writing its marker)."""
        state = directory.state
        if state and state.get("pid"):
            return str(state["pid"])
        wanted = ["run", directory.path]
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    argv = handle.read().decode(errors="replace").split("\0")
            except OSError:
                continue
            if any(a.endswith("simgate_agent.py") for a in argv) and argv[-3:-1] == wanted:
                return entry
        return None

    def submit(self, job: dict, directory: JobDirectory) -> str:
        with open(directory.file("agent.log"), "ab") as log:
            process = subprocess.Popen(
                agent_command(job, directory), cwd=directory.path, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, close_fds=True, start_new_session=True)
        return str(process.pid)

    def cancel(self, job: dict, directory: JobDirectory, scheduler_job_id) -> bool:
        pid = scheduler_job_id or self.find(job, directory)
        if not pid or not _is_agent_of(int(pid), directory):
            return False
        with contextlib.suppress(ProcessLookupError):
            os.killpg(int(pid), signal.SIGTERM)
        return True


def _is_agent_of(pid: int, directory: JobDirectory) -> bool:
    """Guards against a recycled pid: only this job's agent is ever signalled."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return directory.path in handle.read().decode(errors="replace").split("\0")
    except OSError:
        return False


class Slurm:
    name = "slurm"

    def find(self, job: dict, directory: JobDirectory):
        result = _scheduler_command(["squeue", "-h", "-t", "all", f"--name={slurm_job_name(job)}", "-o", "%i"])
        if result.returncode != 0:
            raise Temporary(f"squeue failed: {result.stderr.strip()[-500:]}")
        ids = result.stdout.split()
        if ids:
            return ids[0]
        state = directory.state  # finished and already gone from squeue
        return state.get("scheduler_job_id") if state else None

    def submit(self, job: dict, directory: JobDirectory) -> str:
        resources = job.get("resources") or {}
        argv = [
            "sbatch", "--parsable",
            f"--job-name={slurm_job_name(job)}",
            f"--comment=simgate job {job['job_id']}",
            f"--chdir={directory.path}",
            f"--output={directory.file('agent.log')}",
            "--open-mode=append",
            "--ntasks=1",
            f"--cpus-per-task={int(resources.get('cores') or 1)}",
        ]
        if resources.get("memory_mb"):
            argv.append(f"--mem={int(resources['memory_mb'])}M")
        if resources.get("wall_time_minutes"):
            argv.append(f"--time={int(resources['wall_time_minutes'])}")
        if resources.get("partition"):
            argv.append(f"--partition={resources['partition']}")
        if resources.get("account"):
            argv.append(f"--account={resources['account']}")
        argv.append("--wrap=exec " + " ".join(shlex.quote(a) for a in agent_command(job, directory)))
        result = _scheduler_command(argv)
        if result.returncode != 0:
            message = result.stderr.strip()[-1000:] or f"sbatch exited with {result.returncode}"
            if _slurm_unavailable(message):
                raise Temporary(message)
            raise Refused(message)
        return result.stdout.strip().split(";")[0]

    def cancel(self, job: dict, directory: JobDirectory, scheduler_job_id) -> bool:
        # By name when the id was never recorded; a finished job's id is "invalid": nothing to stop.
        target = [str(scheduler_job_id)] if scheduler_job_id else [f"--name={slurm_job_name(job)}"]
        result = _scheduler_command(["scancel", *target])
        if result.returncode != 0:
            if "invalid job id" in result.stderr.lower():
                return False
            raise Temporary(f"scancel failed: {result.stderr.strip()[-500:]}")
        return True


def _slurm_unavailable(message: str) -> bool:
    lowered = message.lower()
    return any(s in lowered for s in ("unable to contact slurm controller", "socket timed out",
                                      "connection refused", "slurm_persist_conn", "temporarily unavailable"))


SCHEDULERS = {"direct": Direct(), "slurm": Slurm()}


def scheduler_of(job: dict):
    try:
        return SCHEDULERS[job.get("scheduler", "direct")]
    except KeyError:
        raise Refused(f"unknown scheduler {job.get('scheduler')!r}") from None


# --- commands -------------------------------------------------------------------------------------


def submit(directory: JobDirectory) -> dict:
    """Hand the job to its scheduler once. A repeated call reports the first submission."""
    with directory.lock():
        marker = directory.submission
        if marker:
            shutil.rmtree(directory.file("staged"), ignore_errors=True)
            return {**marker, "resumed": True}
        if directory.cancel_requested:
            return {"cancelled": True}
        found = None
        if os.path.exists(directory.file("job.json")):  # an earlier submit may have died after submitting
            found = scheduler_of(directory.job).find(directory.job, directory)
        if found is None:
            directory.promote_staged()
        else:  # the running job keeps the description it was submitted with
            shutil.rmtree(directory.file("staged"), ignore_errors=True)
        job = directory.job
        scheduler = scheduler_of(job)
        resumed = found is not None
        scheduler_job_id = found if resumed else scheduler.submit(job, directory)
        marker = {"scheduler": scheduler.name, "scheduler_job_id": scheduler_job_id,
                  "token_hash": token_hash(job), "submitted_at": now()}
        write_json(directory.file("submission.json"), marker)
        return {**marker, "resumed": resumed}


def cancel(directory: JobDirectory) -> dict:
    """Stop the job: nothing starts after this, and whatever was submitted is signalled."""
    with open(directory.file("cancel-requested"), "a", encoding="utf-8") as handle:
        handle.write(now() + "\n")
    with directory.lock():
        marker = directory.submission
        state = directory.state or {}
        if state.get("status") in ("finished", "cancelled", "failed"):
            return {"stopped": False, "state": state.get("status")}
        try:
            job = directory.job
        except Temporary:
            return {"stopped": False, "state": "not delivered"}
        scheduler = scheduler_of(job)
        stopped = scheduler.cancel(job, directory, (marker or {}).get("scheduler_job_id"))
        return {"stopped": stopped, "state": state.get("status", "submitted" if marker else "not submitted")}


class _Run:
    """The running job: its entry script as a child, stopped cleanly on SIGTERM (cancel, scancel)."""

    def __init__(self, directory: JobDirectory) -> None:
        self.directory = directory
        self.child = None
        self.stopping = False

    def on_signal(self, signum, _frame) -> None:
        self.stopping = True
        if self.child is not None and self.child.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.child.terminate()

    def wait_for_slot(self, job: dict):
        """Direct runs share the simulator: at most ``max_parallel_jobs`` hold a slot at a time."""
        limit = int(job.get("max_parallel_jobs") or 0)
        if job.get("scheduler") != "direct" or limit < 1:
            return None
        slots = job.get("slots_directory") or os.path.join(os.path.dirname(self.directory.path), ".slots")
        os.makedirs(slots, mode=0o700, exist_ok=True)
        while not self.stopping and not self.directory.cancel_requested:
            for index in range(limit):
                handle = open(os.path.join(slots, f"slot-{index}"), "a")
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return handle  # held until this process exits
                except OSError:
                    handle.close()
            time.sleep(SLOT_POLL_SECONDS)
        return None

    def __call__(self) -> dict:
        directory = self.directory
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, self.on_signal)
        job = directory.job
        directory.set_state(status="queued", pid=os.getpid(), scheduler_job_id=os.environ.get("SLURM_JOB_ID"),
                            queued_at=now())
        slot = self.wait_for_slot(job)
        if self.stopping or directory.cancel_requested:
            return directory.set_state(status="cancelled", ended_at=now())
        directory.set_state(status="running", started_at=now())
        with open(directory.file("stdout.log"), "ab") as out, open(directory.file("stderr.log"), "ab") as err:
            env = {**os.environ, "SIMGATE_JOB_ID": str(job["job_id"]), "SIMGATE_JOB_DIR": directory.path}
            try:
                self.child = subprocess.Popen(job["entry_command"], cwd=directory.file("run"), stdin=subprocess.DEVNULL,
                                              stdout=out, stderr=err, env=env)
            except OSError as exc:
                return directory.set_state(status="failed", ended_at=now(), reason=f"cannot start the entry script: {exc}")
            exit_code = self._wait(job)
        if slot is not None:
            slot.close()
        # The scheduler may signal the script before the agent: the cancel mark says what happened.
        if self.stopping or directory.cancel_requested:
            return directory.set_state(status="cancelled", exit_code=exit_code, ended_at=now())
        if exit_code == "timeout":
            return directory.set_state(status="failed", ended_at=now(),
                                       reason=f"wall time of {job['resources']['wall_time_minutes']} minutes exceeded")
        return directory.set_state(status="finished", exit_code=exit_code, ended_at=now())

    def _wait(self, job: dict):
        minutes = (job.get("resources") or {}).get("wall_time_minutes")
        timeout = float(minutes) * 60 if minutes and job.get("scheduler") == "direct" else None
        while True:
            try:
                return self.child.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.child.terminate()
                try:
                    self.child.wait(KILL_GRACE_SECONDS)
                except subprocess.TimeoutExpired:
                    self.child.kill()
                    self.child.wait()
                return "timeout"
            except InterruptedError:
                continue


def run(directory: JobDirectory) -> dict:
    return _Run(directory)()


COMMANDS = {"submit": submit, "cancel": cancel, "run": run}


def main(argv: list) -> int:
    if len(argv) != 2 or argv[0] not in COMMANDS:
        print(json.dumps({"error": f"usage: simgate_agent.py {{{'|'.join(COMMANDS)}}} <job directory>"}))
        return EXIT_PERMANENT
    os.umask(0o077)
    try:
        result = COMMANDS[argv[0]](JobDirectory(argv[1]))
    except Refused as exc:
        print(json.dumps({"error": str(exc), "permanent": True}))
        return EXIT_PERMANENT
    except (Temporary, OSError) as exc:
        print(json.dumps({"error": str(exc), "permanent": False}))
        return EXIT_TEMPORARY
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
