#!/usr/bin/env python3
"""simgate's agent: the part of a job that lives on the simulator. Python 3 standard library only.

The manager runs it over SSH, one command per round trip. It needs no copy of itself on the simulator:
``BOOTSTRAP`` (a one-line ``python3 -c`` program) reads the agent's source from stdin, then the
command's own input, so starting a job is ONE exec that carries everything:

    start <work dir> <job id>       stdin: the job bundle (JSON: job.json and the rendered scripts).
                                    Under the job's lock: submit exactly once (marker, scheduler
                                    records), unpacking the bundle only when nothing was submitted yet
    cancel <work dir> <job id>      stop the job wherever it is (idempotent); a later start honours it
    status <work dir> <job id>...   what the reconciler asks: many jobs at once, one squeue call
    load <scheduler>                how many simgate jobs this user has queued or running
    deliver <work dir>              stdin: {job id: upload grant}: start a background upload of each
                                    job's outputs (jobs whose agent could not deliver them itself)
    pull <work dir>                 stdin: {job id: {acked, progress, links}}: each job's live channel
                                    read from its directory (sites whose nodes cannot call out)

and, from the job's directory (the scheduler's command and the background uploader):

    simgate_agent.py run <job dir>     runs the case's entry script and reports as it goes
    simgate_agent.py upload <job dir>  uploads the outputs through grant.json, then reports done

``run`` reports to simgate (status webhooks with the job's token, retried with back-off for
``retry_seconds``): running; then cleanup with the output files, which it uploads through the grant it gets back (block upload,
so files of many GiB work), and done with the manifest (name, size, MD5); or failed with the exit
code and the tail of stderr. When the outputs cannot be delivered (simgate or storage unreachable,
the grant expired) the job is NOT failed: the outputs stay, state.json says ``undelivered``, and the
reconciler hands over a fresh grant (``deliver``). Everything is also in state.json.

While the script runs, ``LiveChannel`` posts what changed to the job's live URL, at most once a
second: the progress from $SIMGATE_PROGRESS_FILE ("0.42 optional message"), the bytes of stdout,
stderr and $SIMGATE_SERIES_FILE (CSV rows of named numbers) past the offsets simgate holds, and the
case's live files, uploaded through links it is given. A job of a site whose nodes cannot call out
has no URLs: ``pull`` reads the same from its directory.

Each command prints one JSON object on stdout. Exit status 0 means done, 2 a permanent refusal
(the scheduler rejected the job), 75 a temporary failure worth retrying.

This file is also the one definition of the protocol between the agent and simgate: the app imports
its constants (``BOOTSTRAP``, exit statuses, ``State``, scheduler names, ``content_type``) instead
of copying them, and builds job.json as a ``JobDescription``, the class the agent reads it with.

The scheduler commands are pairs of pure functions, one that builds a command's argv and one that
parses its output (``sbatch_argv``/``parse_sbatch``, ``squeue_states_argv``/``parse_squeue_states``,
...); ``Direct`` and ``Slurm`` only run the one and hand the output to the other.

The job directory:

    job.json              the job description (mode 0600: it holds the job's webhook token)
    simgate_agent.py      this file, written by ``start`` for the scheduler to run
    run/                  the rendered scripts; the entry script's working directory
    submission.json       the submission marker: scheduler, scheduler job id, token hash
    submit.lock           serialises start and cancel (flock: released if the holder dies)
    cancel-requested      written before any cancel; a later start or run honours it
    state.json            what the agent is doing (``State``), with the outputs, the manifest and
                          the last report
    grant.json            a grant handed over by the reconciler, for ``upload`` (mode 0600)
    stdout.log stderr.log the entry script's output; agent.log is the agent's own
    progress              where the entry script may write its progress
    series.csv            where it may append rows of named numbers (a header row first)
    live.json             which live files a pull has taken (sites whose nodes cannot call out)
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from typing import NamedTuple

# Every SSH command starts a new interpreter: the modules only reporting and uploading need (ssl,
# urllib, mimetypes, base64, pathlib: tens of milliseconds) are imported where they are used.

EXIT_PERMANENT = 2
EXIT_TEMPORARY = 75  # EX_TEMPFAIL
EXIT_NOT_FOUND = 127  # the shell's: the simulator has no such command (e.g. no python3)
# `python3 -S -c BOOTSTRAP <command> <args>` with stdin "<length of the agent>\n<agent source><input>":
# the agent runs as __main__ and finds its own source in AGENT_SOURCE. -S: the agent needs the
# standard library only, and skipping site-packages saves most of an interpreter's start-up. The
# compiled agent is kept in ~/.cache/simgate (one file per agent version and Python), so that only a
# simulator's first command of each version compiles it.
PYTHON_FLAGS = ["-S"]
BOOTSTRAP = ("import sys,os,marshal,binascii;i=sys.stdin.buffer;n=int(i.readline());s=i.read(n)\n"
             "p=os.path.expanduser('~/.cache/simgate/agent-%d-%08x-%s'%(n,binascii.crc32(s),"
             "sys.implementation.cache_tag))\n"
             "try:c=marshal.loads(open(p,'rb').read())\n"
             "except Exception:\n"
             " c=compile(s,'simgate_agent.py','exec')\n"
             " try:os.makedirs(os.path.dirname(p),0o700,exist_ok=True);t='%s.%d'%(p,os.getpid());"
             "open(t,'wb').write(marshal.dumps(c));os.replace(t,p)\n"
             " except OSError:pass\n"
             "exec(c,{'__name__':'__main__','AGENT_SOURCE':s})")
LOCK_WAIT_SECONDS = 60
SLOT_POLL_SECONDS = 1.0
KILL_GRACE_SECONDS = 10
STDERR_TAIL = 2000
HTTP_TIMEOUT = 60
RETRY_SECONDS = 300  # how long one request is retried; job.json's "retry_seconds" overrides it
BACKOFF_MAX_SECONDS = 60
SINGLE_PUT_LIMIT = 4 * 1024 * 1024
BLOCK_SIZE = 8 * 1024 * 1024
LOG_FILES = {"logs/stdout.log": "stdout.log", "logs/stderr.log": "stderr.log"}
AGENT_FILE = "simgate_agent.py"

# --- the live channel: what a running job sends besides its status reports ---
# Byte streams, each addressed by byte offset from the start of its file in the job's directory: the
# entry script's stdout and stderr, and the series file it may append rows of named numbers to.
LIVE_STREAMS = {"stdout": "stdout.log", "stderr": "stderr.log", "series": "series.csv"}
LOG_STREAMS = ("stdout", "stderr")
LIVE_INTERVAL_SECONDS = 1.0  # at most one request a second per running job ...
LIVE_POLL_SECONDS = 0.25  # (looked at this often, so that what waits is sent soon after the second is up)
HEARTBEAT_SECONDS = 60.0  # ... nothing while nothing changes, but a heartbeat once a minute
LIVE_FILE_SECONDS = 5.0  # a changed live file is uploaded at most this often
LIVE_CHUNK_BYTES = 1024 * 1024  # storage keeps each stream in chunks of this size ...
LIVE_WINDOW_BYTES = 8 * LIVE_CHUNK_BYTES  # ... and only the last ones: the live window
LIVE_DELTA_BYTES = 256 * 1024  # at most this much of each stream in one request
LIVE_MAX_FILES = 20  # live files a job may have
LIVE_REQUEST_TIMEOUT = 10  # a live request that takes longer is tried again at the next tick
LIVE_BACKOFF_MAX_SECONDS = 30.0  # while simgate cannot be reached, the channel tries this seldom at least
LIVE_FLUSH_SECONDS = 60.0  # before its final report the agent sends what is left for this long at most
PULL_FILE = "live.json"  # where the agent keeps its channel when the site's nodes cannot call out


class State:
    """The agent's own record of a job in state.json: its ``status`` field."""

    QUEUED = "queued"  # waiting for a slot (direct) or started by Slurm
    RUNNING = "running"  # the entry script runs
    FINISHED = "finished"  # the script exited 0; the outputs are being delivered
    UNDELIVERED = "undelivered"  # the outputs could not be delivered; they wait for a new grant
    UPLOADED = "uploaded"  # the outputs are in storage; done was not acknowledged yet
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    ENDED = (FINISHED, UNDELIVERED, UPLOADED, DONE, CANCELLED, FAILED)  # the script is no longer running
    DELIVERABLE = (FINISHED, UNDELIVERED)  # outputs on the simulator that simgate has not got yet


