"""Case definitions as folders a person edits: ``case.toml`` plus a ``scripts/`` folder.

    cases/smoothie/case.toml          the definition without its scripts (id defaults to the folder name)
    cases/smoothie/scripts/run.sh     every file here is a script template, named as the file
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from shared.errors import ValidationFailed

DEFINITION_FILE = "case.toml"
SCRIPTS_FOLDER = "scripts"


def case_folders(root: Path) -> list[Path]:
    """``root`` itself when it is a case folder, else the case folders under it, in name order."""
    if (root / DEFINITION_FILE).is_file():
        return [root]
    return sorted(p.parent for p in root.glob(f"*/{DEFINITION_FILE}"))


def read_case_folder(folder: Path) -> dict[str, Any]:
    """The definition document of one case folder (to be checked by ``parse_definition``).

    Raises ValidationFailed for what the folder itself gets wrong: bad TOML, scripts in the wrong
    place, files that are not UTF-8 text.
    """
    problems = []
    try:
        document = tomllib.loads((folder / DEFINITION_FILE).read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValidationFailed(f"{DEFINITION_FILE} cannot be read",
                               errors=[{"field": DEFINITION_FILE, "message": str(exc)}]) from None
    document.setdefault("id", folder.name)
    if "scripts" in document:
        problems.append({"field": "scripts", "message": f"put scripts in the {SCRIPTS_FOLDER}/ folder, "
                                                        f"not in {DEFINITION_FILE}"})
    scripts: dict[str, str] = {}
    script_dir = folder / SCRIPTS_FOLDER
    if not script_dir.is_dir():
        problems.append({"field": "scripts", "message": f"there is no {SCRIPTS_FOLDER}/ folder"})
    else:
        for path in sorted(script_dir.iterdir()):
            if path.name.startswith("."):
                continue
            if not path.is_file():
                problems.append({"field": f"scripts.{path.name}", "message": "only files are supported, no folders"})
                continue
            try:
                scripts[path.name] = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                problems.append({"field": f"scripts.{path.name}", "message": "is not UTF-8 text"})
    if problems:
        raise ValidationFailed(f"case folder {folder.name} is not valid", errors=problems)
    document["scripts"] = scripts
    return document
