"""What a job's agent reports about its run (the status webhook's content, in the domain's terms)."""

from __future__ import annotations

from dataclasses import dataclass

from shared.domain.jobs import JobStatus
from shared.domain.outputs import ReportedFile


@dataclass(frozen=True)
class AgentReport:
    status: JobStatus
    detail: str = ""
    progress: float | None = None
    exit_code: int | None = None
    stderr_tail: str | None = None
    files: tuple[ReportedFile, ...] = ()  # cleanup: the files about to be uploaded; done: what was uploaded

    def reason(self) -> str:
        """The report in words, for the job's history."""
        parts = [self.detail] if self.detail else []
        if self.exit_code is not None:
            parts.append(f"exit code {self.exit_code}")
        if self.stderr_tail:
            parts.append(f"stderr: {self.stderr_tail.strip()[-1000:]}")
        return "; ".join(parts)
