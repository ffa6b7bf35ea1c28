"""An entity inserted together with its Idempotency-Key row, in one entity-group transaction: either
both exist or neither. The key row names what the key made and a hash of the request it came with."""

from __future__ import annotations

from typing import Any

from azure.data.tables import TableClient, TableTransactionError

from shared.services.ports import IdempotencyKeyReused, IdempotencyRecord


def insert_with_key(table: TableClient, entity: dict[str, Any], idempotency: IdempotencyRecord | None, *,
                    prefix: str, column: str, item_id: str) -> str:
    """Insert ``entity`` (and, with ``idempotency``, the row ``<prefix><key hash>`` in its partition whose
    ``column`` holds ``item_id``); its ETag. IdempotencyKeyReused when the key was used already."""
    operations: list[tuple[str, dict[str, Any]]] = [("create", entity)]
    if idempotency:
        operations.append(("create", {"PartitionKey": entity["PartitionKey"], "RowKey": prefix + idempotency.key_hash,
                                      column: item_id,
                                      "request_hash": idempotency.request_hash}))
    try:
        return table.submit_transaction(operations)[0]["etag"]
    except TableTransactionError as exc:
        if idempotency and exc.index == 1 and "exists" in str(exc.error_code or exc).lower():
            existing = table.get_entity(entity["PartitionKey"], prefix + idempotency.key_hash)
            raise IdempotencyKeyReused(existing[column], existing["request_hash"]) from None
        raise
