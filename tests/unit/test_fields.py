import math

import pytest
from pydantic import ValidationError

from shared.domain.fields import FieldSpec, FieldValueError, check_values, missing_required
from shared.errors import ValidationFailed

SPEED = FieldSpec(name="speed", type="number", min=0, max=100, unit="rpm", default=10)
STEPS = FieldSpec(name="steps", type="integer", min=1, max=1000, default=10)
FRUIT = FieldSpec(name="fruit", type="choice", choices=["mango", "kiwi"], default="mango")
LABEL = FieldSpec(name="label", type="string", max_length=8, pattern=r"[a-z ]*", required=False)
ICE = FieldSpec(name="ice", type="boolean", default=False)


@pytest.mark.parametrize("spec, value, expected", [
    (SPEED, 5, 5.0), (SPEED, 0, 0.0), (SPEED, 100.0, 100.0),
    (STEPS, 7, 7), (STEPS, 7.0, 7),
    (FRUIT, "kiwi", "kiwi"), (LABEL, "ab c", "ab c"), (LABEL, None, None), (ICE, True, True),
])
def test_valid_values_are_converted_to_the_field_type(spec, value, expected):
    result = spec.check(value)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize("spec, value, rule", [
    (SPEED, -0.1, "min"), (SPEED, 100.5, "max"), (SPEED, "5", "type"), (SPEED, True, "type"),
    (SPEED, math.inf, "type"), (SPEED, math.nan, "type"), (SPEED, None, "required"),
    (STEPS, 2.5, "type"), (STEPS, 0, "min"),
    (FRUIT, "apple", "choice"), (FRUIT, 1, "choice"),
    (LABEL, "much too long", "max_length"), (LABEL, "UPPER", "pattern"), (LABEL, 5, "type"),
    (LABEL, "a\x00b", "characters"), (ICE, "true", "type"), (ICE, 1, "type"),
])
def test_each_broken_rule_is_named(spec, value, rule):
    with pytest.raises(FieldValueError) as caught:
        spec.check(value)
    assert caught.value.rule == rule


def test_a_string_field_without_max_length_still_has_a_limit():
    with pytest.raises(FieldValueError, match="at most 1000"):
        FieldSpec(name="note", type="string").check("x" * 1001)


@pytest.mark.parametrize("definition, message", [
    (dict(name="x", type="number", min=5, max=1), "below min"),
    (dict(name="x", type="string", min=1), "only number and integer fields have limits"),
    (dict(name="x", type="choice"), "needs its list of choices"),
    (dict(name="x", type="choice", choices=["a", "a"]), "each choice must appear once"),
    (dict(name="x", type="number", choices=["a"]), "only choice fields have choices"),
    (dict(name="x", type="string", pattern="("), "not a valid regular expression"),
    (dict(name="x", type="integer", max_length=3), "only string fields"),
    (dict(name="x", type="integer", min=0, max=10, default=11), "default does not satisfy"),
    (dict(name="x", type="choice", choices=["a"], default="b"), "default does not satisfy"),
    (dict(name="Bad-Name", type="number"), "should match pattern"),
    (dict(name="x", type="colour"), "Input should be"),
])
def test_inconsistent_field_specs_are_refused(definition, message):
    with pytest.raises(ValidationError, match=message):
        FieldSpec(**definition)


def test_check_values_reports_every_problem_at_once():
    with pytest.raises(ValidationFailed) as caught:
        check_values([SPEED, STEPS, FRUIT], {"speed": 500, "steps": 3, "fruit": "apple", "colour": "red"})
    assert {(e["field"], e["rule"]) for e in caught.value.errors} == {
        ("speed", "max"), ("fruit", "choice"), ("colour", "unknown")}


def test_missing_required_lists_fields_without_a_value():
    assert missing_required([SPEED, LABEL], {"speed": None, "label": None}) == ["speed"]
