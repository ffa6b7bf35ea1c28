"""Script templates: a sandboxed Jinja2 environment that escapes every value for its script's language.

Rendering ("patching" the scripts) is a pure function of the scripts of a case version, the job's
checked field values and a few built-ins. Nothing a user types can become code:

- values are checked against their fields before they get here (type, limits, pattern, length);
- every ``{{ expression }}`` is escaped for the language of the file it lands in, chosen by the
  file's extension (see ``ESCAPERS``): shell words are single-quoted, Python and JSON get literals;
- the ``shquote`` filter quotes explicitly, e.g. inside a string that is built up in a template;
- the sandbox refuses attribute tricks, and an undefined variable is an error, not an empty string.
"""

from __future__ import annotations

import functools
import json
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError, TemplateSyntaxError, meta
from jinja2.sandbox import ImmutableSandboxedEnvironment

from shared.errors import ValidationFailed


class Escaped(str):
    """Text that is already safe for its script (the result of an explicit quoting filter)."""


def _shell_word(value: Any) -> str:
    if isinstance(value, bool):
        value = "true" if value else "false"
    return shlex.quote("" if value is None else str(value))


def _python_literal(value: Any) -> str:
    return repr(value)


def _json_literal(value: Any) -> str:
    return json.dumps(value)


def _plain_text(value: Any) -> str:
    return "" if value is None else str(value)


ESCAPERS: dict[str, Callable[[Any], str]] = {
    ".sh": _shell_word,
    ".bash": _shell_word,
    ".slurm": _shell_word,
    ".py": _python_literal,
    ".json": _json_literal,
}

# Variables every template may use besides the case's fields.
BUILTINS: dict[str, str] = {
    "job_id": "the job's id",
    "job_title": "the title the user gave the job",
    "case_id": "the case's id",
    "case_version": "the case version the job was made from",
    "cores": "the case's resources: CPU cores",
    "memory_mb": "the case's resources: memory in MiB",
    "wall_time_minutes": "the case's resources: wall-clock limit in minutes",
}


def escaper_for(script_name: str) -> Callable[[Any], str]:
    return ESCAPERS.get(PurePosixPath(script_name).suffix.lower(), _plain_text)


@functools.lru_cache(maxsize=16)
def _environment(escape: Callable[[Any], str]) -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        finalize=lambda value: value if isinstance(value, Escaped) else escape(value),
    )
    env.filters["shquote"] = lambda value: Escaped(_shell_word(value))
    env.filters["pyrepr"] = lambda value: Escaped(_python_literal(value))
    env.filters["tojson"] = lambda value: Escaped(_json_literal(value))
    return env


@dataclass(frozen=True)
class TemplateProblem:
    script: str
    message: str


def template_problems(scripts: Mapping[str, str], known: set[str]) -> list[TemplateProblem]:
    """Why each script would fail to render: a syntax error, or a variable that is not in ``known``."""
    problems = []
    for name, source in scripts.items():
        env = _environment(escaper_for(name))
        try:
            parsed = env.parse(source)
        except TemplateSyntaxError as exc:
            problems.append(TemplateProblem(name, f"line {exc.lineno}: {exc.message}"))
            continue
        for variable in sorted(meta.find_undeclared_variables(parsed) - known):
            problems.append(TemplateProblem(
                name, f"uses '{variable}', which is neither a field of the case nor a built-in "
                      f"({', '.join(BUILTINS)})"))
    return problems


def render_scripts(scripts: Mapping[str, str], variables: Mapping[str, Any]) -> dict[str, str]:
    """Every script rendered with ``variables`` (checked field values and built-ins).

    Raises ValidationFailed naming each script that cannot be rendered.
    """
    rendered, problems = {}, []
    for name, source in scripts.items():
        try:
            rendered[name] = _compiled(escaper_for(name), source).render(variables)
        except TemplateError as exc:
            problems.append({"field": f"scripts.{name}", "message": f"cannot be rendered: {exc.message or exc}"})
        except (ArithmeticError, TypeError, ValueError, LookupError, AttributeError) as exc:
            # a template is the case author's code: whatever its expressions raise is its problem
            problems.append({"field": f"scripts.{name}",
                             "message": f"cannot be rendered: {type(exc).__name__}: {str(exc)[:200]}"})
    if problems:
        raise ValidationFailed("the case's scripts cannot be rendered", errors=problems)
    return rendered


@functools.lru_cache(maxsize=256)
def _compiled(escape: Callable[[Any], str], source: str) -> Template:
    """A script's compiled template. Published scripts never change, and compiling is the costly part
    of rendering: every start renders its scripts."""
    return _environment(escape).from_string(source)


def entry_command(entry_point: str, python: str) -> list[str]:
    """How a job's entry script is started in its directory, chosen by the file's extension."""
    suffix = PurePosixPath(entry_point).suffix.lower()
    if suffix == ".py":
        return [python, entry_point]
    if suffix in (".sh", ".slurm"):
        return ["/bin/sh", entry_point]
    if suffix == ".bash":
        return ["bash", entry_point]
    return [f"./{entry_point}"]
