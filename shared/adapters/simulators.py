"""Jobs on simulators over SSH: the manager's side of the agent (shared/agent/simgate_agent.py).

Everything that must be atomic on the simulator (the submission marker, the scheduler lookup, the
cancel-before-start rule) happens inside one agent command under a file lock there; this adapter
uploads, calls the agent and turns its answers into simgate's types and errors.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator

from pydantic import ValidationError

from shared.adapters.ssh import CommandResult, SshPool, SshSession, command_line
from shared.agent import agent_source
from shared.agent.simgate_agent import AGENT_FILE, EXIT_NOT_FOUND, EXIT_PERMANENT, EXIT_TEMPORARY
from shared.config import SimulatorSpec
from shared.domain.bundle import DESCRIPTION_FILE, JobBundle
from shared.domain.jobs import JOB_ID
from shared.domain.reconcile import Observation
from shared.errors import (
    RemoteCommandFailed,
    SchedulerUnavailable,
    SimulatorError,
    SimulatorUnreachable,
    SubmissionRejected,
)
from shared.services.ports import CancelOutcome, SimulatorGateway, Submission

SUBMIT_TIMEOUT = 120.0
OBSERVE_BATCH = 200  # job ids per status command: keeps the command line far below ARG_MAX


def job_directory(spec: SimulatorSpec, job_id: str) -> str:
    if not JOB_ID.match(job_id):  # the id becomes a path on the simulator: never anything else
        raise ValueError(f"not a job id: {job_id!r}")
    return f"{spec.workdir.rstrip('/')}/{job_id}"


class SshSimulatorGateway(SimulatorGateway):
    def __init__(self, pool: SshPool) -> None:
        self._pool = pool

    def submission(self, simulator: SimulatorSpec, job_id: str) -> Submission | None:
        marker = f"{job_directory(simulator, job_id)}/submission.json"
        result = self._run(simulator, f"if [ -f {_q(marker)} ]; then cat {_q(marker)}; fi")
        if not result.stdout.strip():
            return None
        return _submission(simulator, _answer(simulator, result, "reading the submission marker"), resumed=True)

    def deliver(self, simulator: SimulatorSpec, job_id: str, bundle: JobBundle) -> None:
        directory = job_directory(simulator, job_id)
        with self._session(simulator) as session:
            session.run(["rm", "-rf", f"{directory}/staged"])
            session.upload(directory, {AGENT_FILE: agent_source()}, mode=0o700)
            session.upload(f"{directory}/staged", {DESCRIPTION_FILE: bundle.description}, mode=0o600)
            session.upload(f"{directory}/staged/run", bundle.scripts, mode=0o700)

    def submit(self, simulator: SimulatorSpec, job_id: str) -> Submission | None:
        directory = job_directory(simulator, job_id)
        result = self._run(simulator, [simulator.python, f"{directory}/{AGENT_FILE}", "submit", directory],
                           timeout=SUBMIT_TIMEOUT)
        answer = _answer(simulator, result, "submitting")
        if answer.get("cancelled"):
            return None
        return _submission(simulator, answer, resumed=bool(answer.get("resumed")))

    def cancel(self, simulator: SimulatorSpec, job_id: str) -> CancelOutcome:
        directory = job_directory(simulator, job_id)
        agent = f"{directory}/{AGENT_FILE}"
        # The cancel-requested file is written even when nothing was delivered yet, so that a start
        # still on its way finds it and does not submit.
        line = (f"mkdir -p -m 700 {_q(directory)} && date -u >> {_q(directory + '/cancel-requested')} && "
                f"if [ -f {_q(agent)} ]; then {command_line([simulator.python, agent, 'cancel', directory])}; "
                f"else echo '{{\"stopped\": false, \"state\": \"not delivered\"}}'; fi")
        answer = _answer(simulator, self._run(simulator, line, timeout=SUBMIT_TIMEOUT), "cancelling")
        return CancelOutcome(stopped=bool(answer.get("stopped")), state=str(answer.get("state", "unknown")))

    def load(self, simulator: SimulatorSpec) -> int:
        result = self._run(simulator, [simulator.python, "-", "load", simulator.scheduler], stdin=agent_source())
        return int(_answer(simulator, result, "asking for its load").get("load", 0))

    def observe(self, simulator: SimulatorSpec, job_ids: list[str]) -> dict[str, Observation]:
        # The agent is fed on stdin ("python3 -"): it reads the job directories without needing a
        # copy of itself anywhere, and one call covers the whole batch (one squeue under Slurm).
        for job_id in job_ids:
            job_directory(simulator, job_id)  # refuses anything that is not a job id
        seen: dict[str, Observation] = {}
        for start in range(0, len(job_ids), OBSERVE_BATCH):
            batch = job_ids[start:start + OBSERVE_BATCH]
            result = self._run(simulator, [simulator.python, "-", "status", simulator.workdir.rstrip("/"), *batch],
                               stdin=agent_source(), timeout=SUBMIT_TIMEOUT)
            jobs = _answer(simulator, result, "asking about jobs").get("jobs") or {}
            try:
                seen.update({job_id: Observation.model_validate(jobs[job_id]) for job_id in batch if job_id in jobs})
            except ValidationError as exc:
                raise SimulatorError(f"simulator {simulator.name} gave an unreadable job state: {exc}") from None
        return seen

    @contextlib.contextmanager
    def _session(self, simulator: SimulatorSpec) -> Iterator[SshSession]:
        """The pooled connection; dropped from the pool when it turns out to be dead."""
        try:
            yield self._pool.session(simulator)
        except SimulatorUnreachable:
            self._pool.discard(simulator)
            raise

    def _run(self, simulator: SimulatorSpec, command, *, timeout: float = 60.0,
             stdin: bytes | None = None) -> CommandResult:
        with self._session(simulator) as session:
            return session.run(command, check=False, timeout=timeout, stdin=stdin)


def _q(text: str) -> str:
    return command_line([text])


def _answer(simulator: SimulatorSpec, result: CommandResult, doing: str) -> dict:
    """The agent's JSON answer, or the error its exit status stands for."""
    try:
        answer = json.loads(result.stdout.strip().splitlines()[-1]) if result.stdout.strip() else {}
    except json.JSONDecodeError:
        answer = {}
    message = answer.get("error") or result.stderr.strip()[-1000:] or f"exit status {result.exit_status}"
    if result.exit_status == 0 and isinstance(answer, dict) and "error" not in answer:
        return answer
    if result.exit_status == EXIT_PERMANENT:
        raise SubmissionRejected(f"simulator {simulator.name} rejected the job: {message}")
    if result.exit_status == EXIT_TEMPORARY:
        raise SchedulerUnavailable(f"simulator {simulator.name}, {doing}: {message}")
    if result.exit_status == EXIT_NOT_FOUND:
        raise SimulatorError(f"simulator {simulator.name}: {simulator.python} was not found ({message})")
    raise RemoteCommandFailed(f"{doing} on {simulator.name}", result.exit_status, message)


def _submission(simulator: SimulatorSpec, answer: dict, *, resumed: bool) -> Submission:
    try:
        return Submission(scheduler=str(answer["scheduler"]), scheduler_job_id=str(answer["scheduler_job_id"]),
                          token_hash=str(answer["token_hash"]), resumed=resumed)
    except KeyError as exc:
        raise SimulatorError(f"simulator {simulator.name}: the submission marker lacks {exc}") from None
