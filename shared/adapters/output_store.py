"""Job outputs in Blob storage, in one container, reached through user-delegation SAS links only:

    staging/<job id>/<file path>   what the job's agent uploads: the only blobs an upload grant reaches
    <job id>/<file path>           the job's sealed outputs: written by the app alone, read by downloads

At done each staged upload is checked (its size and MD5) and exactly the version checked is copied
into the sealed outputs by a server-side copy inside the account (conditional on the staged blob's
ETag), authorized by the app's own identity, which may read the source in the same account; then the
staging area is emptied. No grant is ever issued for the sealed outputs, so an old grant can neither
change what users download nor bring back the outputs of a deleted job; what it writes in staging is
removed by the reconciler's sweep. Outputs sealed earlier as snapshots of their blob stay readable
through their snapshot.
"""

from __future__ import annotations

import time
from datetime import timedelta

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceModifiedError, ResourceNotFoundError
from azure.storage.blob import BlobClient, BlobSasPermissions, StorageErrorCode

from shared.adapters.blob_container import BlobContainer
from shared.adapters.storage import storage_errors
from shared.errors import NotFound, StaleWrite, TransientError
from shared.services.ports import Link, OutputStore, StagedFile

STAGING = "staging"
LIVE = "live"  # the live channel's area (shared/adapters/live_store.py)
FOLLOWING = "following"  # which jobs someone follows (ibid.)
COPY_WAIT_SECONDS = 60  # a copy inside one account usually completes at once; a pending one is waited for


class BlobOutputStore(BlobContainer, OutputStore):
    def upload_links(self, job_id: str, names: list[str], ttl: timedelta) -> dict[str, Link]:
        permission = BlobSasPermissions(create=True, write=True)
        return {name: self._link(f"{_staging(job_id)}{name}", permission, ttl) for name in names}

    def staged(self, job_id: str, names: list[str]) -> dict[str, StagedFile]:
        found = {}
        with storage_errors(f"reading the uploads of job {job_id}"):
            for name in names:
                try:
                    properties = self._container.get_blob_client(f"{_staging(job_id)}{name}").get_blob_properties()
                except ResourceNotFoundError:
                    continue
                md5 = properties.content_settings.content_md5
                found[name] = StagedFile(size=properties.size, md5=bytes(md5).hex() if md5 else None,
                                         version=properties.etag)
        return found

    def seal(self, job_id: str, files: dict[str, StagedFile]) -> None:
        with storage_errors(f"sealing the outputs of job {job_id}"):
            for name, file in files.items():
                source = self._container.get_blob_client(f"{_staging(job_id)}{name}")
                sealed = self._container.get_blob_client(f"{_outputs(job_id)}{name}")
                try:
                    copy = sealed.start_copy_from_url(source.url, source_etag=file.version,
                                                      source_match_condition=MatchConditions.IfNotModified)
                except (ResourceModifiedError, ResourceNotFoundError) as exc:
                    raise StaleWrite(f"{name} of job {job_id} changed while it was sealed") from exc
                except HttpResponseError as exc:
                    if exc.error_code == StorageErrorCode.PENDING_COPY_OPERATION:
                        raise TransientError(f"{name} of job {job_id} is still being copied") from exc
                    raise
                if copy["copy_status"] != "success":
                    self._wait_for_copy(sealed, f"{name} of job {job_id}")

    def discard_staging(self, job_id: str) -> int:
        return self._remove_all(_staging(job_id), f"the uploads of job {job_id}")

    def staged_jobs(self, limit: int) -> list[str]:
        jobs: list[str] = []
        with storage_errors("listing the staging area"):
            # Blobs a grant filled with blocks it never committed are billed too: list those as well.
            for blob in self._container.list_blobs(name_starts_with=f"{STAGING}/", include=["uncommittedblobs"]):
                job_id = blob.name.split("/")[1]
                if not jobs or jobs[-1] != job_id:  # listed in name order: a job's uploads come together
                    if len(jobs) == limit:
                        break
                    jobs.append(job_id)
        return jobs

    def delete_outputs(self, job_id: str) -> int:
        what = f"the outputs of job {job_id}"
        return self._remove_all(_staging(job_id), what) + self._remove_all(_outputs(job_id), what)

    def read(self, job_id: str, name: str, snapshot: str | None, offset: int, length: int) -> bytes:
        with storage_errors(f"reading {name} of job {job_id}"):
            blob = self._container.get_blob_client(f"{_outputs(job_id)}{name}", snapshot=snapshot)
            try:
                return blob.download_blob(offset=offset, length=length).readall()
            except HttpResponseError as exc:
                if exc.status_code == 416:  # at or past the end
                    return b""
                raise

    def download_link(self, job_id: str, name: str, snapshot: str | None, filename: str, content_type: str,
                      ttl: timedelta) -> Link:
        return self._read_link(f"{_outputs(job_id)}{name}", snapshot, filename, content_type, ttl)

    def _wait_for_copy(self, blob: BlobClient, what: str) -> None:
        deadline = time.monotonic() + COPY_WAIT_SECONDS
        while True:
            status = blob.get_blob_properties().copy.status
            if status == "success":
                return
            if status != "pending":  # failed or aborted: the source changed or went away meanwhile
                raise StaleWrite(f"copying {what} ended {status}")
            if time.monotonic() > deadline:
                raise TransientError(f"{what} is still being copied")
            time.sleep(1)


def _outputs(job_id: str) -> str:
    """The prefix of a job's sealed outputs."""
    if not job_id or "/" in job_id or job_id in (STAGING, LIVE, FOLLOWING):  # never a prefix wider than one job's
        raise NotFound(f"there is no job {job_id!r}")
    return f"{job_id}/"


def _staging(job_id: str) -> str:
    """The prefix of a job's staging area."""
    return f"{STAGING}/{_outputs(job_id)}"
