"""Cases: what an engineer picks to run. A definition is checked as a whole before it is published,
and every problem in it is reported by name, not just the first one."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shared.domain.fields import FieldSpec, FieldValue, check_values, missing_required
from shared.domain.scripts import BUILTINS, render_scripts, template_problems
from shared.domain.sites import checked_licences
from shared.domain.text import Line, Text
from shared.errors import ValidationFailed, describe_pydantic_errors

CASE_ID = r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"
SCRIPT_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
SLURM_NAME = r"^[A-Za-z0-9_.-]{1,64}$"
MAX_SCRIPT_CHARS = 256 * 1024
# Everything but the scripts, as JSON: keeps a version within one Table entity.
MAX_DEFINITION_CHARS = 200_000


def is_case_id(text: str) -> bool:
    return re.match(CASE_ID, text) is not None


class ResourceSpec(BaseModel):
    """What one run of the case needs; the Slurm runner turns it into sbatch options."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cores: int = Field(default=1, ge=1, le=4096)
    memory_mb: int = Field(default=1024, ge=16, le=4 * 1024 * 1024)
    wall_time_minutes: int = Field(default=60, ge=1, le=30 * 24 * 60)
    partition: str | None = Field(default=None, pattern=SLURM_NAME)
    account: str | None = Field(default=None, pattern=SLURM_NAME)