class Refused(Exception):
    """A permanent failure: retrying the same request cannot succeed."""


class Temporary(Exception):
    """A failure that may pass: the manager retries the request."""


def now() -> str:
    return datetime.now(timezone.utc).isoformat()


# --- job.json -------------------------------------------------------------------------------------


# NamedTuples rather than dataclasses: importing dataclasses (and inspect with it) would add some ten
# milliseconds to the start-up of every command.
class JobResources(NamedTuple):
    """What one run needs: sbatch's options under Slurm; under direct the agent enforces the wall time."""

    cores: int = 1
    memory_mb: int | None = None
    wall_time_minutes: float | None = None
    partition: str | None = None
    account: str | None = None

    @classmethod
    def from_dict(cls, document: dict) -> JobResources:
        return cls(
            cores=_read(document, "cores", _integer, 1),
            memory_mb=_read(document, "memory_mb", _integer, None),
            wall_time_minutes=_read(document, "wall_time_minutes", _number, None),
            partition=_read(document, "partition", _string, None),
            account=_read(document, "account", _string, None),
        )


class JobDescription(NamedTuple):
    """job.json, the job's whole world: what to run and with what, where to report and with which token,
    which files are its outputs. The app builds it (shared/domain/bundle.py) and the agent reads it with
    ``from_dict``: this class is its one definition. A field added later needs a default: the app's
    current agent also reads the job.json of jobs started before (start, cancel, status, deliver)."""

    job_id: str
    token: str  # the job's webhook bearer token
    entry_command: tuple[str, ...]  # run in run/
    scheduler: str = "direct"
    python: str | None = None  # the job's own agent runs with it; the command's interpreter if None
    simulator: str = ""
    title: str = ""
    case_id: str = ""
    case_version: int = 0
    outputs: tuple[str, ...] = ()  # glob patterns in run/
    resources: JobResources = JobResources()
    max_parallel_jobs: int = 0  # direct: runs of this simulator at a time (0: no limit)
    status_url: str | None = None  # None: simgate gave no address (AGENT_CALLBACK_URL unset)
    retry_seconds: float = RETRY_SECONDS  # how long one webhook or upload is retried
    ca_bundle: str | None = None  # a CA to trust besides the system's (local stacks)
    slots_directory: str | None = None  # direct: where the slots are; <workdir>/.slots if None
    live_outputs: tuple[str, ...] = ()  # glob patterns in run/ uploaded while the job runs
    live_url: str | None = None  # where the live channel posts; None: no live channel
    pull: bool = False  # the compute node cannot call out: the channel stays in the job's directory

    @classmethod
    def from_dict(cls, document) -> JobDescription:
        """A description read from JSON; Refused says what is wrong with it. A null is an absent value
        and keys it does not know are ignored (a newer app may write more)."""
        if not isinstance(document, dict):
            raise Refused("the job description must be a JSON object")
        resources = _read(document, "resources", _object, {})
        description = cls(
            job_id=_read(document, "job_id", _name),
            token=_read(document, "token", _string),
            entry_command=_read(document, "entry_command", _command),
            scheduler=_read(document, "scheduler", _string, "direct"),
            python=_read(document, "python", _string, None),
            simulator=_read(document, "simulator", _string, ""),
            title=_read(document, "title", _string, ""),
            case_id=_read(document, "case_id", _string, ""),
            case_version=_read(document, "case_version", _integer, 0),
            outputs=_read(document, "outputs", _strings, ()),
            resources=JobResources.from_dict(resources),
            max_parallel_jobs=_read(document, "max_parallel_jobs", _integer, 0),
            status_url=_read(document, "status_url", _string, None),
            retry_seconds=_read(document, "retry_seconds", _number, RETRY_SECONDS),
            ca_bundle=_read(document, "ca_bundle", _string, None),
            slots_directory=_read(document, "slots_directory", _string, None),
            live_outputs=_read(document, "live_outputs", _strings, ()),
            live_url=_read(document, "live_url", _string, None),
            pull=_read(document, "pull", _boolean, False),
        )
        if description.scheduler not in SCHEDULERS:
            raise Refused(f"unknown scheduler {description.scheduler!r}")
        return description

    def to_dict(self) -> dict:
        """As job.json holds it."""
        return {**self._asdict(), "entry_command": list(self.entry_command), "outputs": list(self.outputs),
                "live_outputs": list(self.live_outputs), "resources": self.resources._asdict()}


_REQUIRED = object()


def _read(document: dict, key: str, kind, default=_REQUIRED):
    value = document.get(key)
    if value is None:
        if default is _REQUIRED:
            raise Refused(f"the job description has no {key}")
        return default
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise Refused(f"the job description's {key} is not {kind.__doc__}: {value!r}"[:300]) from None


def _string(value) -> str:
    """a string"""
    if not isinstance(value, str):
        raise TypeError(value)
    return value


def _name(value) -> str:
    """a non-empty string"""
    if not _string(value):
        raise ValueError(value)
    return value


def _strings(value) -> tuple:
    """a list of strings"""
    if not isinstance(value, list):
        raise TypeError(value)
    return tuple(_string(item) for item in value)


def _command(value) -> tuple:
    """a command (a non-empty list of strings)"""
    if not _strings(value):
        raise ValueError(value)
    return tuple(value)


def _boolean(value) -> bool:
    """true or false"""
    if not isinstance(value, bool):
        raise TypeError(value)
    return value


def _integer(value) -> int:
    """an integer"""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(value)
    return value


def _number(value) -> float:
    """a number"""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(value)
    return value


def _object(value) -> dict:
    """an object"""
    if not isinstance(value, dict):
        raise TypeError(value)
    return value


# --- files ----------------------------------------------------------------------------------------


def read_json(path: str):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return None


