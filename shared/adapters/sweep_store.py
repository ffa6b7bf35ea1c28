"""Sweeps in Table storage, in the jobs table beside their owner's jobs.

One entity per sweep: partition = its owner's partition (the one its id names), row key
``~sweep-<sweep id>``. Row keys starting with '~' never mix into the job list; the inverted time in
the id lists a user's sweeps newest first. The whole sweep (its checked plan) is kept as JSON, split
over properties when long. An Idempotency-Key is a row ``~idem-sweep-<hash>`` inserted in the same
transaction as the sweep.
"""

from __future__ import annotations

import json
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.data.tables import UpdateMode

from shared.adapters.idempotency import insert_with_key
from shared.adapters.storage import StorageClients, storage_errors
from shared.adapters.table_paging import ContinuationTokens, read_page
from shared.adapters.table_text import join_text, split_text
from shared.domain.jobs import owner_partition
from shared.domain.sweeps import Sweep, sweep_partition
from shared.errors import NotFound, StaleWrite, ValidationFailed
from shared.services.ports import IdempotencyRecord, Page, Stored, SweepStore

SWEEP_PREFIX = "~sweep-"
IDEMPOTENCY_PREFIX = "~idem-sweep-"


class TableSweepStore(SweepStore):
    def __init__(self, clients: StorageClients, table: str, tokens: ContinuationTokens | None = None) -> None:
        self._clients = clients
        self._table_name = table
        self._tokens = tokens or ContinuationTokens(clients, table)

    @property
    def _table(self):
        return self._clients.table(self._table_name)

    def add(self, sweep: Sweep, idempotency: IdempotencyRecord | None = None) -> Stored[Sweep]:
        entity = _entity(sweep)
        with storage_errors(f"creating sweep {sweep.sweep_id}"):
            etag = insert_with_key(self._table, entity, idempotency, prefix=IDEMPOTENCY_PREFIX, column="sweep_id",
                                   item_id=sweep.sweep_id)
        return Stored(sweep, etag)

    def find(self, sweep_id: str) -> Stored[Sweep] | None:
        partition = sweep_partition(sweep_id)
        if partition is None:
            return None
        with storage_errors(f"reading sweep {sweep_id}"):
            try:
                entity = self._table.get_entity(partition, SWEEP_PREFIX + sweep_id)
            except ResourceNotFoundError:
                return None
        return Stored(_sweep(entity), entity.metadata["etag"])

    def idempotent(self, owner: str, key_hash: str) -> tuple[str, str] | None:
        with storage_errors("reading an Idempotency-Key"):
            try:
                entity = self._table.get_entity(owner_partition(owner), IDEMPOTENCY_PREFIX + key_hash)
            except ResourceNotFoundError:
                return None
        return entity["sweep_id"], entity["request_hash"]

    def update(self, sweep: Sweep, etag: str) -> Stored[Sweep]:
        with storage_errors(f"updating sweep {sweep.sweep_id}"):
            try:
                metadata = self._table.update_entity(_entity(sweep), mode=UpdateMode.REPLACE, etag=etag,
                                                     match_condition=MatchConditions.IfNotModified)
            except ResourceNotFoundError:
                raise NotFound(f"there is no sweep '{sweep.sweep_id}'") from None
            except HttpResponseError as exc:
                if exc.status_code == 412:
                    raise StaleWrite(f"sweep {sweep.sweep_id} has changed since it was read") from None
                raise
        return Stored(sweep, metadata["etag"])

    def list_sweeps(self, owner: str, per_page: int, continuation: str | None = None, *, skip: int = 0,
                    case_id: str | None = None) -> Page[Sweep]:
        query = "PartitionKey eq @partition and RowKey ge @low and RowKey lt @high and owner eq @owner"
        parameters: dict[str, Any] = {"partition": owner_partition(owner),
                                      "low": SWEEP_PREFIX, "high": "~sweep.", "owner": owner}
        if case_id is not None:
            query += " and case_id eq @case_id"
            parameters["case_id"] = case_id
        with storage_errors(f"listing the sweeps of {owner}"):
            return read_page(self._table, self._tokens, query, per_page, continuation, _sweep,
                             parameters=parameters, skip=skip)


def _entity(sweep: Sweep) -> dict[str, Any]:
    try:
        document = split_text("sweep", sweep.model_dump_json())
    except ValueError:
        raise ValidationFailed("the sweep's plan is too large to store; use fewer or shorter values", errors=[
            {"field": "table", "message": "the plan is too large to store"}]) from None
    return {"PartitionKey": sweep_partition(sweep.sweep_id), "RowKey": SWEEP_PREFIX + sweep.sweep_id,
            "owner": sweep.owner, "case_id": sweep.case_id, "created": sweep.created, **document}


def _sweep(entity: dict[str, Any]) -> Sweep:
    return Sweep.model_validate(json.loads(join_text("sweep", entity)))
