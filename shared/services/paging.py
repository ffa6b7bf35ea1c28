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

    page: int = Field(default=1, ge=1, le=10_000, description="the page, from 1 (the seed's paging)")
    per_page: int = Field(default=20, ge=1, le=10_000, description=f"items per page, at most {MAX_PER_PAGE} served")
    continuation: str | None = Field(default=None, min_length=1, max_length=2048,
                                     description="the X-Continuation-Token of the previous page: the next page")

    @property
    def capped_per_page(self) -> int:
        return min(self.per_page, MAX_PER_PAGE)

    @property
    def skip(self) -> int:
        return (self.page - 1) * self.capped_per_page


def fetch_page(fetch: Callable[[int, str | None, int], Page[Item]], query: PageQuery) -> Page[Item]:
    """The page ``query`` asks for: ``fetch(per_page, token, skip)`` reads it, after the token or
    (page N without a token) after skipping the rows of the pages before it."""
    if query.continuation:
        return fetch(query.capped_per_page, query.continuation, 0)
    return fetch(query.capped_per_page, None, query.skip)
