"""A running job, live: what its agent sends while it runs, and what followers read.

The agent sends what changed since it last sent (``LiveDelta``): the progress, and for each byte stream
(stdout, stderr, the series file) the bytes from an offset on. A delta repeated after a lost answer
changes nothing: bytes are addressed by offset, and bytes storage already has are skipped. Storage keeps
each stream in chunks of ``CHUNK_BYTES`` starting at multiples of it, and only the last ``WINDOW_BYTES``
of it (the live window); the whole log becomes an output at the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from shared.agent.simgate_agent import (
    LIVE_CHUNK_BYTES,
    LIVE_DELTA_BYTES,
    LIVE_MAX_FILES,
    LIVE_STREAMS,
    LIVE_WINDOW_BYTES,
    LOG_FILES,
    LOG_STREAMS,
    skip_ahead,
)

CHUNK_BYTES = LIVE_CHUNK_BYTES
WINDOW_BYTES = LIVE_WINDOW_BYTES
WINDOW_CHUNKS = WINDOW_BYTES // CHUNK_BYTES
DELTA_BYTES = LIVE_DELTA_BYTES
MAX_LIVE_FILES = LIVE_MAX_FILES
STREAMS = tuple(LIVE_STREAMS)  # stdout, stderr, series
LOGS = LOG_STREAMS  # what the log tail serves
# stream -> the output its whole log becomes at done ("stdout" -> "logs/stdout.log")
LOG_OUTPUTS = {stream: output for output, file in LOG_FILES.items() for stream in LOGS
               if LIVE_STREAMS[stream] == file}
SERIES = "series"
MAX_TAIL_BYTES = 64 * 1024  # at most this much of a stream in one answer
__all__ = ["skip_ahead"]  # where a sender that fell behind resumes: the agent's rule, defined there


@dataclass(frozen=True)
class StreamDelta:
    offset: int
    data: bytes


@dataclass(frozen=True)
class LiveDelta:
    """What changed in a running job since its agent last sent: nothing at all is a heartbeat."""

    progress: float | None = None
    message: str | None = None
    streams: dict[str, StreamDelta] = field(default_factory=dict)
    links: tuple[str, ...] = ()  # live files the agent wants upload links for


@dataclass(frozen=True)
class StreamExtent:
    """What storage holds of one stream: bytes [start, end) are readable (start > 0: truncated)."""

    start: int = 0
    end: int = 0


@dataclass(frozen=True)
class LiveFile:
    """A live output as last taken: uploaded while the job runs, final only once sealed at done."""

    name: str
    size: int
    taken_at: datetime
    md5: str | None = None
    kept: str | None = None  # the copy kept when the job ended (a snapshot): what is listed from then on


@dataclass(frozen=True)
class LiveListing:
    """Everything storage holds of a running job's live channel, from one listing."""

    streams: dict[str, StreamExtent] = field(default_factory=dict)
    files: tuple[LiveFile, ...] = ()
    chunks: dict[str, tuple[int, ...]] = field(default_factory=dict)  # stream -> chunk indexes held

    def extent(self, stream: str) -> StreamExtent:
        return self.streams.get(stream, StreamExtent())

    def signature(self) -> str:
        """Changes whenever any stream or live file does: part of a live answer's ETag."""
        parts = [f"{name}:{e.start}-{e.end}" for name, e in sorted(self.streams.items())]
        parts += [f"{f.name}:{f.size}:{f.taken_at.isoformat()}" for f in self.files]
        return "|".join(parts)


@dataclass(frozen=True)
class StreamTail:
    """A piece of a stream: ``data`` are the bytes from ``offset`` to ``next_offset``."""

    stream: str
    offset: int
    next_offset: int
    data: bytes
    complete: bool
    truncated_before: int

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")


def chunk_of(offset: int) -> tuple[int, int]:
    """(chunk index, position in it) of a byte offset."""
    return divmod(offset, CHUNK_BYTES)


def chunk_start(index: int) -> int:
    return index * CHUNK_BYTES


def whole_characters(data: bytes) -> int:
    """How many bytes of ``data`` end on a UTF-8 character boundary: a character split across two
    answers is left whole for the next one."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte < 0x80:  # ASCII: whatever follows it is no character in the making
            return len(data)
        if byte >= 0xC0:  # a lead byte: is its sequence complete?
            length = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return len(data) if back >= length else len(data) - back
    return len(data)  # not UTF-8 at these bytes: nothing to keep back
