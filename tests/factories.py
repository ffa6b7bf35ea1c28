"""Small builders shared by the test layers."""

from __future__ import annotations

import copy
from typing import Any

SAMPLE_CASE: dict[str, Any] = {
    "id": "mixer",
    "title": "Mixer",
    "summary": "A tiny case for tests",
    "tags": ["test"],
    "fields": [
        {"name": "speed", "type": "number", "min": 0, "max": 100, "default": 10, "unit": "rpm"},
        {"name": "label", "type": "string", "default": "batch", "max_length": 40},
        {"name": "fast", "type": "boolean", "default": False},
    ],
    "scripts": {
        "run.sh": "#!/bin/sh\necho {{ label }} {{ speed }} {{ fast }} {{ job_title }}\n",
        "params.py": "LABEL = {{ label }}\nSPEED = {{ speed }}\nFAST = {{ fast }}\n",
        "params.json": '{"label": {{ label }}, "speed": {{ speed }}}\n',
    },
    "entry_point": "run.sh",
    "outputs": [{"pattern": "results/*.csv", "description": "tables"}],
}


def case_document(case_id: str = "mixer", **changes: Any) -> dict[str, Any]:
    """A valid case definition document with ``changes`` applied."""
    document = copy.deepcopy(SAMPLE_CASE)
    document["id"] = case_id
    document.update(changes)
    return document
