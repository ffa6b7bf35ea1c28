"""A Blob container that simgate's stores share: links made with a user delegation key (never an
account key, https only), and removal of blobs whatever an upload grant did to them."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.storage.blob import (
    BlobClient,
    BlobLeaseClient,
    BlobSasPermissions,
    StorageErrorCode,
    UserDelegationKey,
    generate_blob_sas,
)

from shared.adapters.storage import StorageClients, storage_errors
from shared.errors import TransientError
from shared.services.ports import Link

CLOCK_SKEW = timedelta(minutes=5)  # links start this far in the past: clocks differ
KEY_LIFETIME = timedelta(hours=12)
KEY_RENEW_BEFORE = timedelta(hours=2)  # renewed well before any link made from it could outlive it
REMOVE_ATTEMPTS = 4


class BlobContainer:
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

    def _read_link(self, blob_name: str, snapshot: str | None, filename: str, content_type: str,
                   ttl: timedelta) -> Link:
        """A read-only link served as an attachment called ``filename``; of ``snapshot`` when given."""
        safe = filename.replace('"', "").replace("\\", "")
        link = self._link(blob_name, BlobSasPermissions(read=True), ttl,
                          content_disposition=f'attachment; filename="{safe}"', content_type=content_type)
        if snapshot is None:
            return link
        # A blob SAS (sr=b) also reads the blob's snapshots; the snapshot parameter picks the one meant.
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