def write_json(path: str, document, mode: int = 0o600, durable: bool = True) -> None:
    """Write atomically: a reader sees the old document or the new one, never half of one. Durable
    writes (what exactly-once rests on: job.json, the submission marker) reach the disk before they
    count; the frequent state.json updates need not (the reconciler copes with an older one)."""
    partial = f"{path}.{os.getpid()}.part"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(document, handle)
        if durable:
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
    def job(self) -> JobDescription:
        job = read_json(self.file("job.json"))
        if job is None:
            raise Temporary(f"{self.file('job.json')} is missing: the job was not delivered")
        return JobDescription.from_dict(job)

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
        write_json(self.file("state.json"), state, durable=False)
        return state

    def unpack(self, bundle: dict, agent_source: bytes) -> None:
        """Put a job bundle in place: job.json (0600, it holds the token), run/<scripts>, and this
        agent for the scheduler to run. Only ever done before the job is submitted."""
        scripts = bundle.get("scripts")
        if not isinstance(bundle.get("job"), dict) or not isinstance(scripts, dict):
            raise Refused("the job bundle needs a job description and scripts")
        job = JobDescription.from_dict(bundle["job"])
        if job.job_id != os.path.basename(self.path):
            raise Refused(f"the job bundle is for job {job.job_id}, not {os.path.basename(self.path)}")
        for name in scripts:
            if not isinstance(name, str) or not name or name.startswith(".") or "/" in name or "\\" in name:
                raise Refused(f"not a script name: {name!r}")
        shutil.rmtree(self.file("run"), ignore_errors=True)
        os.makedirs(self.file("run"), mode=0o700)
        for name, text in scripts.items():
            write_file(self.file("run", name), str(text).encode(), 0o700)
        write_file(self.file(AGENT_FILE), agent_source, 0o700)
        write_json(self.file("job.json"), job.to_dict())


def write_file(path: str, content: bytes, mode: int) -> None:
    partial = f"{path}.{os.getpid()}.part"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)
    os.chmod(partial, mode)
    os.replace(partial, path)


def token_hash(job: JobDescription) -> str:
    return hashlib.sha256(job.token.encode()).hexdigest()


# --- scheduler commands: pure builders of argv and pure parsers of what the commands answer ----------


SLURM_NAME_PREFIX = "simgate-"
# Slurm states in which the batch script (the run agent) may still be alive.
SLURM_ACTIVE = {"PENDING", "CONFIGURING", "RUNNING", "SUSPENDED", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED",
                "RESIZING", "SIGNALING", "STOPPED", "RESV_DEL_HOLD", "POWER_UP_NODE"}
# What Slurm's client commands say when the controller cannot be reached: worth retrying, and no
# verdict on any job.
SLURM_UNAVAILABLE = ("unable to contact slurm controller", "socket timed out", "connection refused",
                     "slurm_persist_conn", "temporarily unavailable", "zero bytes were transmitted or received",
                     "communication connection failure")
SLURM_NO_SUCH_JOB = ("invalid job id", "already completing or completed")
MESSAGE_TAIL = 500


def agent_argv(python: str, job_dir: str, command: str = "run") -> list:
    """The job's own agent running ``command`` on its directory (the Slurm batch job, the uploader)."""
    return [python, *PYTHON_FLAGS, os.path.join(job_dir, AGENT_FILE), command, job_dir]


def is_agent_cmdline(cmdline: bytes) -> bool:
    """Whether a process's /proc/<pid>/cmdline (arguments separated by NULs) runs this agent."""
    return AGENT_FILE in cmdline.decode(errors="replace")


def slurm_job_name(job_id: str) -> str:
    return f"{SLURM_NAME_PREFIX}{job_id}"


def slurm_unavailable(message: str) -> bool:
    lowered = message.lower()
    return any(words in lowered for words in SLURM_UNAVAILABLE)


def _tail(text: str, length: int = MESSAGE_TAIL) -> str:
    return text.strip()[-length:]


def sbatch_argv(job: JobDescription, job_dir: str, python: str) -> list:
    """Submit the job's agent as a batch job named after the job, with the case's resources."""
    return [
        "sbatch", "--parsable",
        f"--job-name={slurm_job_name(job.job_id)}",
        f"--comment=simgate job {job.job_id}",
        f"--chdir={job_dir}",
        f"--output={os.path.join(job_dir, 'agent.log')}",
        "--open-mode=append",
        *resource_options(job.resources),
        "--wrap=exec " + " ".join(shlex.quote(a) for a in agent_argv(python, job_dir)),
    ]


def resource_options(resources: JobResources) -> list:
    """sbatch's options for what one run needs."""
    options = ["--ntasks=1", f"--cpus-per-task={int(resources.cores or 1)}"]
    if resources.memory_mb:
        options.append(f"--mem={int(resources.memory_mb)}M")
    if resources.wall_time_minutes:
        options.append(f"--time={int(resources.wall_time_minutes)}")
    if resources.partition:
        options.append(f"--partition={resources.partition}")
    if resources.account:
        options.append(f"--account={resources.account}")
    return options


def parse_sbatch(returncode: int, stdout: str, stderr: str) -> str:
    """The Slurm job id that ``sbatch --parsable`` printed ("123", or "123;cluster" on a federation).
    Refused when Slurm refused the job (partition, account, limits); Temporary when its controller
    could not be reached, or when sbatch said nothing readable (the job may be queued all the same:
    the next start finds it by name)."""
    if returncode != 0:
        message = _tail(stderr, 1000) or f"sbatch exited with {returncode}"
        raise (Temporary if slurm_unavailable(message) else Refused)(message)
    for line in reversed(stdout.splitlines()):
        job_id = line.strip().partition(";")[0]
        if job_id.isdigit():
            return job_id
    raise Temporary(f"sbatch printed no job id: {_tail(stdout) or _tail(stderr) or 'nothing'}")


def _squeue_rows(returncode: int, stdout: str, stderr: str) -> list:
    """The fields of each line squeue listed (its -o format, "|" between fields). A job squeue does
    not know is a job not listed; any other failure is Temporary: it says nothing about the jobs."""
    if returncode != 0:
        if "invalid job id" in stderr.lower():
            return []
        raise Temporary(f"squeue failed: {_tail(stderr) or f'exit status {returncode}'}")
    return [line.strip().split("|") for line in stdout.splitlines() if line.strip()]


def _state(field_text: str):
    """A state as squeue shows it, without what may follow it (a pending reason); None when blank."""
    words = field_text.split()
    return words[0].upper() if words else None


def _rank(state) -> int:
    """How much a listing of a job tells: a live entry more than an ended one, a blank one least."""
    return 2 if state in SLURM_ACTIVE else 1 if state else 0


def squeue_find_argv(job_id: str) -> list:
    return ["squeue", "-h", "-t", "all", f"--name={slurm_job_name(job_id)}", "-o", "%i|%T"]


def parse_squeue_find(returncode: int, stdout: str, stderr: str):
    """The Slurm job id of the job listed by name, a live entry before an ended one; None if none is."""
    found = None
    for row in _squeue_rows(returncode, stdout, stderr):
        job_id, state = row[0], _state(row[1] if len(row) > 1 else "")
        if job_id and (found is None or _rank(state) > _rank(found[1])):
            found = (job_id, state)
    return found[0] if found else None


def squeue_states_argv(job_ids: list) -> list:
    """One squeue call for many jobs; finished ones stay listed for Slurm's MinJobAge."""
    names = ",".join(slurm_job_name(job_id) for job_id in job_ids)
    return ["squeue", "-h", "-t", "all", f"--name={names}", "-o", "%j|%T"]