class OutputSpec(BaseModel):
    """Files a run produces: a glob pattern relative to the job's working directory."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pattern: str = Field(min_length=1, max_length=200)
    description: Line = Field(default="", max_length=500)
    live: bool = Field(default=False, description="uploaded while the job runs, whenever it changed (partial "
                                                  "until the job is done)")

    @field_validator("pattern")
    @classmethod
    def _inside_the_job_directory(cls, value: str) -> str:
        if value.startswith(("/", "~")) or "\\" in value or "\x00" in value or ":" in value:
            raise ValueError("must be a relative path pattern inside the job directory (no /, ~, \\ or : at all)")
        if ".." in PurePosixPath(value).parts:
            raise ValueError("must not contain '..': outputs stay inside the job directory")
        return value


class CaseDefinition(BaseModel):
    """What a case author publishes. Scripts are inline: name -> template text."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=CASE_ID, description="URL-safe slug: lowercase letters, digits and dashes")
    title: Line = Field(min_length=1, max_length=200)
    summary: Line = Field(default="", max_length=500)
    description: Text = Field(default="", max_length=20_000)
    tags: list[Line] = Field(default_factory=list, max_length=20)
    fields: list[FieldSpec] = Field(default_factory=list, max_length=200)
    scripts: dict[str, str] = Field(min_length=1, max_length=50)
    entry_point: str = Field(pattern=SCRIPT_NAME)
    outputs: list[OutputSpec] = Field(default_factory=list, max_length=50)
    resources: ResourceSpec = Field(default_factory=ResourceSpec)
    simulators: list[str] = Field(default_factory=list, max_length=50,
                                  description="simulators the case may run on; empty means any")
    licences: dict[str, int] = Field(default_factory=dict, max_length=20,
                                     description="solver licences one run holds while it is on its site")

    @field_validator("tags")
    @classmethod
    def _tags_are_short_words(cls, value: list[str]) -> list[str]:
        for tag in value:
            if not 1 <= len(tag) <= 40 or not tag.strip() == tag:
                raise ValueError(f"tag {tag!r} must be 1 to 40 characters without surrounding spaces")
        return value

    @field_validator("licences")
    @classmethod
    def _licence_names_and_counts(cls, value: dict[str, int]) -> dict[str, int]:
        return checked_licences(value)

    @field_validator("scripts")
    @classmethod
    def _script_names_and_sizes(cls, value: dict[str, str]) -> dict[str, str]:
        for name, source in value.items():
            if not re.match(SCRIPT_NAME, name):
                raise ValueError(f"script name {name!r} must be a plain file name (letters, digits, . _ -)")
            if len(source) > MAX_SCRIPT_CHARS:
                raise ValueError(f"script {name!r} is longer than {MAX_SCRIPT_CHARS} characters")
        return value

    def digest(self) -> str:
        """Identifies the content: publishing an unchanged definition is a no-op."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def parse_definition(raw: Any) -> CaseDefinition:
    """``raw`` (a decoded JSON or TOML document) as a checked definition, or one ValidationFailed that
    lists every problem: shape errors and whole-definition errors together."""
    problems: list[dict[str, Any]] = []
    definition = None
    try:
        definition = CaseDefinition.model_validate(raw)
    except ValidationError as exc:
        problems.extend(describe_pydantic_errors(exc.errors()))
    document = definition.model_dump() if definition else (raw if isinstance(raw, dict) else {})
    problems.extend(_whole_definition_problems(document))
    if definition is not None and (size := len(definition.model_dump_json(exclude={"scripts"}))) > MAX_DEFINITION_CHARS:
        problems.append({"field": None, "message": f"the definition without its scripts is {size} characters "
                                                   f"long; the limit is {MAX_DEFINITION_CHARS}"})
    if definition is not None and not problems:
        problems.extend(_rendering_problems(definition))
    if problems:
        raise ValidationFailed("the case definition is not valid", errors=problems)
    assert definition is not None
    return definition


_SAMPLES = {"number": 1.0, "integer": 1, "string": "sample", "boolean": False}


def _rendering_problems(definition: CaseDefinition) -> list[dict[str, Any]]:
    """Every script rendered with the fields' defaults (a sample value where a field has none), so that
    a template that can never render is refused at publishing, not when its first job runs."""
    values = {f.name: f.default if f.default is not None else (f.choices or [None])[0] if f.type == "choice"
              else _SAMPLES.get(f.type) for f in definition.fields}
    resources = definition.resources
    variables = {**values, "job_id": "5f2c9a0e11b7-8230312345678-3fa9c2d1", "job_title": "Sample",
                 "case_id": definition.id, "case_version": 1, "cores": resources.cores,
                 "memory_mb": resources.memory_mb, "wall_time_minutes": resources.wall_time_minutes}
    try:
        render_scripts(definition.scripts, variables)
    except ValidationFailed as exc:
        return [{**e, "message": e["message"].replace("cannot be rendered", "cannot be rendered with the fields' "
                                                                           "defaults")} for e in exc.errors]
    return []


def _whole_definition_problems(document: dict[str, Any]) -> list[dict[str, str]]:
    """Rules across parts of a definition. Works on a raw document too, so that these problems are
    reported alongside shape errors elsewhere."""
    problems = []
    fields = [f for f in _list(document.get("fields")) if isinstance(f, dict)]
    names = [f.get("name") for f in fields]
    for name, count in Counter(n for n in names if isinstance(n, str)).items():
        if count > 1:
            problems.append({"field": "fields", "message": f"field name '{name}' is declared {count} times"})
    for index, name in enumerate(names):
        if name in BUILTINS:
            problems.append({"field": f"fields[{index}].name",
                             "message": f"'{name}' is a built-in template variable; choose another name"})
    patterns = [o.get("pattern") for o in _list(document.get("outputs")) if isinstance(o, dict)]
    for pattern, count in Counter(p for p in patterns if isinstance(p, str)).items():
        if count > 1:
            problems.append({"field": "outputs", "message": f"output pattern '{pattern}' is declared {count} times"})
    scripts = document.get("scripts")
    scripts = {k: v for k, v in scripts.items() if isinstance(v, str)} if isinstance(scripts, dict) else {}
    entry = document.get("entry_point")
    if scripts and isinstance(entry, str) and entry not in scripts:
        problems.append({"field": "entry_point",
                         "message": f"'{entry}' is not one of the scripts ({', '.join(scripts)})"})
    known = {n for n in names if isinstance(n, str)} | set(BUILTINS)
    for problem in template_problems(scripts, known):
        problems.append({"field": f"scripts.{problem.script}", "message": problem.message})
    return problems


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


class CaseHeader(BaseModel):
    """What the case list shows."""

    id: str
    title: str
    summary: str
    tags: list[str]
    version: int
    updated: datetime


class PublishedCase(BaseModel):
    """One immutable version of a case. ``definition.scripts`` holds the script texts."""

    definition: CaseDefinition
    version: int = Field(ge=1)
    published: datetime
    published_by: str
    digest: str

    @property
    def id(self) -> str:
        return self.definition.id

    def header(self) -> CaseHeader:
        d = self.definition
        return CaseHeader(id=d.id, title=d.title, summary=d.summary, tags=d.tags,
                          version=self.version, updated=self.published)

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.definition.fields if f.name == name), None)

    def check_values(self, values: dict[str, Any]) -> dict[str, FieldValue]:
        return check_values(self.definition.fields, values)

    def may_run_on(self, simulator: str) -> bool:
        return not self.definition.simulators or simulator in self.definition.simulators

    def render(self, values: dict[str, Any], *, job_id: str, job_title: str) -> dict[str, str]:
        """The job's scripts: a pure function of this version, the field values and the job's names."""
        checked = {**{f.name: f.default for f in self.definition.fields}, **self.check_values(values)}
        missing = missing_required(self.definition.fields, checked)
        if missing:
            raise ValidationFailed("set every required field before running", errors=[
                {"field": name, "rule": "required", "message": "a value is required"} for name in missing])
        resources = self.definition.resources
        variables = {
            **checked,
            "job_id": job_id,
            "job_title": job_title,
            "case_id": self.id,
            "case_version": self.version,
            "cores": resources.cores,
            "memory_mb": resources.memory_mb,
            "wall_time_minutes": resources.wall_time_minutes,
        }
        return render_scripts(self.definition.scripts, variables)
