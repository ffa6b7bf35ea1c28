"""Play the seed's story against the running local stack (`make up`), printing what a person sees.

    make demo      (or: python -m commands.demo [--api URL] [--user alice] [--case smoothie] [--ca FILE])

Lists the cases, opens the smoothie case, creates the job "Test 1", sets its values, runs it, follows
its status to done, lists its outputs and downloads the CSV through its SAS link.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

from cli.auth import choose_auth
from cli.client import Api
from cli.download import storage_client
from cli.errors import CannotConnect, CliError
from cli.settings import resolve
from commands.local_settings import LOCAL_SETTINGS, PROJECT_ROOT, SAMPLE_SETTINGS, host_section, read_local_settings
from shared.api.models import JobStatus
from shared.api.requests import CaseListQuery

VALUES = {"speed_rpm": 6000, "duration_s": 60, "fruit_mix": "mango-pineapple", "viscosity_pa_s": 0.5,
          "batch_label": "Test 1"}
STATUS_WAIT_SECONDS = 20
MAX_POLLS = 15  # about 5 minutes of long-polls


class DemoFailed(Exception):
    pass


def main(argv: list[str] | None = None) -> int:
    document = read_local_settings(LOCAL_SETTINGS if LOCAL_SETTINGS.exists() else SAMPLE_SETTINGS)
    port = host_section(document).get("LocalHttpPort", 7071)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", default=f"http://127.0.0.1:{port}/api")
    parser.add_argument("--user", default="alice")
    parser.add_argument("--case", default="smoothie")
    parser.add_argument("--ca", help="a CA certificate to trust for downloads (default: the local Azurite's)")
    args = parser.parse_args(argv)
    ca = args.ca or document["Values"].get("SimgateStorage__caBundle")
    try:
        settings = resolve(url=args.api, user=args.user, auth="dev", ca_bundle=PROJECT_ROOT / ca if ca else None,
                           environ={})
        api = Api(settings, choose_auth(settings))
        try:
            Demo(api, settings.ca_bundle).play(args.case)
        finally:
            api.close()
    except CannotConnect:
        print(f"\nno simgate at {args.api}: start it with `make up` first", file=sys.stderr)
        return 1
    except (DemoFailed, CliError) as exc:
        print(f"\ndemo stopped: {exc}", file=sys.stderr)
        return 1
    return 0


class Demo:
    """The story, told through the CLI's client: the same calls and models as ``simgate``."""

    def __init__(self, api: Api, ca_bundle: Path | None) -> None:
        self.api = api
        self.ca_bundle = ca_bundle

    def play(self, case_id: str) -> None:
        step("1. The case list, page 1, 5 per page")
        for header in self.api.cases(CaseListQuery(page=1, per_page=5)).items:
            print(f"   {header.id:<16} v{header.version}  {header.title}")
        step(f"2. The {case_id} case")
        case = self.api.case(case_id)
        for field in case.fields:
            unit = f" {field.unit}" if field.unit else ""
            print(f"   {field.label:<16} default {field.default!r}{unit}")
        step('3. A new job "Test 1"')
        job_id = self.api.create_job(case_id, "Test 1", {}).job_id
        print(f"   job {job_id} (draft)")
        step("4. Its values")
        values = {k: v for k, v in VALUES.items() if k in {f.name for f in case.fields}}
        self.api.set_fields(job_id, values)
        for name, value in values.items():
            print(f"   {name} = {value!r}")
        step("5. Run")
        status = self.api.run(job_id).status
        print(f"   {status.value}")
        step("6. Its status, until it is done")
        for _ in range(MAX_POLLS):
            if status.terminal:
                break
            reply = self.api.status(job_id, wait=STATUS_WAIT_SECONDS, since=status)
            if reply.status != status:
                status = reply.status
                print(f"   {status.value:<10} {reply.detail}")
        else:
            raise DemoFailed(f"job {job_id} is still {status.value} after {MAX_POLLS} long-polls")
        job = self.api.job(job_id)
        print("   history: " + " → ".join(h.status.value for h in job.history) + f"  (on {job.simulator})")
        if status != JobStatus.DONE:
            raise DemoFailed(f"the job ended {status.value}: {job.error or job.detail}")
        step("7. Its outputs")
        outputs = self.api.outputs(job_id)
        for output in outputs:
            print(f"   {output.output_id:<6} {output.name:<30} {output.size:>8} bytes  {output.content_type}")
        first_csv = next(o for o in outputs if o.content_type == "text/csv")
        step(f"8. Download {first_csv.output_id} ({first_csv.name}) through its link")
        link = self.api.output_link(job_id, first_csv.output_id)
        print(f"   link valid until {link.expires_at.isoformat()}: {link.url.split('?')[0]}?<SAS>")
        with storage_client(self.ca_bundle) as storage:
            download = storage.get(link.url)
        if download.status_code != 200:
            raise DemoFailed(f"the download answered {download.status_code}")
        rows = list(csv.reader(io.StringIO(download.text)))
        print(f"   {len(download.content)} bytes, {len(rows) - 1} rows; the first and the last:")
        for row in (rows[0], rows[1], rows[-1]):
            print("   " + ", ".join(row))
        print("\nDone: the job ran on the simulator and its results came back through Blob storage.")


def step(title: str) -> None:
    print(f"\n{title}")


if __name__ == "__main__":
    sys.exit(main())
