"""The case loader command against real Azurite: publishes the demo cases once, then nothing."""

import os
import shutil
import subprocess
import sys

import pytest

from devstack import PROJECT_ROOT
from shared.adapters.case_store import TableCaseRepository
from shared.errors import NotFound

pytestmark = pytest.mark.integration


def run_loader(env, *args):
    return subprocess.run([sys.executable, "-m", "commands.load_cases", *args, "--settings", "/nonexistent"],
                          cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def loader_env(storage_env, own_table):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SimgateStorage")}
    return {**env, **storage_env, "CASES_TABLE": own_table}


def test_the_loader_is_idempotent_and_publishes_changes(loader_env, storage, settings, tmp_path):
    first = run_loader(loader_env)
    assert first.returncode == 0, first.stderr
    assert "smoothie" in first.stdout and "heat-rod" in first.stdout
    assert first.stdout.count("published version 1") >= 2
    again = run_loader(loader_env)
    assert again.returncode == 0 and "published" not in again.stdout
    assert again.stdout.count("unchanged (version 1)") == first.stdout.count("published version 1")

    shutil.copytree(PROJECT_ROOT / "cases" / "smoothie", tmp_path / "smoothie")
    toml = tmp_path / "smoothie" / "case.toml"
    toml.write_text(toml.read_text().replace('title = "Smoothie blender"', 'title = "Smoothie blender II"'))
    changed = run_loader(loader_env, str(tmp_path))
    assert changed.returncode == 0 and "smoothie  published version 2" in changed.stdout
    repository = TableCaseRepository(storage, loader_env["CASES_TABLE"], settings.scripts_container)
    assert repository.get("smoothie").definition.title == "Smoothie blender II"
    assert repository.get("smoothie", 1).definition.title == "Smoothie blender"


def test_the_loader_reports_an_invalid_case_and_still_loads_the_rest(loader_env, tmp_path):
    shutil.copytree(PROJECT_ROOT / "cases" / "heat-rod", tmp_path / "heat-rod")
    broken = tmp_path / "broken"
    (broken / "scripts").mkdir(parents=True)
    (broken / "case.toml").write_text('title = "Broken"\nentry_point = "run.sh"\n'
                                      '[[outputs]]\npattern = "../up.csv"\n')
    (broken / "scripts" / "run.sh").write_text("echo {{ nowhere }}\n")
    result = run_loader(loader_env, str(tmp_path))
    assert result.returncode == 1
    assert "heat-rod  published version 1" in result.stdout
    assert "outputs[0].pattern: must not contain '..'" in result.stdout
    assert "scripts.run.sh: uses 'nowhere'" in result.stdout


def test_the_loader_takes_a_case_folder_itself(loader_env, storage, settings):
    result = run_loader(loader_env, "cases/heat-rod")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "heat-rod  published version 1"
    repository = TableCaseRepository(storage, loader_env["CASES_TABLE"], settings.scripts_container)
    assert repository.get("heat-rod").version == 1
    with pytest.raises(NotFound):
        repository.get("smoothie")


def test_a_missing_directory_is_a_clear_usage_error(loader_env):
    result = run_loader(loader_env, "/no/such/dir")
    assert result.returncode == 2 and "not a directory: /no/such/dir" in result.stderr
