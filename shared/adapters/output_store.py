"""Job outputs in Blob storage: one prefix per job, ``<job id>/<file path>``, reached through
user-delegation SAS links only.

Outputs are sealed at done: each blob gets a snapshot, the snapshot is what is checked against the
agent's manifest, and download links read that snapshot. A snapshot cannot be changed, so what users
download is what was verified, whatever an old upload link writes to the blob afterwards.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobSasPermissions, UserDelegationKey, generate_blob_sas

from shared.adapters.storage import StorageClients, storage_errors
from shared.services.ports import Link, OutputStore, SealedFile

CLOCK_SKEW = timedelta(minutes=5)  # links start this far in the past: clocks differ
KEY_LIFETIME = timedelta(hours=12)
KEY_RENEW_BEFORE = timedelta(hours=2)  # renewed well before any link made from it could outlive it


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

    def delete_outputs(self, job_id: str) -> int:
        deleted = 0
        with storage_errors(f"deleting the outputs of job {job_id}"):
            for blob in self._container.list_blobs(name_starts_with=f"{job_id}/"):
                self._container.delete_blob(blob.name, delete_snapshots="include")
                deleted += 1
        return deleted

    def upload_links(self, job_id: str, names: list[str], ttl: timedelta) -> dict[str, Link]:
        permission = BlobSasPermissions(create=True, write=True)
        return {name: self._link(f"{job_id}/{name}", permission, ttl) for name in names}

    def seal(self, job_id: str, names: list[str]) -> dict[str, SealedFile]:
        sealed = {}
        with storage_errors(f"sealing the outputs of job {job_id}"):
            for name in names:
                blob = self._container.get_blob_client(f"{job_id}/{name}")
                try:
                    snapshot = blob.create_snapshot()["snapshot"]
                except ResourceNotFoundError:
                    continue
                frozen = self._container.get_blob_client(f"{job_id}/{name}", snapshot=snapshot)
                properties = frozen.get_blob_properties()
                md5 = properties.content_settings.content_md5
                sealed[name] = SealedFile(size=properties.size, md5=bytes(md5).hex() if md5 else None,
                                          snapshot=snapshot)
        return sealed

    def download_link(self, job_id: str, name: str, snapshot: str | None, filename: str, content_type: str,
                      ttl: timedelta) -> Link:
        safe = filename.replace('"', "").replace("\\", "")
        link = self._link(f"{job_id}/{name}", BlobSasPermissions(read=True), ttl,
                          content_disposition=f'attachment; filename="{safe}"', content_type=content_type)
        if snapshot is None:  # outputs recorded before sealing existed
            return link
        # A blob SAS (sr=b) also reads the blob's snapshots; the snapshot parameter picks the sealed one.
        base, _, sas = link.url.partition("?")
        return Link(url=f"{base}?{urlencode({'snapshot': snapshot})}&{sas}", expires_at=link.expires_at)

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