def parse_squeue_states(job_ids: list, returncode: int, stdout: str, stderr: str) -> dict:
    """job id -> Slurm state (None when squeue showed a blank one) of each of ``job_ids`` listed. A
    requeued job may be listed twice: the live entry wins."""
    wanted = set(job_ids)
    states = {}
    for row in _squeue_rows(returncode, stdout, stderr):
        name, state = row[0], _state(row[1] if len(row) > 1 else "")
        job_id = name[len(SLURM_NAME_PREFIX):] if name.startswith(SLURM_NAME_PREFIX) else None
        if job_id in wanted and (job_id not in states or _rank(state) >= _rank(states[job_id])):
            states[job_id] = state
    return states


def squeue_load_argv() -> list:
    return ["squeue", "-h", "--me", "-o", "%j"]


def parse_squeue_load(returncode: int, stdout: str, stderr: str) -> int:
    """How many of the listed jobs (queued or running) are simgate's."""
    return sum(1 for row in _squeue_rows(returncode, stdout, stderr) if row[0].startswith(SLURM_NAME_PREFIX))


def sbatch_test_argv(resources: JobResources) -> list:
    """Ask Slurm when it would start a run with these resources, submitting nothing."""
    return ["sbatch", "--test-only", *resource_options(resources), "--wrap=true"]


_TEST_ONLY = re.compile(r"to start at (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)")


def parse_sbatch_test(returncode: int, stdout: str, stderr: str, zone=None):
    """When Slurm said it would start the run ("sbatch: Job 7 to start at 2026-12-07T10:00:00 using 1
    processors on nodes n1 in partition debug"), in UTC (ISO 8601); None when it said no time. The
    time is the cluster's local time (``zone``: this machine's when None). Refused when Slurm refused
    the resources; Temporary when its controller could not be reached."""
    if returncode != 0:
        message = _tail(stderr, 1000) or f"sbatch --test-only exited with {returncode}"
        raise (Temporary if slurm_unavailable(message) else Refused)(message)
    found = _TEST_ONLY.search(stderr + "\n" + stdout)
    if not found:
        return None
    local = datetime.strptime(found.group(1), "%Y-%m-%dT%H:%M:%S")
    at = local.replace(tzinfo=zone) if zone is not None else local.astimezone()
    return at.astimezone(timezone.utc).isoformat()


def scancel_argv(job_id: str, scheduler_job_id=None) -> list:
    """By the Slurm job id; by the job's name when that was never recorded."""
    return ["scancel", str(scheduler_job_id) if scheduler_job_id else f"--name={slurm_job_name(job_id)}"]


def parse_scancel(returncode: int, stdout: str, stderr: str) -> bool:
    """Whether a job was signalled: a job Slurm no longer knows, or that has already ended, had nothing
    left to stop."""
    if any(words in stderr.lower() for words in SLURM_NO_SUCH_JOB):
        return False
    if returncode != 0:
        raise Temporary(f"scancel failed: {_tail(stderr) or f'exit status {returncode}'}")
    return True


# --- schedulers: run the built argv, hand the output to its parser -----------------------------------


def run_command(argv: list, timeout: float = 60) -> tuple:
    """(exit status, stdout, stderr) of a scheduler command."""
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError:
        raise Refused(f"{argv[0]} is not installed on this simulator") from None
    except subprocess.TimeoutExpired:
        raise Temporary(f"{argv[0]} did not answer within {timeout:.0f} s") from None
    return result.returncode, result.stdout, result.stderr


def run_python(job: JobDescription) -> str:
    return job.python or sys.executable


def detached(argv: list, directory: JobDirectory) -> int:
    """Start ``argv`` in its own session, out of the SSH session's reach; its pid."""
    with open(directory.file("agent.log"), "ab") as log:
        process = subprocess.Popen(argv, cwd=directory.path, stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, close_fds=True, start_new_session=True)
    return process.pid


class Direct:
    """simgate is the scheduler: the agent runs detached, in its own session and process group."""

    name = "direct"

    def find(self, job: JobDescription, directory: JobDirectory):
        """A run agent already started for this job (a start that died before writing its marker)."""
        state = directory.state
        if state and state.get("pid"):
            return str(state["pid"])
        return next((pid for pid, cwd in running_agents() if cwd == directory.path), None)

    def load(self) -> int:
        return sum(1 for _ in running_agents())

    def estimate(self, resources: JobResources):
        return None  # simgate's governor decides when a direct run starts

    def submit(self, job: JobDescription, directory: JobDirectory) -> str:
        return str(fork_agent(directory))

    def cancel(self, job: JobDescription, directory: JobDirectory, scheduler_job_id) -> bool:
        pid = scheduler_job_id or self.find(job, directory)
        if not pid or not _is_agent_of(int(pid), directory):
            return False
        with contextlib.suppress(ProcessLookupError):
            os.killpg(int(pid), signal.SIGTERM)
        return True


def fork_agent(directory: JobDirectory) -> int:
    """Run the job's agent in a child of this command, detached from it (its own session, its output in
    agent.log, its working directory the job's): quicker than a new interpreter, which would load the
    agent all over again. The child never returns here."""
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        os.setsid()
        os.chdir(directory.path)
        log = os.open(directory.file("agent.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.closerange(3, os.sysconf("SC_OPEN_MAX"))  # the job's lock and the SSH session stay with the parent
        run(directory)
        code = 0
    except BaseException:  # noqa: BLE001 - whatever ends the agent is written to agent.log
        import traceback

        traceback.print_exc()
    finally:
        os._exit(code)


def running_agents():
    """(pid, job directory) of every agent of this user at work on a job: a process whose command
    names the agent and whose working directory is a job's (it holds a job.json)."""
    uid = os.getuid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.stat(f"/proc/{entry}").st_uid != uid:
                continue
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                if not is_agent_cmdline(handle.read()):
                    continue
            cwd = os.readlink(f"/proc/{entry}/cwd")
        except OSError:
            continue
        if os.path.exists(os.path.join(cwd, "job.json")):
            yield entry, cwd


def _is_agent_of(pid: int, directory: JobDirectory) -> bool:
    """Guards against a recycled pid: only this job's agent is ever signalled."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            cmdline = handle.read()
        return is_agent_cmdline(cmdline) and os.readlink(f"/proc/{pid}/cwd") == directory.path
    except OSError:
        return False


class Slurm:
    name = "slurm"

    def find(self, job: JobDescription, directory: JobDirectory):
        found = parse_squeue_find(*run_command(squeue_find_argv(job.job_id)))
        if found:
            return found
        state = directory.state  # finished and already gone from squeue
        return state.get("scheduler_job_id") if state else None

    def submit(self, job: JobDescription, directory: JobDirectory) -> str:
        return parse_sbatch(*run_command(sbatch_argv(job, directory.path, run_python(job))))

    def load(self) -> int:
        return parse_squeue_load(*run_command(squeue_load_argv()))

    def estimate(self, resources: JobResources):
        return parse_sbatch_test(*run_command(sbatch_test_argv(resources)))

    def states(self, job_ids: list) -> dict:
        if not job_ids:
            return {}
        return parse_squeue_states(job_ids, *run_command(squeue_states_argv(job_ids)))

    def cancel(self, job: JobDescription, directory: JobDirectory, scheduler_job_id) -> bool:
        return parse_scancel(*run_command(scancel_argv(job.job_id, scheduler_job_id)))


SCHEDULERS = {"direct": Direct(), "slurm": Slurm()}


# --- talking to simgate ---------------------------------------------------------------------------


class Rejected(Exception):
    """simgate or storage refused a request (4xx): retrying it cannot help."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


def _ssl_context(job: JobDescription):
    import ssl

    return ssl.create_default_context(cafile=job.ca_bundle or None)


def _request(job: JobDescription, method: str, url: str, body: bytes = b"", headers=None, retry_seconds=None,
             timeout: float = HTTP_TIMEOUT):
    """Send with retries and exponential back-off on network errors, 5xx and 429, for up to the job's
    retry time (or ``retry_seconds``; 0: one attempt); Rejected on 4xx. What still fails is left in
    state.json for the reconciler."""
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + float((job.retry_seconds or RETRY_SECONDS) if retry_seconds is None else retry_seconds)
    delay = 1.0
    while True:
        request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=timeout, context=_ssl_context(job)) as response:
                return response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:2000].decode(errors="replace")
            if exc.code < 500 and exc.code != 429:
                raise Rejected(f"{method} answered {exc.code}: {detail}", exc.code) from None
            error = f"{method} answered {exc.code}: {detail}"
        except (urllib.error.URLError, OSError) as exc:
            error = f"{method} failed: {exc}"
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise Temporary(error)
        time.sleep(min(delay, remaining))
        delay = min(delay * 2, BACKOFF_MAX_SECONDS)


