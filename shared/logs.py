"""Structured log lines about jobs.

Every line about a job carries ``job_id`` (and ``simulator`` where there is one) as fields of the log
record, not only as text. In Azure, the worker's OpenTelemetry log exporter (``shared.telemetry``)
sends record fields as custom dimensions, so one query pulls a job's whole story out of Application
Insights across the API, the manager and the reconciler (docs/operations.md). Locally,
``StructuredFormatter`` prints them after the message.
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any

# The record fields simgate sets; the local formatter shows them, App Insights gets them as dimensions.
FIELDS = ("job_id", "simulator", "action", "delivery")


class JobLog(logging.LoggerAdapter):
    """A logger whose every line carries the job's fields, merged with any ``extra`` of the call."""

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, MutableMapping[str, Any]]:
        kwargs["extra"] = {**self.extra, **(kwargs.get("extra") or {})}
        return msg, kwargs


def job_log(logger: logging.Logger, job_id: str, simulator: str | None = None, **fields: Any) -> JobLog:
    context = {"job_id": job_id, **fields}
    if simulator:
        context["simulator"] = simulator
    return JobLog(logger, context)


class StructuredFormatter(logging.Formatter):
    """The usual line, then `key=value` for each simgate field the record carries."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = [f"{name}={getattr(record, name)}" for name in FIELDS if getattr(record, name, None) is not None]
        return f"{line} [{' '.join(fields)}]" if fields else line
