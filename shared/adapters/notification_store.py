"""Subscriptions, their streams, events and delivery log, in the jobs table.

- Every subscription is a row of the partition ``~subscriptions`` (row key = its id, which starts with
  its owner's partition, so an owner's subscriptions are one range of keys and the notifier's catch-up
  reads them all with one query). The owners' catch-up marks live there too (``scan-<partition>``).
- Each subscription has a partition of its own, ``~wh-<id>``: a row per stream (``s-<key>``), a row per
  event (``s-<key>-<sequence>``, so a stream's events sort in order after it) and a row per attempt
  (``a-<inverted ms>-<random>``, newest first). A stream and its new events are written in one
  entity-group transaction, as is an attempt with its event and stream: either all or nothing.

Partitions starting with '~' sort after every job's, so no job listing meets them.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.data.tables import TableTransactionError, UpdateMode

from shared.adapters.storage import StorageClients, storage_errors
from shared.adapters.table_text import join_text, split_text
from shared.domain.jobs import owner_partition
from shared.domain.notifications import SUBSCRIPTION_ID, Attempt, Delivery, Stream, Subscription
from shared.errors import NotFound, StaleWrite
from shared.services.ports import NotificationStore, Stored

SUBSCRIPTIONS = "~subscriptions"
_MAX_MILLIS = 10**13


def _partition(subscription_id: str) -> str:
    return f"~wh-{subscription_id}"


def _stream_key(key: str) -> str:
    return f"s-{key}"


def _delivery_key(stream: str, sequence: int) -> str:
    return f"s-{stream}-{sequence:09d}"


class TableNotificationStore(NotificationStore):
    def __init__(self, clients: StorageClients, table: str) -> None:
        self._clients = clients
        self._table_name = table

    @property
    def _table(self):
        return self._clients.table(self._table_name)

    # --- subscriptions ---

    def add(self, subscription: Subscription) -> Stored[Subscription]:
        with storage_errors(f"creating subscription {subscription.subscription_id}"):
            metadata = self._table.create_entity(_subscription_entity(subscription))
        return Stored(subscription, metadata["etag"])

    def find(self, subscription_id: str) -> Stored[Subscription] | None:
        if not SUBSCRIPTION_ID.match(subscription_id):
            return None
        with storage_errors(f"reading subscription {subscription_id}"):
            try:
                entity = self._table.get_entity(SUBSCRIPTIONS, subscription_id)
            except ResourceNotFoundError:
                return None
        return Stored(_subscription(entity), entity.metadata["etag"])

    def update(self, subscription: Subscription, etag: str) -> Stored[Subscription]:
        with storage_errors(f"updating subscription {subscription.subscription_id}"):
            try:
                metadata = self._table.update_entity(_subscription_entity(subscription), mode=UpdateMode.REPLACE,
                                                     etag=etag, match_condition=MatchConditions.IfNotModified)
            except ResourceNotFoundError:
                raise NotFound(f"there is no subscription '{subscription.subscription_id}'") from None
            except HttpResponseError as exc:
                if exc.status_code == 412:
                    raise StaleWrite(f"subscription {subscription.subscription_id} changed since it was read") from None
                raise
        return Stored(subscription, metadata["etag"])

    def delete(self, subscription_id: str) -> None:
        with storage_errors(f"deleting subscription {subscription_id}"):
            self._table.delete_entity(SUBSCRIPTIONS, subscription_id)
            rows = self._table.query_entities("PartitionKey eq @partition", select=["PartitionKey", "RowKey"],
                                              parameters={"partition": _partition(subscription_id)})
            batch: list[tuple[str, dict[str, Any]]] = []
            for row in rows:
                batch.append(("delete", {"PartitionKey": row["PartitionKey"], "RowKey": row["RowKey"]}))
                if len(batch) == 100:
                    self._table.submit_transaction(batch)
                    batch = []
            if batch:
                self._table.submit_transaction(batch)

    def of_owner(self, owner: str) -> list[Subscription]:
        low = f"wh-{owner_partition(owner)}-"
        return self._query("PartitionKey eq @p and RowKey ge @low and RowKey lt @high and owner eq @owner",
                           {"p": SUBSCRIPTIONS, "low": low, "high": low[:-1] + ".", "owner": owner})

    def everyone(self) -> list[Subscription]:
        return self._query("PartitionKey eq @p and RowKey ge @low and RowKey lt @high",
                           {"p": SUBSCRIPTIONS, "low": "wh-", "high": "wh."})

    def _query(self, query: str, parameters: dict[str, Any]) -> list[Subscription]:
        with storage_errors("listing subscriptions"):
            return [_subscription(entity) for entity in self._table.query_entities(query, parameters=parameters)]

    # --- streams and events ---

    def stream(self, subscription_id: str, key: str) -> Stored[Stream] | None:
        with storage_errors(f"reading stream {key} of {subscription_id}"):
            try:
                entity = self._table.get_entity(_partition(subscription_id), _stream_key(key))
            except ResourceNotFoundError:
                return None
        return Stored(Stream.model_validate_json(entity["stream"]), entity.metadata["etag"])

    def record(self, subscription_id: str, stream: Stream, etag: str | None, deliveries: Sequence[Delivery]) -> str:
        partition = _partition(subscription_id)
        operations = [_stream_operation(partition, stream, etag),
                      *[("create", _delivery_entity(partition, delivery)) for delivery in deliveries]]
        return self._submit(operations, f"recording events of {stream.key} for {subscription_id}")[0]["etag"]

    def delivery(self, subscription_id: str, stream: str, sequence: int) -> Delivery | None:
        with storage_errors(f"reading event {sequence} of {stream} for {subscription_id}"):
            try:
                entity = self._table.get_entity(_partition(subscription_id), _delivery_key(stream, sequence))
            except ResourceNotFoundError:
                return None
        return Delivery.model_validate_json(join_text("delivery", entity))

    def attempted(self, subscription_id: str, delivery: Delivery, attempt: Attempt,
                  stream: Stream | None = None, etag: str | None = None) -> str | None:
        partition = _partition(subscription_id)
        operations: list[tuple[str, dict[str, Any]] | tuple[str, dict[str, Any], dict[str, Any]]] = [
            ("upsert", _delivery_entity(partition, delivery), {"mode": UpdateMode.REPLACE}),
            ("create", {"PartitionKey": partition, "RowKey": _attempt_key(attempt.at), "kind": "attempt",
                        "attempt": attempt.model_dump_json()}),
        ]
        if stream is not None:
            operations.append(_stream_operation(partition, stream, etag))
        results = self._submit(operations, f"logging an attempt of {delivery.message_id}")
        return results[-1].get("etag") if stream is not None else None

    def attempts(self, subscription_id: str, limit: int) -> list[Attempt]:
        with storage_errors(f"listing the deliveries of {subscription_id}"):
            rows = self._table.query_entities("PartitionKey eq @p and RowKey ge 'a-' and RowKey lt 'a.'",
                                              parameters={"p": _partition(subscription_id)}, results_per_page=limit)
            found: list[Attempt] = []
            for entity in rows:
                found.append(Attempt.model_validate_json(entity["attempt"]))
                if len(found) >= limit:
                    break
        return found

    def pending_streams(self, subscription_id: str) -> list[Stream]:
        return self.streams(subscription_id, pending_only=True)

    def streams(self, subscription_id: str, pending_only: bool = False) -> list[Stream]:
        """The subscription's streams (a scan of its partition: for the catch-up and tools)."""
        query = "PartitionKey eq @p and kind eq 'stream'" + (" and pending eq true" if pending_only else "")
        with storage_errors(f"listing the streams of {subscription_id}"):
            rows = self._table.query_entities(query, select=["stream"], parameters={"p": _partition(subscription_id)})
            return [Stream.model_validate_json(row["stream"]) for row in rows]

    def scan_mark(self, owner: str) -> datetime | None:
        with storage_errors("reading a catch-up mark"):
            try:
                return self._table.get_entity(SUBSCRIPTIONS, f"scan-{owner_partition(owner)}")["at"]
            except ResourceNotFoundError:
                return None

    def set_scan_mark(self, owner: str, at: datetime) -> None:
        with storage_errors("writing a catch-up mark"):
            self._table.upsert_entity({"PartitionKey": SUBSCRIPTIONS, "RowKey": f"scan-{owner_partition(owner)}",
                                       "at": at}, mode=UpdateMode.REPLACE)

    def _submit(self, operations: list, what: str) -> list[dict[str, Any]]:
        with storage_errors(what):
            try:
                return self._table.submit_transaction(operations)
            except TableTransactionError as exc:
                code = str(exc.error_code or exc).lower()
                if "exists" in code or "condition" in code or "updateconditionnotsatisfied" in code:
                    raise StaleWrite(f"{what}: changed concurrently") from None
                raise
            except ResourceExistsError:
                raise StaleWrite(f"{what}: changed concurrently") from None


