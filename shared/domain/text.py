"""Text that people read: titles, summaries, descriptions. Control characters and the Unicode
controls that reorder what a screen shows (bidi overrides and isolates) have no place there: they
break log lines, terminals and pages, and can make text read other than it is."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

# C0 and C1 controls, DEL, bidi embeddings/overrides/isolates, line and paragraph separators.
_NEVER = "\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029\u200e\u200f\u061c"
_IN_A_LINE = re.compile(f"[{_NEVER}\t\n]")
_IN_A_TEXT = re.compile(f"[{_NEVER}]")


def _line(value: str) -> str:
    if _IN_A_LINE.search(value):
        raise ValueError("must be one line of plain text: no control or text-direction characters")
    return value


def _text(value: str) -> str:
    if _IN_A_TEXT.search(value):
        raise ValueError("must be plain text: no control characters but new lines and tabs, no text-direction ones")
    return value


Line = Annotated[str, AfterValidator(_line)]
Text = Annotated[str, AfterValidator(_text)]
