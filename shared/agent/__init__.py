"""The agent shipped with every job (see simgate_agent.py). It is uploaded as a file, never imported by the app."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

AGENT_FILE = "simgate_agent.py"


@lru_cache(maxsize=1)
def agent_source() -> bytes:
    return (Path(__file__).parent / AGENT_FILE).read_bytes()
