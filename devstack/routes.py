"""Azure Functions route templates (ASP.NET style) compiled to regular expressions.

Supported: literal segments, ``{name}``, ``{name?}`` (optional), ``{*name}`` (catch-all) and the
constraints ``int``, ``long``, ``guid``, ``bool``, ``alpha``, ``double``, ``float`` and
``regex(...)``. Matching is case-insensitive, as in the Functions host.
"""

from __future__ import annotations

import re

_PARAM = re.compile(r"\{(\*?)([A-Za-z_][A-Za-z0-9_]*)(\?)?((?::[^{}]+)*)\}")
_CONSTRAINTS = {
    "int": r"-?\d+",
    "long": r"-?\d+",
    "guid": r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
    "bool": r"(?i:true|false)",
    "alpha": r"[A-Za-z]+",
    "double": r"-?\d+(?:\.\d+)?",
    "float": r"-?\d+(?:\.\d+)?",
}


def compile_route(template: str) -> re.Pattern[str]:
    template = template.strip("/")
    pattern = ""
    for index, segment in enumerate(template.split("/") if template else []):
        sep = "/" if index else ""
        param = _PARAM.fullmatch(segment)
        if param is None:
            if "{" in segment:
                pattern += sep + _mixed_segment(segment)
            else:
                pattern += sep + re.escape(segment)
            continue
        catch_all, name, optional, constraints = param.groups()
        if constraints.endswith("?"):  # {id:int?}
            optional, constraints = "?", constraints[:-1]
        body = r".*" if catch_all else _constraint_pattern(constraints)
        group = f"(?P<{name}>{body})"
        if optional or catch_all:
            pattern += f"(?:{sep}{group})?"
        else:
            pattern += sep + group
    return re.compile(f"^{pattern}/?$", re.IGNORECASE)


def _mixed_segment(segment: str) -> str:
    """A segment mixing literals and parameters, e.g. ``file.{ext}``."""
    out, position = "", 0
    for match in _PARAM.finditer(segment):
        out += re.escape(segment[position:match.start()])
        out += f"(?P<{match.group(2)}>{_constraint_pattern(match.group(4))})"
        position = match.end()
    return out + re.escape(segment[position:])


def _constraint_pattern(constraints: str) -> str:
    pattern = r"[^/]+"
    for constraint in filter(None, constraints.split(":")):
        if constraint.startswith("regex(") and constraint.endswith(")"):
            pattern = f"(?:{constraint[6:-1].removeprefix('^').removesuffix('$')})"
        elif constraint in _CONSTRAINTS:
            pattern = _CONSTRAINTS[constraint]
        else:
            raise ValueError(f"unsupported route constraint {constraint!r}")
    return pattern
