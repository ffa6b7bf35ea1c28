"""Write the API's OpenAPI document, as the app serves it at /api/openapi.json, to a file.

    make api       (or: python -m commands.openapi [FILE] [--check])

The web app generates its TypeScript types from the copy in web/src/api/openapi.json, so a change
of the contract shows up there as a diff, and as type errors in the web build where it matters.
``--check`` only says whether the file is current (exit 1 when it is not).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from commands.local_settings import PROJECT_ROOT

WEB_COPY = PROJECT_ROOT / "web" / "src" / "api" / "openapi.json"


def current_document() -> str:
    from functions.meta import api_document

    return json.dumps(api_document(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m commands.openapi", description=__doc__.split("\n\n")[0])
    parser.add_argument("file", nargs="?", type=Path, default=WEB_COPY)
    parser.add_argument("--check", action="store_true", help="only check that FILE is current")
    args = parser.parse_args(argv)
    text = current_document()
    if args.check:
        if args.file.is_file() and args.file.read_text() == text:
            return 0
        print(f"{args.file} is not the current API document: run `make api`", file=sys.stderr)
        return 1
    args.file.write_text(text)
    print(f"wrote {args.file.relative_to(PROJECT_ROOT) if args.file.is_relative_to(PROJECT_ROOT) else args.file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
