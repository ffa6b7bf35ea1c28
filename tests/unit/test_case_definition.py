import shlex
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from shared.domain.cases import PublishedCase, parse_definition
from shared.errors import ValidationFailed
from tests.factories import SAMPLE_CASE, case_document

VALID = SAMPLE_CASE


def definition(**changes):
    return case_document(**changes)


def problems(document) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        parse_definition(document)
    return {e["field"]: e["message"] for e in caught.value.errors}


def published(document=VALID) -> PublishedCase:
    d = parse_definition(document)
    return PublishedCase(definition=d, version=3, published=datetime.now(timezone.utc), published_by="admin",
                         digest=d.digest())


def test_a_valid_definition_parses():
    assert parse_definition(VALID).entry_point == "run.sh"


def test_every_problem_is_reported_by_name_in_one_answer():
    broken = definition(
        fields=[
            {"name": "speed", "type": "number", "min": 0, "max": 100, "default": 200},
            {"name": "label", "type": "string"},
            {"name": "label", "type": "boolean"},
        ],
        scripts={"run.sh": "echo {{ speed ", "other.sh": "echo {{ colour }}"},
        outputs=[{"pattern": "../etc/passwd"}, {"pattern": "/abs/*.csv"}],
    )
    found = problems(broken)
    assert "default does not satisfy" in found["fields[0].default"]
    assert "'label' is declared 2 times" in found["fields"]
    assert "'..'" in found["outputs[0].pattern"]
    assert "relative" in found["outputs[1].pattern"]
    assert found["scripts.run.sh"].startswith("line 1:")
    assert "'colour'" in found["scripts.other.sh"]


@pytest.mark.parametrize("changes, field, message", [
    ({"id": "Not A Slug"}, "id", "should match pattern"),
    ({"entry_point": "main.sh"}, "entry_point", "not one of the scripts"),
    ({"scripts": {"../x.sh": "x"}, "entry_point": "../x.sh"}, "scripts", "plain file name"),
    ({"fields": [{"name": "job_id", "type": "string"}]}, "fields[0].name", "built-in"),
    ({"outputs": [{"pattern": "a.csv"}, {"pattern": "a.csv"}]}, "outputs", "declared 2 times"),
    ({"outputs": [{"pattern": "x/../../y"}]}, "outputs[0].pattern", "'..'"),
    ({"outputs": [{"pattern": "C:\\x"}]}, "outputs[0].pattern", "relative"),
    ({"resources": {"cores": 0}}, "resources.cores", "greater than or equal"),
    ({"resources": {"partition": "a b"}}, "resources.partition", "should match"),
    ({"unknown": 1}, "unknown", "Extra inputs"),
    ({"title": ""}, "title", "at least 1"),
])
def test_single_problems(changes, field, message):
    assert message in problems(definition(**changes))[field]


def test_the_digest_changes_with_any_content_and_only_then():
    a, b = parse_definition(VALID), parse_definition(case_document())
    assert a.digest() == b.digest()
    changed = definition(scripts={**VALID["scripts"], "run.sh": VALID["scripts"]["run.sh"] + "\n"})
    assert parse_definition(changed).digest() != a.digest()


def test_rendering_escapes_values_for_each_language():
    scripts = published().render({"label": "it's", "speed": 12}, job_id="j1", job_title="Test 1")
    assert scripts["run.sh"] == "#!/bin/sh\necho 'it'\"'\"'s' 12.0 false 'Test 1'\n"
    assert scripts["params.py"] == "LABEL = \"it's\"\nSPEED = 12.0\nFAST = False\n"
    assert scripts["params.json"] == '{"label": "it\'s", "speed": 12.0}\n'


HOSTILE = ["$(touch pwned)", "`touch pwned`", "x; touch pwned", "a'; touch pwned; '", "x\ntouch pwned",
           "${IFS}touch${IFS}pwned", "\\'; touch pwned #", "--help", "*", "\"; import os; os.system('touch pwned') #"]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_stay_data_in_shell_and_python(value, tmp_path):
    scripts = published().render({"label": value}, job_id="j1", job_title=value)
    for name, text in scripts.items():
        (tmp_path / name).write_text(text)
    shell = subprocess.run(["sh", "run.sh"], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert shell.stdout == f"{value} 10.0 false {value}\n"
    python = subprocess.run([sys.executable, "-c", "import params; print(params.LABEL, end='')"],
                            cwd=tmp_path, capture_output=True, text=True, check=True)
    assert python.stdout == value
    assert not (tmp_path / "pwned").exists()


def test_shquote_filter_quotes_inside_a_built_string():
    document = definition(scripts={"run.sh": "CMD={{ ('echo ' ~ (label | shquote)) | shquote }}\n"})
    text = published(document).render({"label": "a b"}, job_id="j", job_title="t")["run.sh"]
    assert shlex.split(text.removeprefix("CMD=")) == ["echo 'a b'"]


def test_rendering_checks_values_first():
    with pytest.raises(ValidationFailed) as caught:
        published().render({"speed": 1000, "colour": 1}, job_id="j", job_title="t")
    assert {e["field"] for e in caught.value.errors} == {"speed", "colour"}


def test_rendering_needs_every_required_value():
    document = definition(fields=[*VALID["fields"][:2], {"name": "fast", "type": "boolean"}])
    with pytest.raises(ValidationFailed) as caught:
        published(document).render({}, job_id="j", job_title="t")
    assert caught.value.errors == [{"field": "fast", "rule": "required", "message": "a value is required"}]


def test_the_sandbox_refuses_attribute_tricks_and_such_a_case_is_not_published():
    document = definition(scripts={"run.sh": "{{ label.__class__.__mro__ }}"})
    with pytest.raises(ValidationFailed) as caught:
        published(document)
    assert caught.value.errors[0]["field"] == "scripts.run.sh"
    assert "cannot be rendered with the fields' defaults" in caught.value.errors[0]["message"]


@pytest.mark.parametrize("script, words", [("{{ speed / 0 }}", "ZeroDivisionError"),
                                            ("{{ range(10**9) | list }}", "Range too big")])
def test_a_template_that_can_never_render_is_refused_at_publishing(script, words):
    with pytest.raises(ValidationFailed) as caught:
        published(definition(scripts={"run.sh": script}))
    assert words in caught.value.errors[0]["message"]


@pytest.mark.parametrize("title", ["Test\n1", "evil\u202egnp.exe", "tab\there", "bell\x07"])
def test_titles_refuse_control_and_text_direction_characters(title):
    with pytest.raises(ValidationFailed) as caught:
        published(definition(title=title))
    assert caught.value.errors[0]["field"] == "title" and "plain text" in caught.value.errors[0]["message"]


def test_builtins_are_available():
    document = definition(scripts={"run.txt": "{{ job_id }} {{ case_id }} {{ case_version }} {{ cores }}"},
                          entry_point="run.txt")
    assert published(document).render({}, job_id="j9", job_title="t")["run.txt"] == "j9 mixer 3 1"
