"""Job outputs in Blob storage: one prefix per job, ``<job id>/<file path>``."""

from __future__ import annotations

from shared.adapters.storage import StorageClients, storage_errors
from shared.services.ports import OutputStore


class BlobOutputStore(OutputStore):
    def __init__(self, clients: StorageClients, container: str) -> None:
        self._clients = clients
        self._container_name = container

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
