"""A case's typed fields, and the check every value goes through before it is stored or rendered."""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from shared.domain.text import Line, Text
from shared.errors import ValidationFailed

FieldType = Literal["number", "integer", "string", "choice", "boolean"]
FieldValue = bool | int | float | str | None

FIELD_NAME = r"^[a-z][a-z0-9_]{0,63}$"
# A string field without its own max_length still has this one.
DEFAULT_MAX_LENGTH = 1000
_NUMERIC = ("number", "integer")


class FieldValueError(ValueError):
    """A value breaks one of its field's rules; ``rule`` names which (type, min, max, choice, ...)."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


class FieldSpec(BaseModel):
    """One input of a case. ``default`` is declared last so that its check sees the other rules."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=FIELD_NAME)
    label: Line = Field(default="", max_length=120)
    type: FieldType
    unit: Line | None = Field(default=None, max_length=32)
    min: float | None = None
    max: float | None = None
    choices: list[str] | None = Field(default=None, min_length=1, max_length=200, validate_default=True)
    pattern: str | None = Field(default=None, max_length=500)
    max_length: int | None = Field(default=None, ge=1, le=100_000)
    required: bool = True
    help: Text = Field(default="", max_length=2000)
    default: FieldValue = None

    @field_validator("min", "max")
    @classmethod
    def _limits_for_numbers(cls, value: float | None, info: ValidationInfo) -> float | None:
        kind = info.data.get("type")
        if value is not None and kind is not None and kind not in _NUMERIC:
            raise ValueError(f"only number and integer fields have limits, not {kind} fields")
        if value is not None and not math.isfinite(value):
            raise ValueError("must be a finite number")
        if info.field_name == "max" and value is not None and (low := info.data.get("min")) is not None and low > value:
            raise ValueError(f"max {value:g} is below min {low:g}")
        return value

    @field_validator("choices")
    @classmethod
    def _choices_for_choice_fields(cls, value: list[str] | None, info: ValidationInfo) -> list[str] | None:
        kind = info.data.get("type")
        if value is not None and kind is not None and kind != "choice":
            raise ValueError(f"only choice fields have choices, not {kind} fields")
        if value is not None and len(set(value)) != len(value):
            raise ValueError("each choice must appear once")
        if value is None and kind == "choice":
            raise ValueError("a choice field needs its list of choices")
        return value

    @field_validator("pattern", "max_length")
    @classmethod
    def _string_rules(cls, value: Any, info: ValidationInfo) -> Any:
        kind = info.data.get("type")
        if value is not None and kind is not None and kind != "string":
            raise ValueError(f"only string fields have a {info.field_name}, not {kind} fields")
        if info.field_name == "pattern" and value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"is not a valid regular expression: {exc}") from None
        return value

    @field_validator("default")
    @classmethod
    def _default_obeys_the_field(cls, value: FieldValue, info: ValidationInfo) -> FieldValue:
        rules = ("type", "min", "max", "choices", "pattern", "max_length")
        if value is None or any(r not in info.data for r in rules):
            return value  # an earlier attribute is already reported as invalid
        spec = cls.model_construct(**{**info.data, "required": False})
        try:
            return spec.check(value)
        except FieldValueError as exc:
            raise ValueError(f"the default does not satisfy its own field: {exc.message}") from None

    @property
    def display_label(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()

    def check(self, value: Any) -> FieldValue:
        """``value`` converted to this field's type, or ``FieldValueError`` naming the broken rule."""
        if value is None:
            if self.required:
                raise FieldValueError("required", "a value is required")
            return None
        checker = _CHECKERS[self.type]
        return checker(self, value)

    def _check_boolean(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise FieldValueError("type", f"must be true or false, not {_describe(value)}")
        return value

    def _check_number(self, value: Any) -> float | int:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise FieldValueError("type", f"must be a number, not {_describe(value)}")
        if isinstance(value, float) and not math.isfinite(value):
            raise FieldValueError("type", "must be a finite number")
        if self.type == "integer" and isinstance(value, float) and not value.is_integer():
            raise FieldValueError("type", f"must be a whole number, not {value:g}")
        # Limits first, on the value as given: a huge integer compares exactly but has no float.
        unit = f" {self.unit}" if self.unit else ""
        low = self.min if self.min is not None else -FLOAT_LIMIT
        high = self.max if self.max is not None else FLOAT_LIMIT
        if value < low:
            raise FieldValueError("min", f"must be at least {low:g}{unit}, not {_short(value)}")
        if value > high:
            raise FieldValueError("max", f"must be at most {high:g}{unit}, not {_short(value)}")
        return int(value) if self.type == "integer" else float(value)

    def _check_string(self, value: Any) -> str:
        if not isinstance(value, str):
            raise FieldValueError("type", f"must be a string, not {_describe(value)}")
        limit = self.max_length or DEFAULT_MAX_LENGTH
        if len(value) > limit:
            raise FieldValueError("max_length", f"must be at most {limit} characters, not {len(value)}")
        if "\x00" in value:
            raise FieldValueError("characters", "must not contain NUL characters")
        if self.pattern is not None and re.fullmatch(self.pattern, value) is None:
            raise FieldValueError("pattern", f"must match the pattern {self.pattern}")
        return value

    def _check_choice(self, value: Any) -> str:
        if not isinstance(value, str) or value not in (self.choices or []):
            allowed = ", ".join(self.choices or [])
            raise FieldValueError("choice", f"must be one of {allowed}, not {_describe(value)}")
        return value


_CHECKERS = {
    "boolean": FieldSpec._check_boolean,
    "number": FieldSpec._check_number,
    "integer": FieldSpec._check_number,
    "string": FieldSpec._check_string,
    "choice": FieldSpec._check_choice,
}


FLOAT_LIMIT = sys.float_info.max


def _short(value: float | int) -> str:
    text = f"{value:g}" if isinstance(value, float) or abs(value) < 10**15 else f"a number of {len(str(abs(value)))} digits"
    return text


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def defaults(fields: Iterable[FieldSpec]) -> dict[str, FieldValue]:
    return {f.name: f.default for f in fields}


def check_values(fields: Iterable[FieldSpec], values: Mapping[str, Any]) -> dict[str, FieldValue]:
    """Each of ``values`` checked against its field: the converted values, or one 422 listing every
    unknown field and every broken rule (so nothing is stored unless all of it is valid)."""
    by_name = {f.name: f for f in fields}
    checked: dict[str, FieldValue] = {}
    problems = []
    for name, value in values.items():
        spec = by_name.get(name)
        if spec is None:
            problems.append({"field": name, "rule": "unknown", "message": "the case has no field of this name"})
            continue
        try:
            checked[name] = spec.check(value)
        except FieldValueError as exc:
            problems.append({"field": name, "rule": exc.rule, "message": exc.message})
    if problems:
        raise ValidationFailed("some field values are not valid", errors=problems)
    return checked


def missing_required(fields: Iterable[FieldSpec], values: Mapping[str, Any]) -> list[str]:
    return [f.name for f in fields if f.required and values.get(f.name) is None]


TRUE_WORDS = frozenset({"true", "yes", "on", "1"})
FALSE_WORDS = frozenset({"false", "no", "off", "0"})


def value_from_text(spec: FieldSpec, text: str) -> Any:
    """``text`` (a command-line or CSV cell) as a value of the field's type, left as text where it is
    not one, so that the field's check says why. An empty text is no value, except for a string field."""
    if spec.type in ("string", "choice"):
        return None if text == "" and spec.type == "choice" else text
    stripped = text.strip()
    if stripped == "":
        return None
    if spec.type == "boolean":
        word = stripped.lower()
        return True if word in TRUE_WORDS else False if word in FALSE_WORDS else text
    try:
        return int(stripped)
    except ValueError:
        pass
    try:
        return float(stripped)
    except ValueError:
        return text
