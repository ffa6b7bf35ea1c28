"""The case repository against real Azurite (Table + Blob over HTTPS with OAuth)."""

import uuid
from datetime import datetime, timezone

import pytest

from shared.adapters.case_store import TableCaseRepository
from shared.adapters.system_clock import SystemClock
from shared.api.requests import PageQuery
from shared.domain.cases import parse_definition
from shared.errors import NotFound, TransientError
from shared.services.catalogue import Catalogue
from tests.concurrency import run_together
from tests.factories import case_document

pytestmark = pytest.mark.integration
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


@pytest.fixture
def repository(storage, settings, own_table) -> TableCaseRepository:
    return TableCaseRepository(storage, own_table, settings.scripts_container)


def publish(repository, case_id, **changes):
    return repository.publish(parse_definition(case_document(case_id, **changes)), "admin", NOW)


def unique_id(prefix="case"):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def blobs_under(storage, settings, prefix):
    return sorted(b.name for b in storage.container(settings.scripts_container).list_blobs(name_starts_with=prefix))


def test_a_published_case_reads_back_with_its_scripts(repository):
    case_id = unique_id()
    publication = publish(repository, case_id)
    assert publication.changed and publication.case.version == 1
    fresh = TableCaseRepository(repository._clients, repository._table_name, repository._container_name)
    case = fresh.get(case_id)
    assert case.definition == parse_definition(case_document(case_id))
    assert (case.version, case.published, case.published_by) == (1, NOW, "admin")


def test_versions_are_kept_and_unchanged_definitions_are_not_republished(repository, storage, settings):
    case_id = unique_id()
    publish(repository, case_id)
    assert publish(repository, case_id).changed is False
    new_script = {"run.sh": "echo v2 {{ speed }}\n"}
    second = publish(repository, case_id, scripts=new_script)
    assert second.changed and second.case.version == 2
    assert repository.latest_version(case_id) == 2
    old = repository.get(case_id, 1)
    assert old.definition.scripts["run.sh"].startswith("#!/bin/sh\necho {{ label }}")
    assert repository.get(case_id).definition.scripts == new_script
    # Each version's scripts live under their own content-addressed prefix.
    assert len({name.split("/")[1] for name in blobs_under(storage, settings, case_id + "/")}) == 2


def test_unknown_cases_and_versions_are_not_found(repository):
    case_id = unique_id()
    with pytest.raises(NotFound, match="no case"):
        repository.get(case_id)
    publish(repository, case_id)
    with pytest.raises(NotFound, match="no version 7"):
        repository.get(case_id, 7)


def test_listing_pages_through_more_than_one_page(repository):
    ids = sorted(unique_id(f"c{i:02d}") for i in range(12))
    for case_id in ids:
        publish(repository, case_id)
    seen, token, sizes = [], None, []
    while True:
        page = repository.list_headers(5, token)
        sizes.append(len(page.items))
        seen += [h.id for h in page.items]
        token = page.continuation
        if token is None:
            break
    assert sizes == [5, 5, 2] and seen == ids
    third = Catalogue(repository, SystemClock()).list(PageQuery(page=3, per_page=5).to_page_request())
    assert [h.id for h in third.items] == ids[10:] and third.continuation is None
    assert Catalogue(repository, SystemClock()).list(PageQuery(page=4, per_page=5).to_page_request()).items == []
    header = repository.list_headers(1).items[0]
    assert (header.title, header.version, header.tags, header.updated) == ("Mixer", 1, ["test"], NOW)


def test_a_publisher_that_died_before_moving_the_header_is_finished_by_the_next(repository, storage, settings):
    case_id = unique_id()
    publish(repository, case_id)
    died = parse_definition(case_document(case_id, title="Died"))
    prefix = f"{case_id}/{died.digest()}"
    repository._upload_scripts(prefix, died.scripts)
    repository._table.create_entity(repository._version_row(died, 2, died.digest(), prefix, "admin", NOW))
    assert repository.latest_version(case_id) == 1

    third = publish(repository, case_id, title="Third")
    assert third.case.version == 3 and repository.latest_version(case_id) == 3
    assert repository.get(case_id, 2).definition.title == "Died"


def test_concurrent_publishers_get_distinct_versions_and_lose_nothing(repository):
    case_id = unique_id()
    publish(repository, case_id)
    titles = [f"Writer {i}" for i in range(6)]
    results = {}

    def writer(title):
        results[title] = publish(repository, case_id, title=title).case.version

    assert run_together(writer, titles) == []
    assert sorted(results.values()) == list(range(2, 2 + len(titles)))
    assert repository.latest_version(case_id) == 1 + len(titles)
    for title, version in results.items():
        assert repository.get(case_id, version).definition.title == title


def test_a_failed_publish_leaves_no_script_blob_behind(storage, settings):
    broken = TableCaseRepository(storage, "tabledoesnotexist", settings.scripts_container)
    case_id = unique_id()
    with pytest.raises((NotFound, TransientError)):
        publish(broken, case_id)
    assert blobs_under(storage, settings, case_id + "/") == []
