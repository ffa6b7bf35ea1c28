"""The live store against Azurite: stream bytes appended by offset (a repeated delta adds nothing, a
gap is refused, a skip to a chunk start is taken), a window of chunks kept, reads of one chunk piece,
and live files written by link and read by link."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import requests

from shared.adapters.live_store import BlobLiveStore
from shared.domain import live
from tests.conftest import own_container

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def container(storage):
    for name in own_container(storage, "live-"):
        yield storage.container(name)


@pytest.fixture
def store(storage, container):
    return BlobLiveStore(storage, container.container_name)


@pytest.fixture
def job_id():
    return f"{uuid.uuid4().hex[:12]}-0000000000000-{uuid.uuid4().hex[:8]}"


def test_bytes_are_appended_by_offset_and_a_repeated_delta_adds_nothing(store, job_id):
    assert store.append(job_id, "stdout", 0, b"line 1\nline 2\n") == 14
    assert store.append(job_id, "stdout", 0, b"line 1\nline 2\n") == 14  # the answer was lost: sent again
    assert store.append(job_id, "stdout", 7, b"line 2\nline 3\n") == 21  # overlapping: only the new bytes
    assert store.read(job_id, "stdout", 0, 1000) == b"line 1\nline 2\nline 3\n"
    assert store.read(job_id, "stdout", 7, 7) == b"line 2\n"
    assert store.listing(job_id).extent("stdout") == live.StreamExtent(0, 21)


def test_a_gap_is_refused_with_the_end_and_a_skip_to_a_chunk_start_is_taken(store, job_id):
    store.append(job_id, "stderr", 0, b"abc")
    assert store.append(job_id, "stderr", 10, b"xyz") == 3  # bytes 3..9 never came: send from 3
    far = 3 * live.CHUNK_BYTES
    assert store.append(job_id, "stderr", far, b"later") == far + 5
    listing = store.listing(job_id)
    assert listing.extent("stderr") == live.StreamExtent(0, far + 5)
    assert listing.chunks["stderr"] == (0, 3)
    assert store.read(job_id, "stderr", far, 100) == b"later"


def test_bytes_across_chunks_and_the_window_keeps_the_newest_chunks(store, job_id):
    piece = b"x" * (live.CHUNK_BYTES // 2)
    offset = 0
    for _ in range(2 * (live.WINDOW_CHUNKS + 3)):
        offset = store.append(job_id, "series", offset, piece)
    listing = store.listing(job_id)
    newest = live.chunk_of(offset - 1)[0]
    assert listing.chunks["series"] == tuple(range(newest - live.WINDOW_CHUNKS, newest + 1))
    assert listing.extent("series") == live.StreamExtent(live.chunk_start(newest - live.WINDOW_CHUNKS), offset)
    straddling = store.append(job_id, "series", offset, b"y" * live.CHUNK_BYTES)  # ends in the next chunk
    assert straddling == offset + live.CHUNK_BYTES
    assert store.read(job_id, "series", offset, live.CHUNK_BYTES) == b"y" * (live.CHUNK_BYTES - offset % live.CHUNK_BYTES)


def test_a_live_file_is_written_by_its_link_listed_and_read_by_link(store, job_id, azurite):
    link = store.file_links(job_id, ["profile.csv"], timedelta(hours=1))["profile.csv"]
    answer = requests.put(link.url, data=b"x,T\n0,20\n", headers={"x-ms-blob-type": "BlockBlob"},
                          verify=str(azurite.ca_bundle), timeout=10)
    assert answer.status_code == 201, answer.text
    assert requests.get(link.url, verify=str(azurite.ca_bundle), timeout=10).status_code == 403  # write only
    (taken,) = store.listing(job_id).files
    assert (taken.name, taken.size) == ("profile.csv", 9)
    read = store.file_link(job_id, "profile.csv", None, "profile.csv", "text/csv", timedelta(minutes=15))
    assert requests.get(read.url, verify=str(azurite.ca_bundle), timeout=10).content == b"x,T\n0,20\n"
    assert store.discard_files(job_id) == 1 and store.listing(job_id).files == ()


def test_deleting_removes_the_whole_channel(store, job_id):
    store.append(job_id, "stdout", 0, b"bye\n")
    store.file_links(job_id, ["a.csv"], timedelta(hours=1))
    assert store.delete(job_id) == 1
    assert store.listing(job_id) == live.LiveListing()


def test_files_kept_at_the_end_are_what_is_listed_and_read_whatever_a_link_writes_later(store, job_id, azurite):
    link = store.file_links(job_id, ["profile.csv"], timedelta(hours=1))["profile.csv"]

    def put(data: bytes) -> None:
        answer = requests.put(link.url, data=data, headers={"x-ms-blob-type": "BlockBlob"},
                              verify=str(azurite.ca_bundle), timeout=10)
        assert answer.status_code == 201, answer.text

    put(b"x,T\n0,20\n")
    assert store.keep_files(job_id) == 1
    put(b"late\n")  # the job had ended: a link handed out before still writes, and changes nothing
    (kept,) = store.listing(job_id).files
    assert (kept.size, kept.kept is not None) == (9, True)
    read = store.file_link(job_id, "profile.csv", kept.kept, "profile.csv", "text/csv", timedelta(minutes=15))
    assert requests.get(read.url, verify=str(azurite.ca_bundle), timeout=10).content == b"x,T\n0,20\n"
    store.delete(job_id)  # the file with its kept copy
    assert store.listing(job_id) == live.LiveListing()
