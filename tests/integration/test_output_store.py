"""The output store's links against Azurite, which enforces SAS signatures and permissions: an
upload grant reaches its own blob only, a download link reads and nothing else, and what is sealed at
done is what downloads return, whatever an old upload link writes later."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import requests

from shared.adapters.output_store import BlobOutputStore

pytestmark = pytest.mark.integration


@pytest.fixture
def store(storage, settings):
    return BlobOutputStore(storage, settings.outputs_container)


@pytest.fixture
def job_id():
    return f"{uuid.uuid4().hex[:12]}-0000000000000-{uuid.uuid4().hex[:8]}"


def put(url, data, azurite):
    return requests.put(url, data=data, headers={"x-ms-blob-type": "BlockBlob"}, verify=str(azurite.ca_bundle),
                        timeout=10)


def test_an_upload_grant_writes_its_own_blob_and_nothing_else(store, job_id, azurite, storage, settings):
    links = store.upload_links(job_id, ["results/a.csv"], timedelta(hours=1))
    url = links["results/a.csv"].url
    assert "sp=cw" in url and "spr=https" in url
    assert put(url, b"1,2\n", azurite).status_code == 201
    sealed = store.seal(job_id, ["results/a.csv", "results/missing.csv"])
    assert set(sealed) == {"results/a.csv"} and sealed["results/a.csv"].size == 4

    assert requests.get(url, verify=str(azurite.ca_bundle), timeout=10).status_code == 403  # no read
    base, _, query = url.partition("?")
    container_url = base.rsplit(f"/{job_id}/", 1)[0]
    listing = requests.get(f"{container_url}?restype=container&comp=list&{query}", verify=str(azurite.ca_bundle),
                           timeout=10)
    assert listing.status_code == 403  # no list
    assert requests.delete(url, verify=str(azurite.ca_bundle), timeout=10).status_code == 403  # no delete
    for elsewhere in (f"{container_url}/{job_id}/results/b.csv", f"{container_url}/other-job/results/a.csv"):
        assert put(f"{elsewhere}?{query}", b"x", azurite).status_code == 403  # scoped to one blob


def test_a_download_link_reads_as_an_attachment_and_cannot_write(store, job_id, azurite, storage, settings):
    storage.container(settings.outputs_container).upload_blob(f"{job_id}/results/a.csv", b"1,2\n")
    link = store.download_link(job_id, "results/a.csv", None, "a.csv", "text/csv", timedelta(minutes=15))
    assert link.expires_at <= datetime.now(timezone.utc) + timedelta(minutes=15)
    response = requests.get(link.url, verify=str(azurite.ca_bundle), timeout=10)
    assert response.status_code == 200 and response.content == b"1,2\n"
    assert response.headers["Content-Disposition"] == 'attachment; filename="a.csv"'
    assert response.headers["Content-Type"] == "text/csv"
    assert put(link.url, b"tampered", azurite).status_code == 403
    tampered = link.url.replace("sig=", "sig=AA")
    assert requests.get(tampered, verify=str(azurite.ca_bundle), timeout=10).status_code == 403


def test_an_expired_link_is_refused(store, job_id, azurite, storage, settings):
    storage.container(settings.outputs_container).upload_blob(f"{job_id}/old.csv", b"x")
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


def test_a_write_with_an_upload_link_after_done_does_not_change_what_users_download(store, job_id, azurite):
    (url,) = [link.url for link in store.upload_links(job_id, ["results/a.csv"], timedelta(hours=1)).values()]
    assert put(url, b"1,2\n", azurite).status_code == 201
    sealed = store.seal(job_id, ["results/a.csv"])["results/a.csv"]
    assert (sealed.size, sealed.md5) == (4, hashlib.md5(b"1,2\n").hexdigest()) and sealed.snapshot
    assert put(url, b"replaced after done\n", azurite).status_code == 201  # the old grant still writes
    link = store.download_link(job_id, "results/a.csv", sealed.snapshot, "a.csv", "text/csv", timedelta(minutes=15))
    response = requests.get(link.url, verify=str(azurite.ca_bundle), timeout=10)
    assert response.status_code == 200 and response.content == b"1,2\n"
    assert hashlib.md5(response.content).hexdigest() == sealed.md5
    assert put(link.url, b"x", azurite).status_code == 403  # the link still only reads
    assert store.delete_outputs(job_id) == 1  # the blob and its snapshots go together
