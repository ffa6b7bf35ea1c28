"""``--set name=value``: each text converted to its field's type and checked by the field's own rules
(shared with the API), so that a bad value is reported, naming its field, before anything is created."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from cli.errors import UsageProblem, entry_line
from shared.api.models import FieldInfo
from shared.domain.fields import FieldValue, check_values, value_from_text
from shared.errors import ValidationFailed


def parse_assignments(texts: Iterable[str]) -> dict[str, str]:
    """``["speed_rpm=6000", "label=a=b"]`` as ``{"speed_rpm": "6000", "label": "a=b"}``."""
    assignments: dict[str, str] = {}
    problems = []
    for text in texts:
        name, sign, value = text.partition("=")
        name = name.strip()
        if not sign or not name:
            problems.append(f"{text!r}: expected NAME=VALUE, like speed_rpm=6000")
        elif name in assignments:
            problems.append(entry_line(name, "is set twice"))
        else:
            assignments[name] = value
    if problems:
        raise UsageProblem("--set takes NAME=VALUE", problems)
    return assignments


def convert(fields: Sequence[FieldInfo], assignments: dict[str, str]) -> dict[str, FieldValue]:
    """The values typed and checked, or one UsageProblem listing every unknown name and bad value."""
    by_name = {f.name: f for f in fields}
    typed_values = {name: typed(by_name[name], text) if name in by_name else text for name, text in assignments.items()}
    try:
        return check_values([f.to_spec() for f in fields], typed_values)
    except ValidationFailed as exc:
        known = ", ".join(by_name) or "none"
        raise UsageProblem("some field values are not valid", [
            entry_line(e["field"], f"the case has no field of this name (its fields: {known})"
                       if e.get("rule") == "unknown" else e["message"]) for e in exc.errors]) from None


def typed(spec: FieldInfo, text: str) -> FieldValue:
    """``text`` as a value of the field's type (see ``value_from_text``)."""
    return value_from_text(spec.to_spec(), text)
