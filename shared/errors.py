"""simgate's typed errors.

Every error the application raises on purpose is a ``SimgateError``. The errors say what went wrong
in simgate's terms; they know nothing of HTTP. The HTTP edge (``shared.http``) maps each kind to its
status, problem type and headers in one table, and the queue edge uses ``retryable`` to decide
between retrying a message and failing its job.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any


class SimgateError(Exception):
    title: str = "Internal error"
    retryable: bool = False
    # Whether ``detail`` may be shown to the caller. Internal errors are logged, never shown.
    public: bool = True

    def __init__(self, detail: str | None = None, *, errors: list[dict[str, Any]] | None = None,
                 shown: str | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors or []
        self._shown = shown

    @property
    def shown(self) -> str:
        """What a job's owner may read of it: the detail without addresses or paths (those are for the
        log, in ``detail``)."""
        return self._shown or self.detail


class BadRequest(SimgateError):
    """The request itself is malformed (not JSON, a bad query parameter, ...)."""

    title = "Bad request"


class InvalidContinuation(BadRequest):
    """A continuation token that this API did not issue for this listing."""

    title = "Bad request"


class Unauthorized(SimgateError):
    """No usable identity on the request."""

    title = "Authentication required"


class AgentTokenMissing(Unauthorized):
    """A status report without the job's bearer token."""


class AgentTokenInvalid(Unauthorized):
    """A status report whose token is not this job's, or whose job has finished."""


class Forbidden(SimgateError):
    title = "Forbidden"


class NotFound(SimgateError):
    title = "Not found"


class MethodNotAllowed(SimgateError):
    title = "Method not allowed"

    def __init__(self, detail: str, *, allowed: list[str]) -> None:
        super().__init__(detail)
        self.allowed = allowed


class Conflict(SimgateError):
    """The request does not fit the resource's current state (e.g. running a finished job)."""

    title = "Conflict"


class PreconditionFailed(SimgateError):
    """The client's own precondition (If-Match) no longer holds."""

    title = "Precondition failed"


class PayloadTooLarge(SimgateError):
    title = "Payload too large"


class RequestTimeout(SimgateError):
    """The request's body stopped arriving: the connection is given up."""

    title = "Request timeout"


class UnsupportedMediaType(SimgateError):
    title = "Unsupported media type"


class ValidationFailed(SimgateError):
    """The request was well-formed but its content breaks a rule; ``errors`` lists each problem."""

    title = "Validation failed"


class TransientError(SimgateError):
    """A dependency failed in a way that may pass: retry the request or the message."""

    title = "Service temporarily unavailable"
    retryable = True


class StaleWrite(TransientError):
    """A stored item changed between its read and a conditional write (a storage ETag collision).
    Re-read and apply the change again; it is never the client's own If-Match."""

    title = "Changed concurrently"


class ConfigurationError(SimgateError):
    """The app's settings are missing or invalid. Shown to operators in logs, not to callers."""

    title = "Service misconfigured"
    public = False


# --- simulator (SSH) errors: permanent ones fail the job, transient ones retry the message ---


class SimulatorError(SimgateError):
    title = "Simulator error"


class SimulatorUnreachable(SimulatorError, TransientError):
    title = "Simulator unreachable"
    retryable = True


class SimulatorNotReached(SimulatorUnreachable):
    """The command certainly did not run: no connection, no channel, or no free slot in the budget."""


class HostKeyMismatch(SimulatorError):
    title = "Simulator host key does not match the pinned key"


class SimulatorAuthenticationFailed(SimulatorError):
    title = "Simulator refused the SSH key"


class RemoteCommandFailed(SimulatorError):
    title = "A command on the simulator failed"

    def __init__(self, command: str, exit_status: int, stderr: str, shown: str | None = None) -> None:
        super().__init__(f"{command!r} exited with {exit_status}: {stderr.strip()[-500:]}",
                         shown=shown or f"a command on the simulator exited with {exit_status}")
        self.command = command
        self.exit_status = exit_status
        self.stderr = stderr


class SubmissionRejected(SimulatorError):
    title = "The simulator's scheduler rejected the job"


class SchedulerUnavailable(SimulatorError, TransientError):
    """The simulator answered but its scheduler could not take the request now (e.g. slurmctld down)."""

    title = "Simulator scheduler temporarily unavailable"
    retryable = True


def error_location(loc: Iterable[Any]) -> str:
    """A pydantic error's location as a path: ``("files", 0, "name")`` -> ``files[0].name``."""
    return "".join(f"[{p}]" if str(p).isdigit() else f".{p}" for p in loc).lstrip(".")


def error_message(error: dict[str, Any], missing: str = "is required") -> str:
    """A pydantic error's message without pydantic's prefix."""
    return missing if error.get("type") == "missing" else error.get("msg", "invalid").removeprefix("Value error, ")


def describe_pydantic_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """pydantic's error list as simgate's ``errors`` entries: which field, and what was wrong."""
    return [{"field": error_location(error.get("loc", ())) or None, "message": error_message(error)}
            for error in errors]


_ABSOLUTE_PATH = re.compile(r"(?<![\w.])/(?:[\w.@+-]+/)*[\w.@+-]+")


def without_paths(text: str) -> str:
    """``text`` with absolute file paths left out (they describe a simulator's insides, not the job)."""
    return _ABSOLUTE_PATH.sub("…", text)
