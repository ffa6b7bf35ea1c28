"""Jobs on simulators over SSH: the manager's and the reconciler's side of the agent
(shared/agent/simgate_agent.py).

Every operation is ONE command over a pooled connection: ``python3 -c BOOTSTRAP <command> ...`` with
the agent's source and the command's input on stdin, so the simulator needs nothing installed and
no copy of the agent anywhere before a job starts. Everything that must be atomic on the simulator
(the submission marker, the scheduler lookup, the cancel-before-start rule) happens inside that one
command, under a file lock there. This adapter turns the agent's answers into simgate's types and
its exit statuses into simgate's errors.
"""

from __future__ import annotations

import json
from datetime import datetime

from pydantic import ValidationError

from shared.adapters.ssh import CommandResult, SshPool, command_line
from shared.agent import agent_source
from shared.agent.simgate_agent import BOOTSTRAP, EXIT_NOT_FOUND, EXIT_PERMANENT, EXIT_TEMPORARY, PYTHON_FLAGS
from shared.api.requests import LiveReport
from shared.config import SimulatorSpec
from shared.domain.bundle import JobBundle
from shared.domain.jobs import JOB_ID
from shared.domain.live import LiveDelta
from shared.domain.reconcile import Observation
from shared.errors import RemoteCommandFailed, SchedulerUnavailable, SimulatorError, SubmissionRejected, without_paths
from shared.services.ports import CancelOutcome, Handover, Link, PullRequest, SimulatorGateway, Submission, Survey

COMMAND_TIMEOUT = 120.0
OBSERVE_BATCH = 200  # job ids per status command: keeps the command line far below ARG_MAX


def job_directory(spec: SimulatorSpec, job_id: str) -> str:
    if not JOB_ID.match(job_id):  # the id becomes a path on the simulator: never anything else
        raise ValueError(f"not a job id: {job_id!r}")
    return f"{spec.workdir.rstrip('/')}/{job_id}"