def _stream_operation(partition: str, stream: Stream, etag: str | None):
    entity = {"PartitionKey": partition, "RowKey": _stream_key(stream.key), "kind": "stream",
              "pending": stream.pending, "stream": stream.model_dump_json()}
    if etag is None:
        return ("create", entity)
    return ("update", entity, {"mode": UpdateMode.REPLACE, "etag": etag,
                               "match_condition": MatchConditions.IfNotModified})


def _delivery_entity(partition: str, delivery: Delivery) -> dict[str, Any]:
    return {"PartitionKey": partition, "RowKey": _delivery_key(delivery.stream, delivery.sequence),
            "kind": "event", "state": delivery.state, **split_text("delivery", delivery.model_dump_json())}


def _attempt_key(at: datetime) -> str:
    return f"a-{_MAX_MILLIS - int(at.timestamp() * 1000):013d}-{secrets.token_hex(4)}"


def _subscription_entity(subscription: Subscription) -> dict[str, Any]:
    return {"PartitionKey": SUBSCRIPTIONS, "RowKey": subscription.subscription_id, "owner": subscription.owner,
            "enabled": subscription.enabled, "subscription": subscription.model_dump_json()}


def _subscription(entity: dict[str, Any]) -> Subscription:
    return Subscription.model_validate_json(entity["subscription"])
