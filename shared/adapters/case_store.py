"""Cases in Table storage (headers and version details) and Blob storage (script files).

Table layout (one table):
- partition ``headers``, row key = case id: the latest version's header and digest. The case list
  reads only this partition.
- partition ``case-<case id>``, row key = the zero-padded version: that version's definition
  (without the scripts, split over several properties to stay below the 64 KiB property limit),
  its digest, who published it, and where its scripts are.

Scripts live at ``<case id>/<digest>/<script name>`` in the scripts container. The path is derived
from the content, so two publishers racing each other never overwrite each other's files, and a
published version's files never change.

Publishing writes the scripts, then inserts the version row (insert fails if that version exists),
then moves the header forward with an ETag check. A publisher that dies between the last two steps
leaves a version row ahead of the header; the next publish finds it and moves the header first.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import OrderedDict
from datetime import datetime
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.data.tables import UpdateMode
from azure.storage.blob import ContentSettings

from shared.adapters.storage import StorageClients, storage_errors
from shared.adapters.table_paging import ContinuationTokens, read_page
from shared.adapters.table_text import join_text, split_text
from shared.domain.cases import CaseDefinition, CaseHeader, PublishedCase, is_case_id
from shared.errors import Conflict, NotFound
from shared.services.ports import CaseRepository, Page, Publication

HEADERS = "headers"
# Each rival publisher can cost a round twice (its version row, then moving the header after it).
PUBLISH_ATTEMPTS = 20
_HEADER_COLUMNS = ["RowKey", "title", "summary", "tags", "version", "updated"]


def _versions(case_id: str) -> str:
    return f"case-{case_id}"


def _row(version: int) -> str:
    return f"{version:010d}"


class TableCaseRepository(CaseRepository):
    def __init__(self, clients: StorageClients, table: str, container: str, cache_size: int = 64,
                 tokens: ContinuationTokens | None = None) -> None:
        self._clients = clients
        self._tokens = tokens or ContinuationTokens(clients, table)
        self._table_name = table
        self._container_name = container
        self._cache: OrderedDict[tuple[str, int], PublishedCase] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    @property
    def _table(self):
        return self._clients.table(self._table_name)

    @property
    def _container(self):
        return self._clients.container(self._container_name)

    # --- reading ---

    def list_headers(self, per_page: int, continuation: str | None = None, skip: int = 0) -> Page[CaseHeader]:
        with storage_errors("listing cases"):
            return read_page(self._table, self._tokens, f"PartitionKey eq '{HEADERS}'", per_page, continuation,
                             _header, select=_HEADER_COLUMNS, skip=skip)

    def latest_version(self, case_id: str) -> int:
        entity = self._header_entity(case_id)
        if entity is None:
            raise NotFound(f"there is no case '{case_id[:80]}'")
        return int(entity["version"])

    def get(self, case_id: str, version: int | None = None) -> PublishedCase:
        version = version or self.latest_version(case_id)
        cached = self._cached(case_id, version)
        if cached is not None:
            return cached
        entity = self._version_entity(case_id, version)
        if entity is None:
            self.latest_version(case_id)  # NotFound for an unknown case, before the one for a version
            raise NotFound(f"case '{case_id}' has no version {version}")
        published = self._load(entity)
        self._remember(published)
        return published

    def _header_entity(self, case_id: str) -> dict[str, Any] | None:
        if not is_case_id(case_id):
            return None  # no such row can exist; and it must not become part of a Table key
        with storage_errors(f"reading case {case_id}"):
            try:
                return self._table.get_entity(HEADERS, case_id)
            except ResourceNotFoundError:
                return None

    def _version_entity(self, case_id: str, version: int) -> dict[str, Any] | None:
        if not is_case_id(case_id):
            return None
        with storage_errors(f"reading case {case_id} version {version}"):
            try:
                return self._table.get_entity(_versions(case_id), _row(version))
            except ResourceNotFoundError:
                return None

    def _load(self, entity: dict[str, Any]) -> PublishedCase:
        document = json.loads(join_text("definition", entity))
        prefix = entity["scripts_prefix"]
        with storage_errors(f"reading the scripts of case {document['id']}"):
            document["scripts"] = {
                name: self._container.download_blob(f"{prefix}/{name}").readall().decode("utf-8")
                for name in json.loads(entity["script_names"])
            }
        return PublishedCase(
            definition=CaseDefinition.model_validate(document),
            version=int(entity["version"]),
            published=entity["published"],
            published_by=entity["published_by"],
            digest=entity["digest"],
        )

    def _cached(self, case_id: str, version: int) -> PublishedCase | None:
        with self._lock:
            found = self._cache.get((case_id, version))
            if found is not None:
                self._cache.move_to_end((case_id, version))
            return found

    def _remember(self, published: PublishedCase) -> None:
        # Safe to keep for the life of the process: a published version never changes.
        with self._lock:
            self._cache[(published.id, published.version)] = published
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    # --- publishing ---

    def publish(self, definition: CaseDefinition, published_by: str, now: datetime) -> Publication:
        digest = definition.digest()
        prefix = f"{definition.id}/{digest}"
        uploaded: list[str] = []
        inserted: int | None = None
        try:
            for _ in range(PUBLISH_ATTEMPTS):
                header = self._header_entity(definition.id)
                latest = int(header["version"]) if header else 0
                if header is not None and header["digest"] == digest:
                    return Publication(self.get(definition.id, latest), changed=inserted == latest)
                ahead = self._version_entity(definition.id, latest + 1)
                if ahead is not None:  # a publisher died before moving the header: finish its work
                    self._move_header(ahead, header)
                    continue
                uploaded += self._upload_scripts(prefix, definition.scripts)
                entity = self._version_row(definition, latest + 1, digest, prefix, published_by, now)
                with storage_errors(f"publishing case {definition.id}"):
                    try:
                        self._table.create_entity(entity)
                    except ResourceExistsError:
                        time.sleep(random.uniform(0.005, 0.05))  # spread the publishers that collided
                        continue  # someone else took this version number: look again
                inserted = latest + 1
                self._move_header(entity, header)
            raise Conflict(f"case '{definition.id}' is being published by someone else right now; try again")
        except BaseException:
            if inserted is None:
                self._delete_quietly(uploaded)
            raise

    def _upload_scripts(self, prefix: str, scripts: dict[str, str]) -> list[str]:
        """Upload the scripts that are not there yet; the names of the blobs this call created."""
        created = []
        settings = ContentSettings(content_type="text/plain; charset=utf-8")
        with storage_errors("storing case scripts"):
            for name, text in scripts.items():
                try:
                    self._container.upload_blob(f"{prefix}/{name}", text.encode("utf-8"),
                                                overwrite=False, content_settings=settings)
                    created.append(f"{prefix}/{name}")
                except ResourceExistsError:
                    pass  # same path, same content: the path is derived from the content
        return created

    def _delete_quietly(self, blobs: list[str]) -> None:
        for name in blobs:
            try:
                self._container.delete_blob(name)
            except Exception:  # noqa: BLE001 - cleanup after a failure must not hide that failure
                pass

    def _move_header(self, version_row: dict[str, Any], current: dict[str, Any] | None) -> None:
        """Point the header at ``version_row``; quietly gives way if someone else moved it first."""
        document = json.loads(join_text("definition", version_row))
        header = {
            "PartitionKey": HEADERS,
            "RowKey": document["id"],
            "title": document["title"],
            "summary": document["summary"],
            "tags": json.dumps(document["tags"]),
            "version": version_row["version"],
            "updated": version_row["published"],
            "digest": version_row["digest"],
        }
        with storage_errors(f"publishing case {document['id']}"):
            try:
                if current is None:
                    self._table.create_entity(header)
                else:
                    self._table.update_entity(header, mode=UpdateMode.REPLACE, etag=current.metadata["etag"],
                                              match_condition=MatchConditions.IfNotModified)
            except ResourceExistsError:
                pass
            except HttpResponseError as exc:
                if exc.status_code != 412:
                    raise

    @staticmethod
    def _version_row(definition: CaseDefinition, version: int, digest: str, prefix: str,
                     published_by: str, now: datetime) -> dict[str, Any]:
        return {
            "PartitionKey": _versions(definition.id),
            "RowKey": _row(version),
            "version": version,
            "digest": digest,
            "published": now,
            "published_by": published_by,
            "scripts_prefix": prefix,
            "script_names": json.dumps(list(definition.scripts)),
            **split_text("definition", definition.model_dump_json(exclude={"scripts"})),
        }


def _header(entity: dict[str, Any]) -> CaseHeader:
    return CaseHeader(id=entity["RowKey"], title=entity["title"], summary=entity["summary"],
                      tags=json.loads(entity["tags"]), version=int(entity["version"]), updated=entity["updated"])
