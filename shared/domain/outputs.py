"""A job's outputs: the files its agent uploads, named by their path in the job's run directory."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime
from pathlib import PurePosixPath
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

# The agent uploads each file with this content type: one definition for both sides.
from shared.agent.simgate_agent import content_type as content_type_of
from shared.domain.summaries import CsvSummary

MAX_NAME = 512
MAX_FILES = 1000
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_output_name(name: str) -> str:
    """A relative path inside the job's directory, or ValueError saying why not."""
    if not name or len(name) > MAX_NAME:
        raise ValueError(f"must be 1 to {MAX_NAME} characters")
    if name.startswith("/") or name.startswith("~") or "\\" in name or _CONTROL.search(name):
        raise ValueError("must be a relative path without backslashes or control characters")
    parts = name.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise ValueError("must not contain empty, '.' or '..' segments")
    return name


class ReportedFile(BaseModel):
    """A file the agent is about to upload (cleanup) or has uploaded (done)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    size: int = Field(ge=0)
    md5: str | None = Field(default=None, pattern=r"^[0-9a-f]{32}$")

    @field_validator("name")
    @classmethod
    def _relative(cls, value: str) -> str:
        return check_output_name(value)


class Output(BaseModel):
    """A recorded output, as the API lists it."""

    model_config = ConfigDict(frozen=True)

    output_id: str
    name: str
    size: int
    content_type: str
    md5: str | None = None
    # Outputs sealed by snapshot (before staging) are read from that snapshot; never shown (see PUBLIC_FIELDS).
    snapshot: str | None = None
    taken_at: datetime | None = None  # a live file as last taken while the job ran: not sealed
    summary: CsvSummary | None = None  # a sealed CSV file's numeric columns, worked out once at the seal

    PUBLIC_FIELDS: ClassVar[frozenset[str]] = frozenset({"output_id", "name", "size", "content_type", "md5"})

    @property
    def filename(self) -> str:
        return PurePosixPath(self.name).name


def outputs_from(files: list[ReportedFile]) -> list[Output]:
    """Outputs with ids like the seed's ("csv1", "csv2", "json1", "log1"), numbered by kind in name order."""
    return [Output(output_id=output_id, name=file.name, size=file.size, content_type=content_type_of(file.name),
                   md5=file.md5) for output_id, file in _numbered(files)]


def partial_outputs(files) -> list[Output]:
    """Live files as outputs, numbered like sealed ones with a "live-" prefix ("live-csv1")."""
    return [Output(output_id=f"live-{output_id}", name=file.name, size=file.size,
                   content_type=content_type_of(file.name), md5=file.md5, taken_at=file.taken_at, snapshot=file.kept)
            for output_id, file in _numbered(files)]


def _numbered(files):
    seen: Counter[str] = Counter()
    for file in sorted(files, key=lambda f: f.name):
        suffix = PurePosixPath(file.name).suffix.lstrip(".").lower()
        kind = suffix if re.fullmatch(r"[a-z0-9]{1,8}", suffix) else "file"
        seen[kind] += 1
        yield f"{kind}{seen[kind]}", file