class SshSimulatorGateway(SimulatorGateway):
    def __init__(self, pool: SshPool) -> None:
        self._pool = pool

    def start(self, simulator: SimulatorSpec, job_id: str, bundle: JobBundle) -> Submission | None:
        job_directory(simulator, job_id)
        answer = self._agent(simulator, "start", [self._workdir(simulator), job_id], bundle.to_bytes(), "starting")
        if answer.get("cancelled"):
            return None
        return _submission(simulator, answer)

    def cancel(self, simulator: SimulatorSpec, job_id: str) -> CancelOutcome:
        job_directory(simulator, job_id)
        answer = self._agent(simulator, "cancel", [self._workdir(simulator), job_id], b"", "cancelling")
        return CancelOutcome(stopped=bool(answer.get("stopped")), state=str(answer.get("state", "unknown")))

    def survey(self, simulator: SimulatorSpec, resources: dict) -> Survey:
        answer = self._agent(simulator, "survey", [simulator.scheduler], json.dumps(resources).encode(),
                             "asking for its load")
        try:
            start = answer.get("estimated_start")
            return Survey(load=int(answer.get("load", 0)),
                          estimated_start=datetime.fromisoformat(start) if isinstance(start, str) else None)
        except (TypeError, ValueError):
            raise SimulatorError(f"simulator {simulator.name} gave an unreadable survey: {answer!r:.200}") from None

    def observe(self, simulator: SimulatorSpec, job_ids: list[str]) -> dict[str, Observation]:
        for job_id in job_ids:
            job_directory(simulator, job_id)  # refuses anything that is not a job id
        seen: dict[str, Observation] = {}
        for start in range(0, len(job_ids), OBSERVE_BATCH):
            batch = job_ids[start:start + OBSERVE_BATCH]
            jobs = self._agent(simulator, "status", [self._workdir(simulator), *batch], b"",
                               "asking about jobs").get("jobs") or {}
            try:
                seen.update({job_id: Observation.model_validate(jobs[job_id]) for job_id in batch if job_id in jobs})
            except ValidationError as exc:
                raise SimulatorError(f"simulator {simulator.name} gave an unreadable job state: {exc}") from None
        return seen

    def hand_over(self, simulator: SimulatorSpec, grants: dict[str, dict[str, Link]]) -> Handover:
        for job_id in grants:
            job_directory(simulator, job_id)
        document = {job_id: {"files": {name: link.url for name, link in links.items()},
                             "expires_at": min((link.expires_at for link in links.values()), default=None)}
                    for job_id, links in grants.items()}
        answer = self._agent(simulator, "deliver", [self._workdir(simulator)],
                             json.dumps(document, default=str).encode(), "handing over upload grants")
        return Handover(started=list(answer.get("started") or []), missing=list(answer.get("missing") or []))

    def pull(self, simulator: SimulatorSpec, requests: dict[str, PullRequest]) -> dict[str, LiveDelta | None]:
        for job_id in requests:
            job_directory(simulator, job_id)
        document = {job_id: {"acked": request.acked, "progress": list(request.progress) if request.progress else None,
                             "links": {name: link.url for name, link in request.links.items()}}
                    for job_id, request in requests.items()}
        jobs = self._agent(simulator, "pull", [self._workdir(simulator)], json.dumps(document).encode(),
                           "reading live channels").get("jobs") or {}
        pulled: dict[str, LiveDelta | None] = {}
        for job_id in requests:
            body = jobs.get(job_id)
            if not isinstance(body, dict) or body.get("missing"):
                pulled[job_id] = None
                continue
            try:
                pulled[job_id] = LiveReport.model_validate(body).to_delta()
            except ValidationError as exc:
                raise SimulatorError(f"simulator {simulator.name} gave an unreadable live channel: {exc}") from None
        return pulled

    @staticmethod
    def _workdir(simulator: SimulatorSpec) -> str:
        return simulator.workdir.rstrip("/")

    def _agent(self, simulator: SimulatorSpec, command: str, arguments: list[str], data: bytes, doing: str) -> dict:
        """One round trip: the agent (by the bootstrap) and ``data`` on stdin, its JSON answer back."""
        source = agent_source()
        line = command_line([simulator.python, *PYTHON_FLAGS, "-c", BOOTSTRAP, command, *arguments])
        stdin = f"{len(source)}\n".encode() + source + data
        result = self._pool.run(simulator, line, stdin=stdin, timeout=COMMAND_TIMEOUT)
        return _answer(simulator, result, doing)


def _answer(simulator: SimulatorSpec, result: CommandResult, doing: str) -> dict:
    """The agent's JSON answer, or the error its exit status stands for."""
    try:
        answer = json.loads(result.stdout.strip().splitlines()[-1]) if result.stdout.strip() else {}
    except json.JSONDecodeError:
        answer = {}
    if not isinstance(answer, dict):
        answer = {}
    message = answer.get("error") or result.stderr.strip()[-1000:] or f"exit status {result.exit_status}"
    if result.exit_status == 0 and "error" not in answer:
        return answer
    if result.exit_status == EXIT_PERMANENT:
        raise SubmissionRejected(f"simulator {simulator.name} rejected the job: {message}",
                                 shown=f"simulator {simulator.name} rejected the job: {without_paths(message)}")
    if result.exit_status == EXIT_TEMPORARY:
        raise SchedulerUnavailable(f"simulator {simulator.name}, {doing}: {message}",
                                   shown=f"simulator {simulator.name}, {doing}: {without_paths(message)}")
    if result.exit_status == EXIT_NOT_FOUND:
        raise SimulatorError(f"simulator {simulator.name}: {simulator.python} was not found ({message})",
                             shown=f"simulator {simulator.name} has no Python to run simgate's agent with")
    raise RemoteCommandFailed(f"{doing} on {simulator.name}", result.exit_status, message,
                              shown=f"{doing} on simulator {simulator.name} failed (exit status {result.exit_status})")


def _submission(simulator: SimulatorSpec, answer: dict) -> Submission:
    try:
        return Submission(scheduler=str(answer["scheduler"]), scheduler_job_id=str(answer["scheduler_job_id"]),
                          token_hash=str(answer["token_hash"]), resumed=bool(answer.get("resumed")))
    except KeyError as exc:
        raise SimulatorError(f"simulator {simulator.name}: the submission marker lacks {exc}") from None
