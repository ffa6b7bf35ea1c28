"""The ports the use cases depend on. Adapters (shared/adapters) implement them for Azure and the
local stack; unit tests implement them with in-memory fakes."""

from __future__ import annotations

import abc
import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from shared.domain.cases import CaseDefinition, CaseHeader, PublishedCase
from shared.errors import BadRequest

Item = TypeVar("Item")


@dataclass(frozen=True)
class Page(Generic[Item]):
    items: list[Item]
    continuation: str | None  # opaque; pass back to get the next page, None on the last page


def encode_continuation(position: dict[str, str] | None) -> str | None:
    if not position:
        return None
    return base64.urlsafe_b64encode(json.dumps(position, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_continuation(token: str | None) -> dict[str, str] | None:
    """A token from ``encode_continuation``; a 400 problem for anything else."""
    if not token:
        return None
    try:
        position = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        position = None
    if not isinstance(position, dict) or not all(isinstance(v, str) for v in position.values()):
        raise BadRequest("the continuation token is not valid; use the one from the previous page's response",
                         errors=[{"field": "continuation", "message": "not a token this API issued"}])
    return position


@dataclass(frozen=True)
class Publication:
    case: PublishedCase
    changed: bool  # False when the definition equals the latest version: nothing was written


class CaseRepository(abc.ABC):
    """Published cases. Versions are immutable once published; the header tracks the latest one."""

    @abc.abstractmethod
    def list_headers(self, per_page: int, continuation: str | None = None) -> Page[CaseHeader]:
        """Headers in case id order, exactly ``per_page`` of them unless it is the last page."""

    @abc.abstractmethod
    def latest_version(self, case_id: str) -> int:
        """The latest version number; NotFound for an unknown case."""

    @abc.abstractmethod
    def get(self, case_id: str, version: int | None = None) -> PublishedCase:
        """One version (the latest by default) with its scripts; NotFound if there is no such version."""

    @abc.abstractmethod
    def publish(self, definition: CaseDefinition, published_by: str, now: datetime) -> Publication:
        """Publish ``definition`` as a new version unless it equals the latest one."""
