"""The output store against Azurite, which enforces SAS signatures and permissions: an upload grant
reaches its own blob in the job's staging area only (never the sealed outputs), a download link reads
and nothing else, sealing copies exactly the staged version checked, and emptying a staging area
removes whatever a grant did there (snapshots, a lease, blocks never committed)."""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import requests

from shared.adapters.output_store import BlobOutputStore
from shared.errors import StaleWrite
from tests.conftest import own_container

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def container(storage):
    for name in own_container(storage, "outputs-"):
        yield storage.container(name)


@pytest.fixture
def store(storage, container):
    return BlobOutputStore(storage, container.container_name)


@pytest.fixture
def job_id():
    return f"{uuid.uuid4().hex[:12]}-0000000000000-{uuid.uuid4().hex[:8]}"


def put(url, data, azurite, **headers):
    return requests.put(url, data=data, headers={"x-ms-blob-type": "BlockBlob", **headers},
                        verify=str(azurite.ca_bundle), timeout=10)


def upload(url, data, azurite):
    """As the agent uploads a small file: the body's MD5 checked by storage and kept as the blob's."""
    md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
    response = put(url, data, azurite, **{"Content-MD5": md5, "x-ms-blob-content-md5": md5})
    assert response.status_code == 201, response.text
    return response


def everything_under(container, prefix):
    """Every blob under the prefix, with its snapshots and blobs of uncommitted blocks only."""
    return [(b.name, b.snapshot) for b in container.list_blobs(name_starts_with=prefix,
                                                              include=["snapshots", "uncommittedblobs"])]


def test_an_upload_grant_writes_its_own_staged_blob_and_nothing_else(store, job_id, azurite, container):
    links = store.upload_links(job_id, ["results/a.csv"], timedelta(hours=1))
    url = links["results/a.csv"].url
    assert "sp=cw" in url and "spr=https" in url and f"/staging/{job_id}/results/a.csv?" in url
    upload(url, b"1,2\n", azurite)
    staged = store.staged(job_id, ["results/a.csv", "results/missing.csv"])
    assert set(staged) == {"results/a.csv"} and staged["results/a.csv"].size == 4
    assert staged["results/a.csv"].md5 == hashlib.md5(b"1,2\n").hexdigest()

    assert requests.get(url, verify=str(azurite.ca_bundle), timeout=10).status_code == 403  # no read
    base, _, query = url.partition("?")
    container_url = base.rsplit(f"/staging/{job_id}/", 1)[0]
    listing = requests.get(f"{container_url}?restype=container&comp=list&{query}", verify=str(azurite.ca_bundle),
                           timeout=10)
    assert listing.status_code == 403  # no list
    assert requests.delete(url, verify=str(azurite.ca_bundle), timeout=10).status_code == 403  # no delete
    for elsewhere in (f"{container_url}/staging/{job_id}/results/b.csv", f"{container_url}/staging/other-job/results/a.csv",
                      f"{container_url}/{job_id}/results/a.csv"):  # the last: the job's sealed output
        assert put(f"{elsewhere}?{query}", b"x", azurite).status_code == 403  # scoped to one staged blob


def test_an_expired_grant_writes_nothing(store, job_id, azurite, container):
    (link,) = store.upload_links(job_id, ["a.csv"], timedelta(seconds=-1)).values()
    assert put(link.url, b"late", azurite).status_code == 403
    assert everything_under(container, f"staging/{job_id}/") == []


def test_a_download_link_reads_as_an_attachment_and_cannot_write(store, job_id, azurite, container):
    container.upload_blob(f"{job_id}/results/a.csv", b"1,2\n")
    link = store.download_link(job_id, "results/a.csv", None, "a.csv", "text/csv", timedelta(minutes=15))
    assert link.expires_at <= datetime.now(timezone.utc) + timedelta(minutes=15)
    response = requests.get(link.url, verify=str(azurite.ca_bundle), timeout=10)
    assert response.status_code == 200 and response.content == b"1,2\n"
    assert response.headers["Content-Disposition"] == 'attachment; filename="a.csv"'
    assert response.headers["Content-Type"] == "text/csv"
    assert put(link.url, b"tampered", azurite).status_code == 403
    tampered = link.url.replace("sig=", "sig=AA")
    assert requests.get(tampered, verify=str(azurite.ca_bundle), timeout=10).status_code == 403


def test_an_expired_link_is_refused(store, job_id, azurite, container):
    container.upload_blob(f"{job_id}/old.csv", b"x")
    link = store.download_link(job_id, "old.csv", None, "old.csv", "text/csv", timedelta(seconds=-60))
    assert requests.get(link.url, verify=str(azurite.ca_bundle), timeout=10).status_code == 403


