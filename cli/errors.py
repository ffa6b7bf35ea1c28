"""What can go wrong, as the CLI says it: one line (and one indented line per detail) and an exit code.

    0    success
    1    the API refused the request (a problem document), or a download did not arrive intact
    2    the command line is wrong: options, arguments, --set values, configuration
    3    the API or storage cannot be reached: connection refused, name not found, timeout, TLS
    4    the job failed (commands that wait for a job)
    5    the job was cancelled (commands that wait for a job)
    6    signing in failed
    130  interrupted (Ctrl-C)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.api.models import Problem

API_PROBLEM = 1
USAGE = 2
CANNOT_CONNECT = 3
JOB_FAILED = 4
JOB_CANCELLED = 5
SIGN_IN_FAILED = 6
INTERRUPTED = 130


def entry_line(field: str | None, message: str) -> str:
    return f"{field}: {message}" if field else message


class CliError(Exception):
    exit_code = API_PROBLEM

    def __init__(self, message: str, details: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.details = list(details)

    def lines(self) -> list[str]:
        return [f"simgate: {self.message}", *(f"  {d}" for d in self.details)]


class ApiProblem(CliError):
    """A problem document (RFC 9457) the API answered with: its title and detail, then each of its
    errors that says more than the detail."""

    def __init__(self, problem: Problem, hint: str | None = None) -> None:
        title = problem.title[:1].lower() + problem.title[1:]
        message = title if problem.detail in ("", problem.title) else f"{title}: {problem.detail}"
        details = [entry_line(e.field, e.message) for e in problem.errors or [] if e.message != problem.detail]
        super().__init__(message + (f" ({hint})" if hint else ""), details)
        self.problem = problem


class UsageProblem(CliError):
    exit_code = USAGE


class CannotConnect(CliError):
    exit_code = CANNOT_CONNECT


class SignInFailed(CliError):
    exit_code = SIGN_IN_FAILED


class JobEnded(CliError):
    """A job that was waited for ended other than done."""

    def __init__(self, message: str, cancelled: bool) -> None:
        super().__init__(message)
        self.exit_code = JOB_CANCELLED if cancelled else JOB_FAILED


class Interrupted(CliError):
    exit_code = INTERRUPTED