class Reporter:
    """Status webhooks to the job's status URL; each report is also noted in state.json."""

    def __init__(self, job: JobDescription, directory: JobDirectory) -> None:
        self.job = job
        self.directory = directory

    def __call__(self, status: str, **fields) -> dict:
        url = self.job.status_url
        if not url:
            return {}
        if fields.get("detail"):  # simgate takes one line of plain text: the script's words may be anything
            fields["detail"] = one_line(fields["detail"], 2000)
        body = json.dumps({"status": status, **fields}).encode()
        headers = {"Authorization": f"Bearer {self.job.token}", "Content-Type": "application/json"}
        try:
            answer = json.loads(_request(self.job, "PATCH", url, body, headers) or b"{}")
        except (Rejected, Temporary) as exc:
            self.directory.set_state(last_report={"status": status, "error": str(exc), "at": now()})
            raise
        self.directory.set_state(last_report={"status": status, "answer": answer.get("status"), "at": now()})
        return answer


def upload(job: JobDescription, url: str, path: str, content_type: str, **sending) -> str:
    """Put one file into its blob (in blocks when large); its MD5 as hex. ``sending``: ``_request``'s
    retry_seconds and timeout."""
    import base64

    md5 = hashlib.md5()
    size = os.path.getsize(path)
    common = {"x-ms-version": "2021-08-06", "x-ms-blob-content-type": content_type}
    with open(path, "rb") as handle:
        if size <= SINGLE_PUT_LIMIT:
            data = handle.read()
            md5.update(data)
            digest = base64.b64encode(md5.digest()).decode()
            _request(job, "PUT", url, data, {**common, "x-ms-blob-type": "BlockBlob", "Content-MD5": digest,
                                             "x-ms-blob-content-md5": digest}, **sending)
            return md5.hexdigest()
        blocks = []
        while True:
            data = handle.read(BLOCK_SIZE)
            if not data:
                break
            md5.update(data)
            block_id = base64.b64encode(f"{len(blocks):08d}".encode()).decode()
            _request(job, "PUT", _with_query(url, comp="block", blockid=block_id), data,
                     {"x-ms-version": common["x-ms-version"],
                      "Content-MD5": base64.b64encode(hashlib.md5(data).digest()).decode()}, **sending)
            blocks.append(block_id)
    listing = "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>" + "".join(
        f"<Latest>{b}</Latest>" for b in blocks) + "</BlockList>"
    _request(job, "PUT", _with_query(url, comp="blocklist"), listing.encode(),
             {**common, "x-ms-blob-content-md5": base64.b64encode(md5.digest()).decode(),
              "Content-Type": "application/xml"}, **sending)
    return md5.hexdigest()


def _with_query(url: str, **params: str) -> str:
    import urllib.parse

    return f"{url}&{urllib.parse.urlencode(params)}" if "?" in url else f"{url}?{urllib.parse.urlencode(params)}"


# --- the live channel -----------------------------------------------------------------------------


