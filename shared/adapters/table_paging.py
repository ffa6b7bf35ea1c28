"""One full page of a Table query, with the opaque continuation token the API hands out."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Any, TypeVar

from azure.data.tables import TableClient

from shared.errors import InvalidContinuation
from shared.services.ports import Page

Item = TypeVar("Item")


def read_page(table: TableClient, query: str, per_page: int, continuation: str | None,
              convert: Callable[[dict[str, Any]], Item], *, select: list[str] | None = None,
              parameters: dict[str, Any] | None = None) -> Page[Item]:
    """Exactly ``per_page`` items unless it is the last page. A server page may hold fewer rows than
    asked for (above all with filters), so this keeps reading until the page is full."""
    position = decode_continuation(continuation)
    items: list[Item] = []
    while True:
        pages = table.query_entities(query, results_per_page=per_page - len(items), select=select,
                                     parameters=parameters).by_page(continuation_token=position)
        items.extend(convert(entity) for entity in next(pages, []))
        position = pages.continuation_token
        if position is None or len(items) >= per_page:
            return Page(items, encode_continuation(position))


def encode_continuation(position: dict[str, str] | None) -> str | None:
    if not position:
        return None
    return base64.urlsafe_b64encode(json.dumps(position, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_continuation(token: str | None) -> dict[str, str] | None:
    """A token from ``encode_continuation``; InvalidContinuation for anything else."""
    if not token:
        return None
    try:
        position = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        position = None
    if not isinstance(position, dict) or not all(isinstance(v, str) for v in position.values()):
        raise InvalidContinuation("the continuation token is not valid; use the one from the previous page's response",
                                  errors=[{"field": "continuation", "message": "not a token this API issued"}])
    return position
