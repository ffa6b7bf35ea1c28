"""simgate's typed errors.

Every error the application raises on purpose is a ``SimgateError``. The HTTP edge renders it once
as an RFC 9457 ``application/problem+json`` document (see ``shared.http``); the queue edge uses
``retryable`` to decide between retrying a message and failing its job.
"""

from __future__ import annotations

from typing import Any

PROBLEM_TYPE_BASE = "urn:simgate:problem:"


class SimgateError(Exception):
    status: int = 500
    slug: str = "internal-error"
    title: str = "Internal error"
    retryable: bool = False
    # Whether ``detail`` may be shown to the caller. Internal errors are logged, never shown.
    public: bool = True

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors or []
        self.headers = headers or {}

    @property
    def type_uri(self) -> str:
        return PROBLEM_TYPE_BASE + self.slug

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        """The RFC 9457 problem document for this error."""
        body: dict[str, Any] = {
            "type": self.type_uri,
            "title": self.title,
            "status": self.status,
            "detail": self.detail if self.public else self.title,
        }
        if instance:
            body["instance"] = instance
        if self.errors and self.public:
            body["errors"] = self.errors
        return body


class BadRequest(SimgateError):
    status, slug, title = 400, "bad-request", "Bad request"


class Unauthorized(SimgateError):
    status, slug, title = 401, "unauthorized", "Authentication required"


class Forbidden(SimgateError):
    status, slug, title = 403, "forbidden", "Forbidden"


class NotFound(SimgateError):
    status, slug, title = 404, "not-found", "Not found"


class MethodNotAllowed(SimgateError):
    status, slug, title = 405, "method-not-allowed", "Method not allowed"


class Conflict(SimgateError):
    status, slug, title = 409, "conflict", "Conflict"


class PreconditionFailed(SimgateError):
    status, slug, title = 412, "precondition-failed", "Precondition failed"


class PayloadTooLarge(SimgateError):
    status, slug, title = 413, "payload-too-large", "Payload too large"


class UnsupportedMediaType(SimgateError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


class ValidationFailed(SimgateError):
    """The request was well-formed but its content breaks a rule; ``errors`` lists each problem."""

    status, slug, title = 422, "validation-failed", "Validation failed"


class TransientError(SimgateError):
    """A dependency failed in a way that may pass: retry the request or the message."""

    status, slug, title = 503, "service-unavailable", "Service temporarily unavailable"
    retryable = True


class ConfigurationError(SimgateError):
    """The app's settings are missing or invalid. Shown to operators in logs, not to callers."""

    status, slug, title = 500, "misconfigured", "Service misconfigured"
    public = False


# --- simulator (SSH) errors: permanent ones fail the job, transient ones retry the message ---


class SimulatorError(SimgateError):
    status, slug, title = 502, "simulator-error", "Simulator error"


class SimulatorUnreachable(SimulatorError, TransientError):
    status, slug, title = 503, "simulator-unreachable", "Simulator unreachable"
    retryable = True


class HostKeyMismatch(SimulatorError):
    slug, title = "host-key-mismatch", "Simulator host key does not match the pinned key"


class SimulatorAuthenticationFailed(SimulatorError):
    slug, title = "simulator-authentication-failed", "Simulator refused the SSH key"


class RemoteCommandFailed(SimulatorError):
    slug, title = "remote-command-failed", "A command on the simulator failed"

    def __init__(self, command: str, exit_status: int, stderr: str) -> None:
        super().__init__(f"{command!r} exited with {exit_status}: {stderr.strip()[-500:]}")
        self.command = command
        self.exit_status = exit_status
        self.stderr = stderr


class SubmissionRejected(SimulatorError):
    slug, title = "submission-rejected", "The simulator's scheduler rejected the job"


class SchedulerUnavailable(SimulatorError, TransientError):
    """The simulator answered but its scheduler could not take the request now (e.g. slurmctld down)."""

    status, slug, title = 503, "scheduler-unavailable", "Simulator scheduler temporarily unavailable"
    retryable = True


def describe_pydantic_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """pydantic's error list as simgate's ``errors`` entries: which field, and what was wrong."""
    described = []
    for error in errors:
        loc = [str(p) for p in error.get("loc", ())]
        field = "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in loc).lstrip(".") or None
        message = error.get("msg", "invalid").removeprefix("Value error, ")
        entry = {"field": field, "message": message}
        if error.get("type") == "missing":
            entry["message"] = "is required"
        described.append(entry)
    return described
