"""Pagination shared by every list: ?page=&per_page= (the seed's) or ?continuation= (cheap for deep pages)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field

from shared.services.ports import Page

MAX_PER_PAGE = 100
Item = TypeVar("Item")


class PageQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    page: int = Field(default=1, ge=1, le=10_000)
    per_page: int = Field(default=20, ge=1)
    continuation: str | None = Field(default=None, max_length=2048)

    @property
    def capped_per_page(self) -> int:
        return min(self.per_page, MAX_PER_PAGE)


def fetch_page(fetch: Callable[[int, str | None], Page[Item]], query: PageQuery) -> Page[Item]:
    """The page ``query`` asks for. ``fetch(per_page, token)`` reads one page; page N without a token
    follows the tokens of the N-1 pages before it."""
    per_page = query.capped_per_page
    if query.continuation:
        return fetch(per_page, query.continuation)
    page = fetch(per_page, None)
    for _ in range(query.page - 1):
        if page.continuation is None:
            return Page([], None)
        page = fetch(per_page, page.continuation)
    return page
