"""local.settings.json, read the way Azure Functions Core Tools reads it (by the commands and the
local stack alike)."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger("commands.local_settings")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LOCAL_SETTINGS = PROJECT_ROOT / "local.settings.json"
SAMPLE_SETTINGS = PROJECT_ROOT / "local.settings.sample.json"


def read_local_settings(path: Path | None = None) -> dict[str, Any]:
    """local.settings.json, or the committed sample when there is none yet."""
    path = path or (LOCAL_SETTINGS if LOCAL_SETTINGS.exists() else SAMPLE_SETTINGS)
    try:
        document = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise SystemExit(f"{path.name} is not valid JSON: {exc}") from None
    values = document.get("Values", {})
    bad = [k for k, v in values.items() if not isinstance(v, str)]
    if bad:
        raise SystemExit(f"{path.name}: every value under Values must be a string; not: {', '.join(bad)}")
    return document


def apply_values(document: dict[str, Any], environ: dict[str, str] | os._Environ = os.environ) -> None:
    """Export Values as environment variables; like Core Tools, variables already set win."""
    for name, value in document.get("Values", {}).items():
        if name in environ and environ[name] != value:
            log.info("skipping %s from local settings: it is already set in the environment", name)
            continue
        environ[name] = value


def host_section(document: dict[str, Any]) -> dict[str, Any]:
    return document.get("Host", {})