def skip_ahead(acked: int, size: int) -> int:
    """Where a sender more than a window behind resumes: the first chunk start from which the rest fits
    in the window (never before ``acked``). The bytes skipped reach simgate only in the final log."""
    if size - acked <= LIVE_WINDOW_BYTES:
        return acked
    return max(acked, -(-(size - LIVE_WINDOW_BYTES) // LIVE_CHUNK_BYTES) * LIVE_CHUNK_BYTES)


def one_line(text: str, limit: int) -> str:
    """Text as simgate takes it in a report: one line of printable characters, at most ``limit``."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())[:limit]


def read_progress(directory: JobDirectory):
    """(fraction, message) from the progress file ("0.42 optional message"), or None."""
    try:
        with open(directory.file("progress"), encoding="utf-8") as handle:
            text = handle.read(600).strip()
        fraction, _, message = text.partition(" ")
        value = min(1.0, max(0.0, float(fraction)))
    except (OSError, ValueError):
        return None
    return value, one_line(message, 500)


def stream_delta(directory: JobDirectory, acked: dict) -> dict:
    """{stream: {offset, data (base64)}}: what each stream has past the offset simgate has it up to, at
    most LIVE_DELTA_BYTES of each."""
    import base64

    delta = {}
    for stream, name in LIVE_STREAMS.items():
        try:
            size = os.path.getsize(directory.file(name))
        except OSError:
            continue
        start = skip_ahead(int(acked.get(stream, 0)), size)
        if size <= start:
            continue
        with open(directory.file(name), "rb") as handle:
            handle.seek(start)
            data = handle.read(min(LIVE_DELTA_BYTES, size - start))
        delta[stream] = {"offset": start, "data": base64.b64encode(data).decode()}
    return delta


def behind(directory: JobDirectory, acked: dict) -> bool:
    """Whether any stream has bytes simgate does not have yet."""
    for stream, name in LIVE_STREAMS.items():
        try:
            size = os.path.getsize(directory.file(name))
        except OSError:
            continue
        if size > skip_ahead(int(acked.get(stream, 0)), size):
            return True
    return False


def live_files(job: JobDescription, directory: JobDirectory) -> dict:
    """name -> (path, (mtime_ns, size)) of the files matching the case's live patterns in run/."""
    from pathlib import Path

    run_dir = Path(directory.file("run"))
    found = {}
    for pattern in job.live_outputs:
        for path in sorted(run_dir.glob(pattern)):
            if len(found) >= LIVE_MAX_FILES:
                return found
            if path.is_file() and not path.is_symlink():
                stat = path.stat()
                found[path.relative_to(run_dir).as_posix()] = (str(path), (stat.st_mtime_ns, stat.st_size))
    return found


class LiveFiles:
    """Which live files changed since they were last taken, and taking them through their links."""

    def __init__(self, job: JobDescription, directory: JobDirectory, taken=None) -> None:
        self.job = job
        self.directory = directory
        self.taken = dict(taken or {})  # name -> [mtime_ns, size, when taken (epoch seconds)]

    def due(self, final: bool = False) -> dict:
        """name -> path of the files changed since last taken, and not taken for LIVE_FILE_SECONDS."""
        due = {}
        for name, (path, version) in live_files(self.job, self.directory).items():
            last = self.taken.get(name)
            if last and list(version) == last[:2]:
                continue
            if last and not final and time.time() - last[2] < LIVE_FILE_SECONDS:
                continue
            due[name] = path
        return due

    def take(self, files: dict, links: dict) -> list:
        """Upload each file that has a link (one attempt each); the names that still want one."""
        wanting = []
        for name, path in files.items():
            if name not in links:
                wanting.append(name)
                continue
            try:
                stat = os.stat(path)
                upload(self.job, links[name], path, content_type(name), retry_seconds=0, timeout=LIVE_REQUEST_TIMEOUT)
            except Rejected:  # the link expired: ask for another
                links.pop(name, None)
                wanting.append(name)
                continue
            except (Temporary, OSError):
                continue  # storage unreachable, or the file went away: the next tick tries again
            self.taken[name] = [stat.st_mtime_ns, stat.st_size, time.time()]
        return wanting


class LiveChannel:
    """What a running job sends besides its status reports (POST to the job's live URL): progress, the
    streams' new bytes and changed live files, coalesced into at most one request every
    LIVE_INTERVAL_SECONDS, nothing while nothing changed except a heartbeat every HEARTBEAT_SECONDS.

    Bytes are sent from where simgate's last answer says it has each stream, so a lost answer or an
    outage loses nothing: the files are the buffer. While simgate cannot be reached the channel tries
    again less and less often (up to LIVE_BACKOFF_MAX_SECONDS apart); a sender more than a window
    behind skips ahead (the bytes skipped reach simgate in the final log). The terminal status report
    stays the Reporter's, exactly once."""

    def __init__(self, job: JobDescription, directory: JobDirectory, clock=time.monotonic, sleep=time.sleep) -> None:
        self.job = job
        self.directory = directory
        self.clock = clock
        self.sleep = sleep
        self.acked: dict = {}
        self.progress = None  # (fraction, message) as simgate has it
        self.files = LiveFiles(job, directory)
        self.links: dict = {}
        self.links_until = 0.0
        self.last_sent = float("-inf")
        self.next_attempt = 0.0
        self.failures = 0
        self.closed = not job.live_url or job.pull  # pull: the app reads the job's directory instead

    def tick(self, final: bool = False) -> bool:
        """Send what changed, if it is time to; whether bytes are still waiting to be sent."""
        now = self.clock()
        if self.closed:
            return False
        if now < self.next_attempt or now - self.last_sent < LIVE_INTERVAL_SECONDS:
            return True
        if now > self.links_until:
            self.links = {}
        body: dict = {}
        progress = read_progress(self.directory)
        if progress is not None and progress != self.progress:
            body["progress"], body["message"] = progress
        streams = stream_delta(self.directory, self.acked)
        if streams:
            body["streams"] = streams
        wanting = self.files.take(self.files.due(final), self.links)
        if wanting:
            body["links"] = wanting
        if not body and now - self.last_sent < HEARTBEAT_SECONDS:
            return False
        answer = self._send(body, now)
        if answer is None:
            return not self.closed
        self.acked.update({k: v for k, v in (answer.get("streams") or {}).items() if isinstance(v, int)})
        if progress is not None and "progress" in body:
            self.progress = progress
        if answer.get("links"):
            self.links.update(answer["links"])
            self.links_until = now + 45 * 60  # links last an hour: renewed well before
            self.files.take({name: path for name, path in self.files.due(True).items() if name in answer["links"]},
                            self.links)
        return behind(self.directory, self.acked)

    def flush(self, deadline_seconds: float = LIVE_FLUSH_SECONDS) -> None:
        """Before the final report: send what is left (live files too, whatever their pace)."""
        deadline = self.clock() + deadline_seconds
        while not self.closed and self.clock() < deadline:
            due = max(self.next_attempt, self.last_sent + LIVE_INTERVAL_SECONDS)  # one a second, even now
            if self.clock() < due:
                self.sleep(max(0.0, min(due, deadline) - self.clock()))
            if not self.tick(final=True) and not self.files.due(True):
                return

    def _send(self, body: dict, at: float):
        headers = {"Authorization": f"Bearer {self.job.token}", "Content-Type": "application/json"}
        self.last_sent = at
        try:
            answer = json.loads(_request(self.job, "POST", self.job.live_url, json.dumps(body).encode(), headers,
                                         retry_seconds=0, timeout=LIVE_REQUEST_TIMEOUT) or b"{}")
        except (Rejected, Temporary) as exc:
            if isinstance(exc, Rejected) and exc.status in (401, 404):
                self.closed = True  # the job has finished (its token died with it) or is gone
            self.failures += 1
            self.next_attempt = at + min(2.0 ** self.failures, LIVE_BACKOFF_MAX_SECONDS)
            self.directory.set_state(live_error={"error": str(exc)[:500], "at": now()})
            return None
        self.failures = 0
        self.next_attempt = 0.0
        return answer if isinstance(answer, dict) else {}


def output_files(job: JobDescription, directory: JobDirectory) -> dict:
    """name -> local path: the files matching the case's output patterns in run/, then the logs."""
    from pathlib import Path

    run_dir = Path(directory.file("run"))
    found = {}
    for pattern in job.outputs:
        for path in sorted(run_dir.glob(pattern)):
            if path.is_file() and not path.is_symlink():  # never a link out of the job's directory
                found[path.relative_to(run_dir).as_posix()] = str(path)
    for name, log in LOG_FILES.items():
        if os.path.exists(directory.file(log)):
            found[name] = directory.file(log)
    return found


def content_type(name: str) -> str:
    """An output's content type, by its name; the app lists outputs with the same function."""
    import mimetypes

    if name.endswith((".log", ".out", ".err")):
        return "text/plain"
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def stderr_tail(directory: JobDirectory) -> str:
    try:
        with open(directory.file("stderr.log"), "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - STDERR_TAIL))
            return handle.read().decode(errors="replace")
    except OSError:
        return ""


# --- commands -------------------------------------------------------------------------------------


def job_directory(workdir: str, job_id: str) -> JobDirectory:
    if not job_id or "/" in job_id or "\\" in job_id or job_id.startswith("."):
        raise Refused(f"not a job id: {job_id!r}")
    return JobDirectory(os.path.join(workdir, job_id))


def json_object(data: bytes, what: str, shape: str) -> dict:
    """A command's input: a JSON object, or Refused saying what it should have been."""
    try:
        document = json.loads(data or b"{}")
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise Refused(f"{what} must be a JSON object: {shape}")
    return document


def own_source() -> bytes:
    """This agent's source: given by the bootstrap on stdin, or read from this file."""
    source = globals().get("AGENT_SOURCE")
    if source is None:
        with open(os.path.abspath(__file__), "rb") as handle:
            source = handle.read()
    return source


def start(workdir: str, job_id: str, bundle_bytes: bytes) -> dict:
    """Hand the job to its scheduler exactly once. A repeated call (a redelivered start, a start
    after a crash at any point) reports the first submission and changes nothing."""
    directory = job_directory(workdir, job_id)
    os.makedirs(directory.path, mode=0o700, exist_ok=True)
    with directory.lock():
        marker = directory.submission
        if marker:
            return {**marker, "resumed": True}
        if directory.cancel_requested:
            return {"cancelled": True}
        found = None
        if os.path.exists(directory.file("job.json")):  # an earlier start may have died after submitting
            submitted = directory.job
            found = SCHEDULERS[submitted.scheduler].find(submitted, directory)
        if found is None:  # nothing runs this job: this delivery's bundle is the one to run
            directory.unpack(json_object(bundle_bytes, "the job bundle", "a job description and scripts"),
                             own_source())
        job = directory.job  # a job already submitted keeps the description it was submitted with
        scheduler = SCHEDULERS[job.scheduler]
        resumed = found is not None
        scheduler_job_id = found if resumed else scheduler.submit(job, directory)
        marker = {"scheduler": scheduler.name, "scheduler_job_id": scheduler_job_id,
                  "token_hash": token_hash(job), "submitted_at": now()}
        write_json(directory.file("submission.json"), marker)
        return {**marker, "resumed": resumed}


def cancel(workdir: str, job_id: str) -> dict:
    """Stop the job: nothing starts after this, and whatever was submitted is signalled."""
    directory = job_directory(workdir, job_id)
    os.makedirs(directory.path, mode=0o700, exist_ok=True)
    with open(directory.file("cancel-requested"), "a", encoding="utf-8") as handle:
        handle.write(now() + "\n")
    with directory.lock():
        marker = directory.submission
        state = directory.state or {}
        if state.get("status") in State.ENDED:
            return {"stopped": False, "state": state.get("status")}
        try:
            job = directory.job
        except Temporary:
            return {"stopped": False, "state": "not delivered"}
        scheduler = SCHEDULERS[job.scheduler]
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

    def wait_for_slot(self, job: JobDescription):
        """Direct runs share the simulator: at most ``max_parallel_jobs`` hold a slot at a time."""
        limit = job.max_parallel_jobs
        if job.scheduler != "direct" or limit < 1:
            return None
        slots = job.slots_directory or os.path.join(os.path.dirname(self.directory.path), ".slots")
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
        report = Reporter(job, directory)
        directory.set_state(status=State.QUEUED, pid=os.getpid(), scheduler_job_id=os.environ.get("SLURM_JOB_ID"),
                            queued_at=now())
        slot = self.wait_for_slot(job)
        if self.stopping or directory.cancel_requested:
            return directory.set_state(status=State.CANCELLED, ended_at=now())
        directory.set_state(status=State.RUNNING, started_at=now())
        with contextlib.suppress(Rejected, Temporary):  # a lost "running" is repaired by the reconciler
            report("running", detail=f"running on {job.simulator or 'the simulator'}")
        with open(directory.file("stdout.log"), "ab") as out, open(directory.file("stderr.log"), "ab") as err:
            env = {**os.environ, "SIMGATE_JOB_ID": job.job_id, "SIMGATE_JOB_DIR": directory.path,
                   "SIMGATE_PROGRESS_FILE": directory.file("progress"),
                   "SIMGATE_SERIES_FILE": directory.file(LIVE_STREAMS["series"])}
            try:
                self.child = subprocess.Popen(list(job.entry_command), cwd=directory.file("run"),
                                              stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env)
            except OSError as exc:
                return self.fail(report, f"cannot start the entry script: {exc}")
            channel = LiveChannel(job, directory)
            exit_code = self._wait(job, channel)
        if slot is not None:
            slot.close()
        channel.flush()  # the log tail ends complete before the final report
        # The scheduler may signal the script before the agent: the cancel mark says what happened.
        if self.stopping or directory.cancel_requested:
            return directory.set_state(status=State.CANCELLED, exit_code=exit_code, ended_at=now())
        if exit_code == "timeout":
            return self.fail(report, f"wall time of {job.resources.wall_time_minutes:g} minutes exceeded")
        if exit_code != 0:
            return self.fail(report, "the entry script failed", exit_code=exit_code)
        directory.set_state(status=State.FINISHED, exit_code=0, ended_at=now())
        return self.deliver(job, report)

    def fail(self, report: Reporter, reason: str, exit_code=None) -> dict:
        tail = stderr_tail(self.directory)
        state = self.directory.set_state(status=State.FAILED, reason=reason, exit_code=exit_code, ended_at=now())
        with contextlib.suppress(Rejected, Temporary):
            report("failed", detail=reason, exit_code=exit_code, stderr_tail=tail[-STDERR_TAIL:] or None)
        return state

    def deliver(self, job: JobDescription, report: Reporter) -> dict:
        """cleanup (with the files) -> upload through the grant it answers -> done (with the manifest).
        Outputs that cannot be delivered stay, as ``undelivered``, for the reconciler's grant."""
        directory = self.directory
        if not job.status_url:  # simgate gave no address (AGENT_CALLBACK_URL unset)
            return directory.set_state(reason="job.json has no status URL: the outputs cannot be delivered")
        files = output_files(job, directory)
        listed = [{"name": name, "size": os.path.getsize(path)} for name, path in files.items()]
        directory.set_state(files=listed)
        try:
            answer = report("cleanup", detail=f"uploading {len(files)} files", files=listed)
        except Temporary as exc:
            return undelivered(directory, f"simgate did not take the cleanup report: {exc}")
        except Rejected as exc:
            return self.fail(report, f"simgate refused the outputs: {exc}")
        return deliver_outputs(job, directory, report, (answer.get("upload") or {}).get("files") or {})

    def _wait(self, job: JobDescription, channel: LiveChannel):
        minutes = job.resources.wall_time_minutes
        limit = float(minutes) * 60 if minutes and job.scheduler == "direct" else None
        deadline = time.monotonic() + limit if limit else None
        while True:
            try:
                return self.child.wait(timeout=LIVE_POLL_SECONDS)
            except subprocess.TimeoutExpired:
                pass
            channel.tick()
            if deadline is not None and time.monotonic() > deadline:
                self.child.terminate()
                try:
                    self.child.wait(KILL_GRACE_SECONDS)
                except subprocess.TimeoutExpired:
                    self.child.kill()
                    self.child.wait()
                return "timeout"


def run(directory: JobDirectory) -> dict:
    return _Run(directory)()


def undelivered(directory: JobDirectory, reason: str) -> dict:
    """The outputs stay on the simulator until the reconciler hands over a new grant."""
    return directory.set_state(status=State.UNDELIVERED, reason=reason, ended_at=now())


def deliver_outputs(job: JobDescription, directory: JobDirectory, report: Reporter, urls: dict) -> dict:
    """Upload each output through its link, then report done with the manifest (name, size, MD5)."""
    files = output_files(job, directory)
    manifest = []
    try:
        for name, path in files.items():
            if name not in urls:
                return undelivered(directory, f"the upload grant has no link for {name}")
            md5 = upload(job, urls[name], path, content_type(name))
            manifest.append({"name": name, "size": os.path.getsize(path), "md5": md5})
    except (Rejected, Temporary) as exc:  # storage unreachable, or the grant expired: a new one helps
        return undelivered(directory, f"uploading the outputs failed: {exc}")
    directory.set_state(status=State.UPLOADED, manifest=manifest)
    try:
        report("done", detail=f"{len(manifest)} outputs uploaded", files=manifest)
    except Temporary:  # the outputs are in storage: the reconciler finishes the job from "uploaded"
        return directory.set_state(ended_at=now())
    except Rejected as exc:
        return undelivered(directory, f"simgate refused the outputs: {exc}")
    return directory.set_state(status=State.DONE, ended_at=now())


def deliver(workdir: str, grants_bytes: bytes) -> dict:
    """Start a background upload for each job given a grant ({job id: {files: {name: url}}})."""
    grants = json_object(grants_bytes, "the grants", "job id -> grant")
    started, missing = [], []
    for job_id, grant in grants.items():
        directory = job_directory(workdir, job_id)
        if not os.path.exists(directory.file("job.json")) or not os.path.exists(directory.file(AGENT_FILE)):
            missing.append(job_id)
            continue
        write_json(directory.file("grant.json"), grant)
        pid = detached(agent_argv(sys.executable, directory.path, "upload"), directory)
        directory.set_state(uploader_pid=pid, reason="uploading the outputs with a grant from the reconciler")
        started.append(job_id)
    return {"started": started, "missing": missing}


def upload_outputs(directory: JobDirectory) -> dict:
    """The background upload that ``deliver`` starts."""
    job = directory.job
    grant = read_json(directory.file("grant.json")) or {}
    files = output_files(job, directory)
    gone = [entry["name"] for entry in (directory.state or {}).get("files") or [] if entry.get("name") not in files]
    if gone:
        reason = f"the outputs are gone from the simulator: {', '.join(sorted(gone))}"
        state = directory.set_state(status=State.FAILED, reason=reason)
        with contextlib.suppress(Rejected, Temporary):
            Reporter(job, directory)("failed", detail=reason)
        return state
    return deliver_outputs(job, directory, Reporter(job, directory), grant.get("files") or {})


REPORTED_STATE = ("status", "exit_code", "reason", "manifest", "last_report", "updated_at")


def _alive(pid, directory: JobDirectory) -> bool:
    return bool(pid) and str(pid).isdigit() and _is_agent_of(int(pid), directory)


def status(workdir: str, job_ids: list) -> dict:
    """What the simulator knows about each job, for the reconciler. The scheduler is asked first and
    the state files read after, so a job that ends in between is seen with its final state."""
    directories = {job_id: job_directory(workdir, job_id) for job_id in job_ids}
    markers = {job_id: directory.submission or {} for job_id, directory in directories.items()}
    on_slurm = [job_id for job_id, marker in markers.items() if marker.get("scheduler") == "slurm"]
    slurm_states = SCHEDULERS["slurm"].states(on_slurm)
    alive = {}
    for job_id, marker in markers.items():
        directory, state = directories[job_id], directories[job_id].state or {}
        if marker.get("scheduler") == "slurm":
            alive[job_id] = slurm_states.get(job_id) in SLURM_ACTIVE
        else:
            alive[job_id] = _alive(state.get("pid") or marker.get("scheduler_job_id"), directory)
        alive[job_id] = alive[job_id] or _alive(state.get("uploader_pid"), directory)  # a reconciler's upload
    jobs = {}
    for job_id, directory in directories.items():
        if not os.path.isdir(directory.path):
            jobs[job_id] = {"exists": False}
            continue
        state = directory.state or {}
        marker = markers[job_id]
        jobs[job_id] = {
            "exists": True,
            "delivered": os.path.exists(directory.file("job.json")),
            "submitted": bool(marker),
            "scheduler": marker.get("scheduler"),
            "scheduler_job_id": marker.get("scheduler_job_id"),
            "scheduler_state": slurm_states.get(job_id),
            "alive": alive[job_id],
            "cancel_requested": directory.cancel_requested,
            **{("state" if key == "status" else key): state.get(key) for key in REPORTED_STATE},
        }
        if state.get("status") in (*State.DELIVERABLE, State.UPLOADED) and os.path.exists(directory.file("job.json")):
            jobs[job_id]["files"] = [{"name": name, "size": os.path.getsize(path)}
                                     for name, path in output_files(directory.job, directory).items()]
    return {"jobs": jobs}


PULL_MAX_BYTES = 4 * 1024 * 1024  # stream bytes in one pull's answer, all jobs together


def pull(workdir: str, requests_bytes: bytes) -> dict:
    """For a site whose compute nodes cannot call out: what each job's live channel would have sent,
    read from its directory by this command on the login node ({job id: {acked, progress, links}} in,
    {jobs: {job id: delta}} out). Changed live files are uploaded from here through the links given;
    which were taken is kept in the job's PULL_FILE."""
    wanted = json_object(requests_bytes, "the pull requests", "job id -> {acked, progress, links}")
    budget = PULL_MAX_BYTES
    jobs = {}
    for job_id, request in wanted.items():
        directory = job_directory(workdir, job_id)
        request = request if isinstance(request, dict) else {}
        try:
            job = directory.job
        except (Temporary, Refused):
            jobs[job_id] = {"missing": True}
            continue
        body: dict = {}
        progress = read_progress(directory)
        if progress is not None and list(progress) != list(request.get("progress") or []):
            body["progress"], body["message"] = progress
        if budget > 0:
            streams = stream_delta(directory, request.get("acked") or {})
            budget -= sum(len(part["data"]) for part in streams.values())
            if streams:
                body["streams"] = streams
        kept = read_json(directory.file(PULL_FILE)) or {}
        files = LiveFiles(job, directory, kept.get("taken"))
        wanting = files.take(files.due(), dict(request.get("links") or {}))
        write_json(directory.file(PULL_FILE), {**kept, "taken": files.taken}, durable=False)
        if wanting:
            body["links"] = wanting
        jobs[job_id] = body
    return {"jobs": jobs}


def survey(scheduler: str, resources_bytes: bytes) -> dict:
    """How many simgate jobs this user has queued or running under ``scheduler``, and when the scheduler
    would start one more run with the resources on stdin (Slurm only)."""
    if scheduler not in SCHEDULERS:
        raise Refused(f"unknown scheduler {scheduler!r}")
    document = json_object(resources_bytes, "the resources", "a JSON object") if resources_bytes.strip() else {}
    runner = SCHEDULERS[scheduler]
    return {"load": runner.load(), "estimated_start": runner.estimate(JobResources.from_dict(document))}


def _stdin() -> bytes:
    return sys.stdin.buffer.read()


# name -> (how many arguments, at least or exactly; what it does with them)
COMMANDS = {
    "start": (2, lambda a: start(a[0], a[1], _stdin())),
    "cancel": (2, lambda a: cancel(a[0], a[1])),
    "status": (-1, lambda a: status(a[0], a[1:])),
    "survey": (1, lambda a: survey(a[0], _stdin())),
    "deliver": (1, lambda a: deliver(a[0], _stdin())),
    "pull": (1, lambda a: pull(a[0], _stdin())),
    "run": (1, lambda a: run(JobDirectory(a[0]))),
    "upload": (1, lambda a: upload_outputs(JobDirectory(a[0]))),
}
USAGE = ("usage: start|cancel <work dir> <job id> | status <work dir> <job id>... | survey <scheduler> "
         "| deliver|pull <work dir> | run|upload <job dir>")


def main(argv: list) -> int:
    count, command = COMMANDS.get(argv[0] if argv else "", (None, None))
    arguments = argv[1:]
    if command is None or (count >= 0 and len(arguments) != count) or (count < 0 and not arguments):
        print(json.dumps({"error": USAGE}))
        return EXIT_PERMANENT
    os.umask(0o077)
    try:
        result = command(arguments)
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
