"""Publish case folders: each directory given is a case folder or a folder of them.

    python -m commands.load_cases [DIRECTORY ...] [--settings local.settings.json] [--as NAME]

A case folder holds ``case.toml`` and a ``scripts/`` folder (see shared/adapters/case_folders.py).
A case whose definition equals its latest published version is left alone; a changed one becomes a
new version. Invalid cases are reported with every problem and nothing of them is written; the
others are still published. Exit status: 0 when every case is published or unchanged, 1 otherwise.

Storage comes from the app settings: the environment, over the Values of the settings file when
there is one (local.settings.json by default, as `make up` writes it). Against Azure, set
SimgateStorage__tableServiceUri/__blobServiceUri and SimgateStorage__credential=default, and sign in
with an identity that has the Storage Table and Blob Data Contributor roles.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from shared.adapters.case_folders import DEFINITION_FILE, case_folders, read_case_folder
from shared.auth import Principal
from shared.errors import SimgateError
from shared.services.catalogue import Catalogue

DEFAULT_DIRECTORY = Path(__file__).resolve().parent.parent / "cases"


@dataclass(frozen=True)
class Outcome:
    folder: Path
    ok: bool
    message: str
    problems: tuple[str, ...] = ()


def publisher(name: str) -> Principal:
    """Who the loader publishes as: an operator with the storage rights to do it, hence an admin."""
    return Principal(user_id=name, name=name, is_admin=True)


def load(directories: list[Path], catalogue: Catalogue, published_by: str) -> list[Outcome]:
    outcomes = []
    folders = dict.fromkeys(f.resolve() for d in directories for f in case_folders(d))
    for folder in folders:
        try:
            publication = catalogue.publish(publisher(published_by), read_case_folder(folder))
        except SimgateError as error:
            problems = tuple(f"{e.get('field') or '(definition)'}: {e['message']}" for e in error.errors)
            outcomes.append(Outcome(folder, False, error.detail, problems))
            continue
        version = publication.case.version
        message = f"published version {version}" if publication.changed else f"unchanged (version {version})"
        outcomes.append(Outcome(folder, True, message))
    return outcomes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m commands.load_cases", description=__doc__.split("\n\n")[0])
    parser.add_argument("directories", nargs="*", type=Path, default=[DEFAULT_DIRECTORY])
    parser.add_argument("--settings", type=Path, default=Path("local.settings.json"),
                        help="a local.settings.json-style file; the environment wins over it")
    parser.add_argument("--as", dest="published_by", default=f"loader:{getpass.getuser()}",
                        help="who the versions are recorded as published by")
    args = parser.parse_args(argv)
    missing = [str(d) for d in args.directories if not d.is_dir()]
    if missing:
        parser.error(f"not a directory: {', '.join(missing)}")

    from shared.config import Settings
    from shared.wiring import azure_adapters, build

    try:
        settings = Settings.from_environ(settings_environment(args.settings))
        outcomes = load(args.directories, build(settings, azure_adapters(settings)).cases, args.published_by)
    except SimgateError as error:
        print(f"load_cases: {error.detail}", file=sys.stderr)
        return 1
    if not outcomes:
        print(f"no case folders (with {DEFINITION_FILE}) in or under {', '.join(map(str, args.directories))}")
    width = max((len(o.folder.name) for o in outcomes), default=0)
    for outcome in outcomes:
        print(f"{outcome.folder.name:<{width}}  {outcome.message}")
        for problem in outcome.problems:
            print(f"{'':<{width}}    {problem}")
    return 0 if all(o.ok for o in outcomes) else 1


def settings_environment(settings_file: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if settings_file.is_file():
        from commands.local_settings import read_local_settings

        values.update(read_local_settings(settings_file).get("Values", {}))
    values.update(os.environ)
    return values


if __name__ == "__main__":
    sys.exit(main())
