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

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceModifiedError, ResourceNotFoundError
from azure.storage.blob import (
    BlobClient,
    BlobLeaseClient,
    BlobSasPermissions,
    StorageErrorCode,
    UserDelegationKey,
    generate_blob_sas,
)

from shared.adapters.storage import StorageClients, storage_errors
from shared.errors import NotFound, StaleWrite, TransientError
from shared.services.ports import Link, OutputStore, StagedFile

CLOCK_SKEW = timedelta(minutes=5)  # links start this far in the past: clocks differ
KEY_LIFETIME = timedelta(hours=12)
KEY_RENEW_BEFORE = timedelta(hours=2)  # renewed well before any link made from it could outlive it
STAGING = "staging"
COPY_WAIT_SECONDS = 60  # a copy inside one account usually completes at once; a pending one is waited for
REMOVE_ATTEMPTS = 4


class BlobOutputStore(OutputStore):
    def __init__(self, clients: StorageClients, container: str,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
        self._clients = clients
        self._container_name = container
        self._clock = clock
        self._key: UserDelegationKey | None = None
        self._key_expires: datetime | None = None
        self._key_lock = threading.Lock()

    @property
    def _container(self):
        return self._clients.container(self._container_name)

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

    def download_link(self, job_id: str, name: str, snapshot: str | None, filename: str, content_type: str,
                      ttl: timedelta) -> Link:
        safe = filename.replace('"', "").replace("\\", "")
        link = self._link(f"{_outputs(job_id)}{name}", BlobSasPermissions(read=True), ttl,
                          content_disposition=f'attachment; filename="{safe}"', content_type=content_type)
        if snapshot is None:
            return link
        # A blob SAS (sr=b) also reads the blob's snapshots; the snapshot parameter picks the sealed one.
        base, _, sas = link.url.partition("?")
        return Link(url=f"{base}?{urlencode({'snapshot': snapshot})}&{sas}", expires_at=link.expires_at)

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

    def _remove_all(self, prefix: str, what: str) -> int:
        with storage_errors(f"deleting {what}"):
            names = {blob.name for blob in self._container.list_blobs(
                name_starts_with=prefix, include=["snapshots", "uncommittedblobs"])}
            for name in sorted(names):
                self._remove(self._container.get_blob_client(name))
        return len(names)

    def _remove(self, blob: BlobClient) -> None:
        """Delete a blob with its snapshots, whatever a grant did to it: a grant may create and write its
        blob, and that also lets it snapshot or lease it, copy into it, or leave blocks uncommitted."""
        for _ in range(REMOVE_ATTEMPTS):
            try:
                blob.delete_blob(delete_snapshots="include")
                return
            except ResourceNotFoundError:
                # Gone already, or a blob of uncommitted blocks only, which cannot be deleted as such:
                # committing an empty block list discards the blocks and leaves an empty blob to delete.
                try:
                    blob.commit_block_list([])
                except HttpResponseError as exc:
                    if exc.error_code != StorageErrorCode.LEASE_ID_MISSING:
                        raise
                    BlobLeaseClient(blob).break_lease(lease_break_period=0)
            except HttpResponseError as exc:
                if exc.error_code == StorageErrorCode.LEASE_ID_MISSING:
                    BlobLeaseClient(blob).break_lease(lease_break_period=0)
                elif exc.error_code == StorageErrorCode.PENDING_COPY_OPERATION:
                    blob.abort_copy(blob.get_blob_properties().copy.id)
                else:
                    raise
        raise TransientError(f"{blob.blob_name} is leased or written to again as soon as it is freed")

    def _link(self, blob_name: str, permission: BlobSasPermissions, ttl: timedelta, **headers: str) -> Link:
        now = self._clock()
        expiry = now + ttl
        sas = generate_blob_sas(
            self._clients.account_name, self._container_name, blob_name,
            user_delegation_key=self._delegation_key(now), permission=permission,
            start=now - CLOCK_SKEW, expiry=expiry, protocol="https", **headers)
        url = self._container.get_blob_client(blob_name).url
        return Link(url=f"{url}?{sas}", expires_at=expiry)

    def _delegation_key(self, now: datetime) -> UserDelegationKey:
        """One key for many links, fetched again only when it nears its end."""
        with self._key_lock:
            if self._key is None or self._key_expires - now < KEY_RENEW_BEFORE:
                with storage_errors("getting a user delegation key"):
                    self._key = self._clients.blob_service.get_user_delegation_key(now - CLOCK_SKEW,
                                                                                   now + KEY_LIFETIME)
                self._key_expires = now + KEY_LIFETIME
            return self._key


def _outputs(job_id: str) -> str:
    """The prefix of a job's sealed outputs."""
    if not job_id or "/" in job_id or job_id == STAGING:  # never a prefix wider than one job's
        raise NotFound(f"there is no job {job_id!r}")
    return f"{job_id}/"


def _staging(job_id: str) -> str:
    """The prefix of a job's staging area."""
    return f"{STAGING}/{_outputs(job_id)}"
