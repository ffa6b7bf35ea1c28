"""Long text in Table entities: split over numbered properties to stay below the 64 KiB limit."""

from __future__ import annotations

from typing import Any

CHUNK_CHARS = 15_000  # code points; at most 60 KB of UTF-16, below the 64 KiB property limit
MAX_CHUNKS = 30


def split_text(name: str, text: str) -> dict[str, Any]:
    """Properties ``<name>_chunks`` and ``<name>_00``, ``<name>_01``, ... holding ``text``."""
    chunks = [text[i:i + CHUNK_CHARS] for i in range(0, len(text), CHUNK_CHARS)] or [""]
    if len(chunks) > MAX_CHUNKS:
        raise ValueError(f"{name} is {len(text)} characters; a Table entity holds at most "
                         f"{CHUNK_CHARS * MAX_CHUNKS}")
    return {f"{name}_chunks": len(chunks), **{f"{name}_{i:02d}": chunk for i, chunk in enumerate(chunks)}}


def join_text(name: str, entity: dict[str, Any]) -> str:
    return "".join(entity[f"{name}_{i:02d}"] for i in range(entity[f"{name}_chunks"]))
