"""The agent shipped with every job (see simgate_agent.py).

The file is uploaded to simulators and run there with their python3; the app reads its source from
here. It is also the one definition of the agent's protocol: the app imports its constants (exit
statuses, states, scheduler names, content types) from it and builds job.json as its
``JobDescription``, the class the agent reads job.json with, so the two sides cannot drift apart.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from shared.agent.simgate_agent import AGENT_FILE


@lru_cache(maxsize=1)
def agent_source() -> bytes:
    return (Path(__file__).parent / AGENT_FILE).read_bytes()
