"""The case loader takes case folders themselves as well as folders of them."""

import shutil
from datetime import datetime, timezone
from pathlib import Path

from commands.load_cases import DEFAULT_DIRECTORY, load
from shared.services.catalogue import Catalogue
from tests.fakes import FakeClock, InMemoryCaseRepository


def load_into(repository, *directories):
    return load(list(directories), Catalogue(repository, FakeClock(datetime(2026, 1, 1, tzinfo=timezone.utc))), "test")


def test_a_case_folder_itself_is_published():
    repository = InMemoryCaseRepository()
    outcomes = load_into(repository, DEFAULT_DIRECTORY / "smoothie")
    assert [(o.folder.name, o.ok, o.message) for o in outcomes] == [("smoothie", True, "published version 1")]
    assert set(repository.versions) == {"smoothie"}


def test_the_current_directory_as_a_case_folder_is_named_after_the_folder(tmp_path, monkeypatch):
    shutil.copytree(DEFAULT_DIRECTORY / "heat-rod", tmp_path / "heat-rod")
    monkeypatch.chdir(tmp_path / "heat-rod")
    repository = InMemoryCaseRepository()
    outcomes = load_into(repository, Path("."))
    assert [(o.folder.name, o.ok) for o in outcomes] == [("heat-rod", True)]
    assert set(repository.versions) == {"heat-rod"}


def test_a_case_named_twice_is_published_once():
    repository = InMemoryCaseRepository()
    outcomes = load_into(repository, DEFAULT_DIRECTORY, DEFAULT_DIRECTORY / "smoothie")
    names = [o.folder.name for o in outcomes]
    assert names.count("smoothie") == 1 and "heat-rod" in names
    assert all(o.message == "published version 1" for o in outcomes)


def test_a_folder_without_cases_publishes_nothing(tmp_path):
    (tmp_path / "notes").mkdir()
    assert load_into(InMemoryCaseRepository(), tmp_path) == []
