"""Put the jobs that were active before sites had lines into their sites' lines, once, after upgrading.

    python -m commands.enlist_active [--settings local.settings.json]

The reconciler and the governor find active jobs through the sites' lines (docs/operations.md, "Limits,
licences and fair share"). A job that was submitted, queued, running or in cleanup when the version
with lines was deployed has no entry: this reads the jobs table once (every owner's active jobs) and
gives each its entry, and a job already on its site the grant it holds. Running it again changes
nothing. Settings come from the environment over the Values of the settings file, as for
commands.load_cases.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from commands.load_cases import settings_environment
from shared.domain.jobs import JobStatus
from shared.errors import SimgateError

ACTIVE = (JobStatus.SUBMITTED, JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.CLEANUP)


def enlist_active(application) -> int:
    """Every active job of every owner put in its line; how many."""
    taken = 0
    for status in ACTIVE:
        token = None
        while True:
            page = application.adapters.jobs.list_jobs(None, 1000, token, status=status)
            for summary in page.items:
                stored = application.adapters.jobs.find(summary.job_id)
                if stored is None:
                    continue
                job = stored.item
                case, _ = application.cases.get(job.case_id, job.case_version)
                taken += application.sites.adopt(job, case)
            token = page.continuation
            if token is None:
                break
    return taken


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m commands.enlist_active", description=__doc__.split("\n\n")[0])
    parser.add_argument("--settings", type=Path, default=Path("local.settings.json"),
                        help="a local.settings.json-style file; the environment wins over it")
    args = parser.parse_args(argv)

    from shared.config import Settings
    from shared.wiring import azure_adapters, build

    try:
        settings = Settings.from_environ(settings_environment(args.settings))
        count = enlist_active(build(settings, azure_adapters(settings)))
    except SimgateError as error:
        print(f"enlist_active: {error.detail}", file=sys.stderr)
        return 1
    print(f"{count} active jobs in their sites' lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
