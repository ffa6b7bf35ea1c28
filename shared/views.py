"""What the API shows of the domain: plain JSON-ready dicts, one function per kind of resource."""

from __future__ import annotations

from typing import Any

from shared.domain.cases import CaseHeader, PublishedCase


def case_header(header: CaseHeader) -> dict[str, Any]:
    return header.model_dump(mode="json")


def case_details(case: PublishedCase, latest_version: int) -> dict[str, Any]:
    d = case.definition
    return {
        **case.header().model_dump(mode="json"),
        "latest_version": latest_version,
        "description": d.description,
        "fields": [{**f.model_dump(mode="json"), "label": f.display_label} for f in d.fields],
        "scripts": [{"name": name, "entry_point": name == d.entry_point} for name in d.scripts],
        "entry_point": d.entry_point,
        "outputs": [o.model_dump(mode="json") for o in d.outputs],
        "resources": d.resources.model_dump(mode="json"),
        "simulators": d.simulators,
    }
