"""A running job's live channel in Blob storage, beside its outputs in the same container:

    live/<job id>/streams/<stream>/<chunk>   append blobs: the stream's bytes [chunk x 1 MiB, ...)
    live/<job id>/files/<file path>          live outputs as last taken (the agent writes them by link)
    following/<job id>/mark                  touched while someone follows the job (for pulls)

A delta is appended with the append-position condition, so a delta sent twice never doubles a byte and
two never interleave: a 412 means storage already has bytes there, and only those it lacks are added.
When a chunk starts, chunks older than the window are deleted, so a 100 MB log keeps about 8 MiB here.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import BlobSasPermissions, ContentSettings

from shared.adapters.blob_container import BlobContainer
from shared.adapters.output_store import FOLLOWING, LIVE, _outputs
from shared.adapters.storage import storage_errors
from shared.domain import live
from shared.domain.live import LiveFile, LiveListing, StreamExtent
from shared.errors import Conflict
from shared.services.ports import Link, LiveStore

APPEND_POSITION_NOT_MET = "AppendPositionConditionNotMet"
TEXT = ContentSettings(content_type="text/plain; charset=utf-8")


class BlobLiveStore(BlobContainer, LiveStore):
    def append(self, job_id: str, stream: str, offset: int, data: bytes) -> int:
        with storage_errors(f"writing the {stream} of job {job_id}"):
            while data:
                index, position = live.chunk_of(offset)
                piece = data[:live.CHUNK_BYTES - position]
                blob = self._container.get_blob_client(_chunk(job_id, stream, index))
                if position == 0 and self._start_chunk(blob):
                    self._trim(job_id, stream, index)
                try:
                    blob.append_block(piece, appendpos_condition=position)
                except ResourceNotFoundError:
                    return self._end(job_id, stream)  # a gap: the sender resends from the end
                except HttpResponseError as exc:
                    if exc.error_code != APPEND_POSITION_NOT_MET and exc.status_code != 412:
                        raise
                    held = blob.get_blob_properties().size - position
                    if held <= 0:
                        return self._end(job_id, stream)
                    piece = piece[:held]  # already there: a repeated delta
                offset += len(piece)
                data = data[len(piece):]
        return offset

    def _start_chunk(self, blob) -> bool:
        """Create the chunk unless it exists; whether this call created it."""
        try:
            blob.create_append_blob(content_settings=TEXT, match_condition=MatchConditions.IfMissing)
            return True
        except ResourceExistsError:
            return False
        except HttpResponseError as exc:
            if exc.status_code in (409, 412):
                return False
            raise

    def _trim(self, job_id: str, stream: str, newest: int) -> None:
        """Keep the window: the chunks from ``newest - WINDOW_CHUNKS`` on."""
        for blob in self._container.list_blobs(name_starts_with=_stream(job_id, stream)):
            if int(blob.name.rsplit("/", 1)[1]) < newest - live.WINDOW_CHUNKS:
                self._remove(self._container.get_blob_client(blob.name))

    def _end(self, job_id: str, stream: str) -> int:
        return self.listing(job_id).extent(stream).end

    def listing(self, job_id: str) -> LiveListing:
        streams: dict[str, list[tuple[int, int]]] = {}
        files: dict[str, list[LiveFile]] = {}
        prefix = _area(job_id)
        with storage_errors(f"listing the live channel of job {job_id}"):
            for blob in self._container.list_blobs(name_starts_with=prefix, include=["snapshots"]):
                kind, _, rest = blob.name[len(prefix):].partition("/")
                if kind == "streams" and not blob.snapshot:
                    stream, _, chunk = rest.partition("/")
                    streams.setdefault(stream, []).append((int(chunk), blob.size))
                elif kind == "files":
                    md5 = blob.content_settings.content_md5
                    files[rest] = [*files.get(rest, []), LiveFile(
                        name=rest, size=blob.size, taken_at=blob.last_modified, md5=bytes(md5).hex() if md5 else None,
                        kept=blob.snapshot or None)]
        extents, chunks = {}, {}
        for stream, held in streams.items():
            held.sort()
            last, size = held[-1]
            extents[stream] = StreamExtent(start=live.chunk_start(held[0][0]), end=live.chunk_start(last) + size)
            chunks[stream] = tuple(index for index, _ in held)
        # A file kept at the job's end is listed as kept (its latest snapshot), whatever came after.
        taken = tuple(max(copies, key=lambda f: (f.kept is not None, f.kept or "")) for copies in files.values())
        return LiveListing(streams=extents, files=taken, chunks=chunks)

    def read(self, job_id: str, stream: str, offset: int, max_bytes: int) -> bytes:
        index, position = live.chunk_of(offset)
        length = min(max_bytes, live.CHUNK_BYTES - position)
        with storage_errors(f"reading the {stream} of job {job_id}"):
            try:
                return self._container.get_blob_client(_chunk(job_id, stream, index)).download_blob(
                    offset=position, length=length).readall()
            except ResourceNotFoundError:
                return b""
            except HttpResponseError as exc:
                if exc.status_code == 416:  # nothing at that position yet
                    return b""
                raise

    def file_links(self, job_id: str, names: list[str], ttl: timedelta) -> dict[str, Link]:
        permission = BlobSasPermissions(create=True, write=True)
        return {name: self._link(_file(job_id, name), permission, ttl) for name in names}

    def file_link(self, job_id: str, name: str, kept: str | None, filename: str, content_type: str,
                  ttl: timedelta) -> Link:
        return self._read_link(_file(job_id, name), kept, filename, content_type, ttl)

    def keep_files(self, job_id: str) -> int:
        kept = 0
        with storage_errors(f"keeping the live files of job {job_id}"):
            for blob in self._container.list_blobs(name_starts_with=f"{_area(job_id)}files/"):
                with contextlib.suppress(ResourceNotFoundError):
                    self._container.get_blob_client(blob.name).create_snapshot()
                    kept += 1
        return kept

    def discard_files(self, job_id: str) -> int:
        return self._remove_all(f"{_area(job_id)}files/", f"the live files of job {job_id}")

    def delete(self, job_id: str) -> int:
        return self._remove_all(_area(job_id), f"the live channel of job {job_id}") + self._remove_all(
            f"{FOLLOWING}/{_outputs(job_id)}", f"the follow mark of job {job_id}")

    def mark_followed(self, job_id: str) -> None:
        with storage_errors(f"marking job {job_id} followed"):
            self._container.get_blob_client(f"{FOLLOWING}/{_outputs(job_id)}mark").upload_blob(b"", overwrite=True)

    def followed(self, since: datetime, limit: int) -> list[str]:
        found = []
        with storage_errors("listing the followed jobs"):
            for blob in self._container.list_blobs(name_starts_with=f"{FOLLOWING}/"):
                job_id = blob.name.split("/")[1]
                if blob.last_modified < since:
                    with contextlib.suppress(ResourceNotFoundError):
                        self._container.delete_blob(blob.name)
                elif len(found) < limit:
                    found.append(job_id)
        return found


def _area(job_id: str) -> str:
    return f"{LIVE}/{_outputs(job_id)}"


def _stream(job_id: str, stream: str) -> str:
    if stream not in live.STREAMS:
        raise Conflict(f"there is no stream {stream!r}")
    return f"{_area(job_id)}streams/{stream}/"


def _chunk(job_id: str, stream: str, index: int) -> str:
    return f"{_stream(job_id, stream)}{index:08d}"


def _file(job_id: str, name: str) -> str:
    return f"{_area(job_id)}files/{name}"
