"""Pagination shared by every list: a page after a continuation token (cheap for deep pages), or page N
of the seed's paging by skipping the rows before it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from shared.services.ports import Page, PageRequest

Item = TypeVar("Item")


def fetch_page(fetch: Callable[[int, str | None, int], Page[Item]], request: PageRequest) -> Page[Item]:
    """The page ``request`` asks for: ``fetch(per_page, token, skip)`` reads it."""
    return fetch(request.per_page, request.continuation, 0 if request.continuation else request.skip)
