"""Summaries of a CSV output's numeric columns: per column the count, min, max, mean and last value.

Worked out once, when a job's outputs are sealed, by feeding the file through ``CsvSummariser`` in
pieces (it never holds the whole file), and kept with the output: a comparison reads them, never the
files. A column is numeric when every non-empty cell of it is a finite number.
"""

from __future__ import annotations

import csv
import io
import math

from pydantic import BaseModel, ConfigDict

MAX_SUMMARISED_BYTES = 64 * 1024 * 1024  # larger CSV files are not summarised (their summary says so)
MAX_COLUMNS = 100


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
    __slots__ = ("count", "low", "high", "total", "last", "numeric")

    def __init__(self) -> None:
        self.count = 0
        self.low = math.inf
        self.high = -math.inf
        self.total = 0.0
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
        self.total += value
        self.last = value


class CsvSummariser:
    """Feed a CSV file's bytes in pieces of any size; ``result`` summarises its numeric columns."""

    def __init__(self) -> None:
        self._pending = b""
        self._header: list[str] | None = None
        self._columns: list[_Column] = []

    def feed(self, data: bytes) -> None:
        data = self._pending + data
        cut = data.rfind(b"\n")
        if cut < 0:
            self._pending = data
            return
        self._pending = data[cut + 1:]
        self._lines(data[:cut + 1])

    def result(self) -> CsvSummary:
        if self._pending:
            self._lines(self._pending)
            self._pending = b""
        if self._header is None:
            return CsvSummary(note="no header row")
        columns = {name: ColumnSummary(count=c.count, min=c.low, max=c.high, mean=c.total / c.count, last=c.last)
                   for name, c in zip(self._header, self._columns) if c.numeric and c.count}
        return CsvSummary(columns=columns, note="" if columns else "no numeric columns")

    def _lines(self, data: bytes) -> None:
        # Cells never span lines in the files summarised (quoted newlines would only split a text cell,
        # and a column with text in it is not numeric anyway).
        for record in csv.reader(io.StringIO(data.decode("utf-8", errors="replace"))):
            if not record or not any(cell.strip() for cell in record):
                continue
            if self._header is None:
                self._header = [name.strip().lstrip("\ufeff") for name in record][:MAX_COLUMNS]
                self._columns = [_Column() for _ in self._header]
                continue
            for column, cell in zip(self._columns, record):
                column.add(cell)


def summarise(data: bytes) -> CsvSummary:
    summariser = CsvSummariser()
    summariser.feed(data)
    return summariser.result()