def test_the_user_delegation_key_is_fetched_once_for_many_links(store, job_id, storage, monkeypatch):
    calls = []
    original = storage.blob_service.get_user_delegation_key

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(storage.blob_service, "get_user_delegation_key", counting)
    for index in range(5):
        store.download_link(job_id, f"f{index}.csv", None, f"f{index}.csv", "text/csv", timedelta(minutes=15))
    store.upload_links(job_id, ["a", "b", "c"], timedelta(hours=1))
    assert len(calls) == 1


def test_sealing_copies_the_staged_version_checked_into_the_outputs(store, job_id, azurite, container):
    (url,) = [link.url for link in store.upload_links(job_id, ["results/a.csv"], timedelta(hours=1)).values()]
    upload(url, b"1,2\n", azurite)
    staged = store.staged(job_id, ["results/a.csv"])
    store.seal(job_id, staged)
    sealed = container.get_blob_client(f"{job_id}/results/a.csv").get_blob_properties()
    assert sealed.size == 4 and bytes(sealed.content_settings.content_md5).hex() == hashlib.md5(b"1,2\n").hexdigest()

    upload(url, b"3,4\n", azurite)  # written again after the check: that version is not the one checked
    with pytest.raises(StaleWrite):
        store.seal(job_id, staged)
    assert container.download_blob(f"{job_id}/results/a.csv").readall() == b"1,2\n"


def test_outputs_sealed_as_snapshots_stay_readable_through_their_snapshot(store, job_id, azurite, container):
    blob = container.get_blob_client(f"{job_id}/results/a.csv")
    blob.upload_blob(b"1,2\n")
    snapshot = blob.create_snapshot()["snapshot"]
    blob.upload_blob(b"written later\n", overwrite=True)
    link = store.download_link(job_id, "results/a.csv", snapshot, "a.csv", "text/csv", timedelta(minutes=15))
    response = requests.get(link.url, verify=str(azurite.ca_bundle), timeout=10)
    assert response.status_code == 200 and response.content == b"1,2\n"
    assert store.delete_outputs(job_id) == 1 and everything_under(container, f"{job_id}/") == []


def test_a_staging_area_is_emptied_whatever_a_grant_did_there(store, job_id, azurite, container):
    links = store.upload_links(job_id, ["snapped.csv", "leased.csv", "blocks.bin"], timedelta(hours=1))
    for name in ("snapped.csv", "leased.csv"):
        upload(links[name].url, b"x" * 100, azurite)
    verify = str(azurite.ca_bundle)
    assert requests.put(f"{links['snapped.csv'].url}&comp=snapshot", verify=verify, timeout=10).status_code == 201
    leased = requests.put(f"{links['leased.csv'].url}&comp=lease", verify=verify, timeout=10,
                          headers={"x-ms-lease-action": "acquire", "x-ms-lease-duration": "-1"})
    assert leased.status_code == 201  # a lease that never ends, which blocks a plain delete
    block = base64.b64encode(b"block-00").decode()
    uncommitted = requests.put(f"{links['blocks.bin'].url}&comp=block&blockid={block}", data=b"y" * 1000,
                               verify=verify, timeout=10)
    assert uncommitted.status_code == 201  # blocks never committed: no blob, but bytes all the same
    assert len(everything_under(container, f"staging/{job_id}/")) == 4
    assert store.staged_jobs(limit=1000).count(job_id) == 1

    assert store.discard_staging(job_id) == 3
    assert everything_under(container, f"staging/{job_id}/") == []
    assert job_id not in store.staged_jobs(limit=1000)


def test_a_blob_gone_already_is_removed_without_error(store, job_id, container):
    store._remove(container.get_blob_client(f"staging/{job_id}/never-was.csv"))
    assert everything_under(container, f"staging/{job_id}/") == []


def test_deleting_a_jobs_outputs_removes_its_sealed_and_staged_blobs(store, job_id, azurite, container):
    (url,) = [link.url for link in store.upload_links(job_id, ["a.csv"], timedelta(hours=1)).values()]
    upload(url, b"1,2\n", azurite)
    store.seal(job_id, store.staged(job_id, ["a.csv"]))
    assert store.delete_outputs(job_id) == 2
    assert everything_under(container, f"staging/{job_id}/") == everything_under(container, f"{job_id}/") == []


def test_the_staging_area_lists_each_job_once(store, azurite, container):
    jobs = sorted(f"{uuid.uuid4().hex[:12]}-0000000000000-{uuid.uuid4().hex[:8]}" for _ in range(3))
    for job_id in jobs:
        for link in store.upload_links(job_id, ["a.csv", "b/c.csv"], timedelta(hours=1)).values():
            upload(link.url, b"x", azurite)
    listed = store.staged_jobs(limit=1000)
    assert all(listed.count(job_id) == 1 for job_id in jobs)
    assert len(store.staged_jobs(limit=2)) == 2
    for job_id in jobs:
        store.discard_staging(job_id)
