"""The catalogue's use cases and the case loader, with an in-memory repository."""

import shutil
from datetime import datetime, timezone

import pytest

from commands.load_cases import DEFAULT_DIRECTORY, load
from shared.adapters.case_folders import read_case_folder
from shared.api.requests import CaseListQuery, PageQuery
from shared.auth import Principal
from shared.domain.cases import parse_definition
from shared.errors import Forbidden, NotFound, ValidationFailed
from shared.services.catalogue import Catalogue
from tests.factories import case_document
from tests.fakes import FakeClock, InMemoryCaseRepository

ADMIN = Principal("carol", "Carol", frozenset({"simgate.admin"}), is_admin=True)
USER = Principal("alice", "Alice")
NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


@pytest.fixture
def repository():
    repository = InMemoryCaseRepository()
    for i in range(7):
        repository.publish(parse_definition(case_document(f"case-{i}")), "carol", NOW)
    return repository


def catalogue(repository) -> Catalogue:
    return Catalogue(repository, FakeClock(NOW))


def list_cases(repository, query: CaseListQuery):
    return catalogue(repository).list(query.to_page_request(), words=query.q, tag=query.tag)


def get_case(repository, case_id, version=None):
    return catalogue(repository).get(case_id, version)


def publish_case(repository, principal, document, case_id=None):
    return catalogue(repository).publish(principal, document, case_id=case_id)


def ids(listing):
    return [h.id for h in listing.items]


def test_pages_by_number_and_by_token_agree(repository):
    second = list_cases(repository, CaseListQuery(page=2, per_page=3))
    assert ids(second) == ["case-3", "case-4", "case-5"]
    first = list_cases(repository, CaseListQuery(page=1, per_page=3))
    assert ids(list_cases(repository, CaseListQuery(per_page=3, continuation=first.continuation))) == ids(second)
    assert ids(list_cases(repository, CaseListQuery(page=9, per_page=3))) == []


def test_per_page_is_capped_at_100():
    assert PageQuery(per_page=1000).capped_per_page == 100


def test_get_case_returns_the_version_asked_for_and_the_latest(repository):
    publish_case(repository, ADMIN, case_document("case-1", title="Newer"))
    case, latest = get_case(repository, "case-1", 1)
    assert (case.version, case.definition.title, latest) == (1, "Mixer", 2)
    with pytest.raises(NotFound):
        get_case(repository, "nope")


def test_only_admins_publish(repository):
    with pytest.raises(Forbidden, match="admin role"):
        publish_case(repository, USER, case_document("case-9"))
    assert "case-9" not in repository.versions


def test_the_url_id_fills_in_a_missing_body_id_and_must_match_a_given_one(repository):
    document = case_document("x")
    del document["id"]
    assert publish_case(repository, ADMIN, document, case_id="case-8").case.id == "case-8"
    with pytest.raises(ValidationFailed) as caught:
        publish_case(repository, ADMIN, case_document("other"), case_id="case-8")
    assert caught.value.errors[0]["field"] == "id"


def test_the_loader_publishes_the_demo_cases_once(tmp_path):
    repository = InMemoryCaseRepository()
    first = load([DEFAULT_DIRECTORY], catalogue(repository), "test")
    assert {o.folder.name for o in first} >= {"smoothie", "heat-rod"}
    assert all(o.ok and o.message == "published version 1" for o in first)
    again = load([DEFAULT_DIRECTORY], catalogue(repository), "test")
    assert all(o.ok and o.message.startswith("unchanged") for o in again)
    assert repository.writes == len(first)


def test_the_loader_publishes_a_changed_case_as_a_new_version_and_reports_invalid_ones(tmp_path):
    shutil.copytree(DEFAULT_DIRECTORY / "heat-rod", tmp_path / "heat-rod")
    repository = InMemoryCaseRepository()
    load([tmp_path], catalogue(repository), "test")
    script = tmp_path / "heat-rod" / "scripts" / "rod.py"
    script.write_text(script.read_text() + "\n# tuned\n")
    broken = tmp_path / "broken"
    (broken / "scripts").mkdir(parents=True)
    (broken / "case.toml").write_text('title = "Broken"\nentry_point = "run.sh"\n')
    (broken / "scripts" / "run.sh").write_text("echo {{ nowhere }}\n")
    outcomes = {o.folder.name: o for o in load([tmp_path], catalogue(repository), "test")}
    assert outcomes["heat-rod"].message == "published version 2"
    assert not outcomes["broken"].ok and "'nowhere'" in outcomes["broken"].problems[0]
    assert "broken" not in repository.versions


@pytest.mark.parametrize("setup, message", [
    (lambda f: (f / "case.toml").write_text("title = \n"), "case.toml cannot be read"),
    (lambda f: (f / "case.toml").write_text('title = "x"\nentry_point = "a"\n'), "is not valid"),
])
def test_unreadable_folders_are_reported(tmp_path, setup, message):
    folder = tmp_path / "case-x"
    folder.mkdir()
    setup(folder)
    with pytest.raises(ValidationFailed, match=message) as caught:
        read_case_folder(folder)
    assert caught.value.errors


def test_a_case_folder_reads_as_a_definition_with_its_scripts():
    document = read_case_folder(DEFAULT_DIRECTORY / "smoothie")
    assert document["id"] == "smoothie" and set(document["scripts"]) == {"run.sh", "smoothie.py"}
    assert parse_definition(document).entry_point == "run.sh"
