"""Summaries of a CSV output's numeric columns: per column the count, min, max, mean and last value.

Worked out once, when a job's outputs are sealed, from the file read in pieces (never held whole), and
kept with the output: a comparison reads them, never the files. A column is numeric when every
non-empty cell of it is a finite number. A file Python's CSV reader cannot read gets a note instead.
"""

from __future__ import annotations

import codecs
import csv
import math
from collections.abc import Iterable, Iterator

from pydantic import BaseModel, ConfigDict

MAX_SUMMARISED_BYTES = 64 * 1024 * 1024  # larger CSV files are not summarised (their summary says so)
MAX_COLUMNS = 100
MAX_CELL_CHARS = 16 * 1024 * 1024  # a cell may be long (a text column); it is read, not kept


class ColumnSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    count: int
    min: float
    max: float
    mean: float
    last: float


class CsvSummary(BaseModel):
    """The numeric columns of one CSV file, by header name, in the file's order; or why there are none."""

    model_config = ConfigDict(frozen=True)

    columns: dict[str, ColumnSummary] = {}
    note: str = ""  # why a file has no summary ("larger than 64 MiB", "no header row", ...)


class _Column:
    __slots__ = ("count", "low", "high", "mean", "last", "numeric")

    def __init__(self) -> None:
        self.count = 0
        self.low = math.inf
        self.high = -math.inf
        self.mean = 0.0
        self.last = math.nan
        self.numeric = True

    def add(self, cell: str) -> None:
        if not self.numeric or not cell.strip():
            return
        try:
            value = float(cell)
        except ValueError:
            self.numeric = False
            return
        if not math.isfinite(value):
            self.numeric = False
            return
        self.count += 1
        self.low = min(self.low, value)
        self.high = max(self.high, value)
        self.mean += (value - self.mean) / self.count  # a running mean: no sum to overflow
        self.last = value


def summarise_pieces(pieces: Iterable[bytes]) -> CsvSummary:
    """A CSV file's numeric columns, read from its bytes in pieces of any size (split anywhere: in a
    line, a quoted cell or a UTF-8 character) by one CSV reader, so no more than a piece is held."""
    header: list[str] | None = None
    columns: list[_Column] = []
    csv.field_size_limit(MAX_CELL_CHARS)
    try:
        for record in csv.reader(_lines(pieces), strict=True):
            if not record or not any(cell.strip() for cell in record):
                continue
            if header is None:
                header = [name.strip().lstrip("\ufeff") for name in record][:MAX_COLUMNS]
                columns = [_Column() for _ in header]
                continue
            for column, cell in zip(columns, record):
                column.add(cell)
    except csv.Error as exc:
        return CsvSummary(note=f"not summarised: not CSV as Python reads it ({exc})")
    if header is None:
        return CsvSummary(note="no header row")
    found = {name: ColumnSummary(count=c.count, min=c.low, max=c.high, mean=c.mean, last=c.last)
             for name, c in zip(header, columns) if c.numeric and c.count}
    return CsvSummary(columns=found, note="" if found else "no numeric columns")


def _lines(pieces: Iterable[bytes]) -> Iterator[str]:
    """The text of ``pieces`` as lines with their endings (\\n, \\r\\n or \\r), as ``csv.reader`` wants."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pending = ""
    for piece in pieces:
        pending += decoder.decode(piece)
        lines = pending.splitlines(keepends=True)
        # the last line may go on in the next piece (a lone \\r may be the start of \\r\\n)
        pending = lines.pop() if lines and not lines[-1].endswith("\n") else ""
        yield from lines
    pending += decoder.decode(b"", final=True)
    if pending:
        yield pending


def summarise(data: bytes) -> CsvSummary:
    return summarise_pieces([data])
