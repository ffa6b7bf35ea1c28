"""Pages of a Table query, and the continuation tokens the API hands out for them.

A token carries the Table's position (where the next page starts) and is signed with a key of this
deployment (HMAC-SHA256), bound to the listing it came from: a token that simgate did not issue, or
one issued for another listing (another owner, other filters), is refused. The key is made once and
kept in the cases table, so every instance of the app signs and checks with the same one.

Page N without a token skips the rows before it reading their keys only (up to 1,000 a request), so
a deep page costs a few light requests, not N full ones.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from azure.core.exceptions import ResourceExistsError
from azure.data.tables import TableClient

from shared.adapters.storage import StorageClients, storage_errors
from shared.errors import InvalidContinuation
from shared.services.ports import Page

Item = TypeVar("Item")
KEY_PARTITION, KEY_ROW = "~simgate", "continuation-key"
SKIP_BATCH = 1000  # the most rows Table storage returns in one request


class ContinuationTokens:
    def __init__(self, clients: StorageClients, table: str) -> None:
        self._clients = clients
        self._table = table
        self._key: bytes | None = None
        self._lock = threading.Lock()

    def issue(self, position: dict[str, str] | None, scope: str) -> str | None:
        if not position:
            return None
        body = base64.urlsafe_b64encode(json.dumps(position, separators=(",", ":")).encode()).decode().rstrip("=")
        return f"{body}.{self._signature(body, scope)}"

    def check(self, token: str | None, scope: str) -> dict[str, str] | None:
        """The position in ``token``; InvalidContinuation unless this listing issued it."""
        if not token:
            return None
        body, _, signature = token.partition(".")
        position = None
        if signature and hmac.compare_digest(signature.encode(), self._signature(body, scope).encode()):
            try:
                position = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            except (binascii.Error, ValueError, UnicodeDecodeError):
                position = None
        if not isinstance(position, dict) or not all(isinstance(v, str) for v in position.values()):
            raise InvalidContinuation("the continuation token is not valid for this listing; use the one from "
                                      "the previous page's response",
                                      errors=[{"field": "continuation", "message": "not a token this API issued"}])
        return position

    def _signature(self, body: str, scope: str) -> str:
        mac = hmac.new(self._secret(), f"{scope}\n{body}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac[:18]).decode()

    def _secret(self) -> bytes:
        if self._key is None:
            with self._lock:
                if self._key is None:
                    self._key = self._stored_key()
        return self._key

    def _stored_key(self) -> bytes:
        table = self._clients.table(self._table)
        with storage_errors("reading the continuation key"):
            try:
                table.create_entity({"PartitionKey": KEY_PARTITION, "RowKey": KEY_ROW, "key": secrets.token_hex(32)})
            except ResourceExistsError:
                pass  # another instance made it first: use that one
            return bytes.fromhex(table.get_entity(KEY_PARTITION, KEY_ROW)["key"])


def read_page(table: TableClient, tokens: ContinuationTokens, query: str, per_page: int, continuation: str | None,
              convert: Callable[[dict[str, Any]], Item], *, select: list[str] | None = None,
              parameters: dict[str, Any] | None = None, skip: int = 0) -> Page[Item]:
    """Exactly ``per_page`` items unless it is the last page, after ``skip`` rows (when there is no
    token). A server page may hold fewer rows than asked for (above all with filters), so this keeps
    reading until the page is full."""
    scope = json.dumps([table.table_name, query, parameters or {}], sort_keys=True, default=str)
    position = tokens.check(continuation, scope)
    if position is None and skip:
        position = _skip(table, query, parameters, skip)
        if position is None:
            return Page([], None)
    items: list[Item] = []
    while True:
        pages = table.query_entities(query, results_per_page=per_page - len(items), select=select,
                                     parameters=parameters).by_page(continuation_token=position)
        items.extend(convert(entity) for entity in next(pages, []))
        position = pages.continuation_token
        if position is None or len(items) >= per_page:
            return Page(items, tokens.issue(position, scope))


def _skip(table: TableClient, query: str, parameters: dict[str, Any] | None, count: int) -> dict[str, str] | None:
    """The position after the first ``count`` rows, read key-only; None when there are no more rows."""
    position = None
    while count > 0:
        pages = table.query_entities(query, results_per_page=min(SKIP_BATCH, count), select=["RowKey"],
                                     parameters=parameters).by_page(continuation_token=position)
        count -= sum(1 for _ in next(pages, []))
        position = pages.continuation_token
        if position is None:
            return None
    return position
