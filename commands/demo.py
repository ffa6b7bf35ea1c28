"""Play the seed's story against the running local stack (`make up`), printing what a person sees.

    make demo      (or: python -m commands.demo [--api URL] [--user alice] [--case smoothie] [--ca FILE])
    make demo LIVE=1   (or: python -m commands.demo --live [--seconds 30])

Lists the cases, opens the smoothie case, creates the job "Test 1", sets its values, runs it, follows
its status to done, lists its outputs and downloads the CSV through its SAS link.

With --live: runs the heat-rod case paced over about 30 s (its field run_seconds) and shows it while it
runs: its log lines as they come, with its status and progress (a bar on a terminal, a line per change
elsewhere), then its outputs, among them the profile it refreshed while it ran.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import time
from pathlib import Path

from rich.text import Text

from cli.auth import choose_auth
from cli.client import Api
from cli.download import storage_client
from cli.errors import CannotConnect, CliError
from cli.follow import WAIT_SECONDS, StatusLine
from cli.render import stdout
from cli.settings import resolve
from commands.local_settings import LOCAL_SETTINGS, PROJECT_ROOT, SAMPLE_SETTINGS, host_section, read_local_settings
from shared.api.models import JobStatus, JobStatusInfo
from shared.api.requests import CaseListQuery

VALUES = {"speed_rpm": 6000, "duration_s": 60, "fruit_mix": "mango-pineapple", "viscosity_pa_s": 0.5,
          "batch_label": "Test 1"}
STATUS_WAIT_SECONDS = 20
MAX_POLLS = 15  # about 5 minutes of long-polls
LIVE_CASE = "heat-rod"
LIVE_SECONDS = 30  # how long the live run lasts (the heat-rod case's run_seconds)
LIVE_MARGIN_SECONDS = 240  # how much longer than that the demo waits for it (a simulator busy, its start)


class DemoFailed(Exception):
    pass


def main(argv: list[str] | None = None) -> int:
    document = read_local_settings(LOCAL_SETTINGS if LOCAL_SETTINGS.exists() else SAMPLE_SETTINGS)
    port = host_section(document).get("LocalHttpPort", 7071)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", default=f"http://127.0.0.1:{port}/api")
    parser.add_argument("--user", default="alice")
    parser.add_argument("--case", help="the case of the story (default: smoothie; heat-rod with --live)")
    parser.add_argument("--ca", help="a CA certificate to trust for downloads (default: the local Azurite's)")
    parser.add_argument("--live", action="store_true", default=os.environ.get("LIVE", "").lower() in ("1", "true", "yes", "on"),
                        help="watch a paced run live: its log and progress (default: on when LIVE=1, as in "
                             "`make demo LIVE=1`)")
    parser.add_argument("--seconds", type=float, default=LIVE_SECONDS,
                        help=f"with --live: about how long the run lasts (default: {LIVE_SECONDS})")
    args = parser.parse_args(argv)
    ca = args.ca or document["Values"].get("SimgateStorage__caBundle")
    try:
        settings = resolve(url=args.api, user=args.user, auth="dev", ca_bundle=PROJECT_ROOT / ca if ca else None,
                           environ={})
        api = Api(settings, choose_auth(settings))
        try:
            demo = Demo(api, settings.ca_bundle)
            if args.live:
                demo.play_live(args.case or LIVE_CASE, args.seconds)
            else:
                demo.play(args.case or "smoothie")
        finally:
            api.close()
    except CannotConnect:
        print(f"\nno simgate at {args.api}: start it with `make up` first", file=sys.stderr)
        return 1
    except (DemoFailed, CliError) as exc:
        print(f"\ndemo stopped: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ndemo stopped (a job it started goes on)", file=sys.stderr)
        return 130
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
        self.outputs(job_id, 7)
        print("\nDone: the job ran on the simulator and its results came back through Blob storage.")

    def play_live(self, case_id: str, seconds: float) -> None:
        step(f"1. The {case_id} case, paced to be watched")
        case = self.api.case(case_id)
        if "run_seconds" not in {f.name for f in case.fields}:
            raise DemoFailed(f"the published {case_id} case has no field run_seconds: publish the current cases "
                             "with `make cases` (or restart `make up`)")
        print(f"   {case.title}: run_seconds spreads its steps over about that many seconds")
        step(f'2. A new job "Live run" with run_seconds = {seconds:g}, run')
        job_id = self.api.create_job(case_id, "Live run", {"run_seconds": seconds}).job_id
        status = self.api.run(job_id).status
        print(f"   job {job_id} is {status.value}")
        step("3. While it runs: its log as it comes, its status and progress")
        final = self.watch_live(job_id, deadline=time.monotonic() + seconds + LIVE_MARGIN_SECONDS)
        job = self.api.job(job_id)
        print("   history: " + " → ".join(h.status.value for h in job.history) + f"  (on {job.simulator})")
        if final.status != JobStatus.DONE:
            raise DemoFailed(f"the job ended {final.status.value}: {job.error or job.detail}")
        self.outputs(job_id, 4, prefer="profile.csv")
        print("\nDone: the run was watched live, its log, progress and profile, and its results came back "
              "through Blob storage.")

    def watch_live(self, job_id: str, deadline: float) -> JobStatusInfo:
        """The job's stdout, line by line as it comes, under a live status line (a progress bar) on a
        terminal, or with a status line per change elsewhere; its last status once the log is whole.

        Until the job runs, its status is long-polled (the API answers once anything shown changes); then
        its log is (the API answers once there are new bytes), and after each piece its status is asked
        for with the ETag it had (a 304 while nothing changed)."""
        console = stdout()
        with StatusLine(console, job_id, prefix="   ") as line:
            seen = self.api.watch(job_id)
            line.show(seen.info)
            while seen.info.status not in (JobStatus.RUNNING, JobStatus.CLEANUP) and not seen.info.status.terminal:
                _before(deadline, job_id, seen.info)
                seen = self.api.watch(job_id, seen, wait=WAIT_SECONDS)
                line.show(seen.info)
            offset, partial = 0, ""
            while True:
                tail = self.api.log(job_id, "stdout", offset, wait=WAIT_SECONDS)
                offset = tail.next_offset
                *lines, partial = (partial + tail.text).split("\n")
                for text in lines:
                    console.print(Text(f"   │ {text}"), soft_wrap=True)
                seen = self.api.watch(job_id, seen)
                line.show(seen.info)
                if tail.complete:
                    break
                _before(deadline, job_id, seen.info)
            if partial:
                console.print(Text(f"   │ {partial}"), soft_wrap=True)
            while not seen.info.status.terminal:  # the log is whole once the job has finished: seldom taken
                _before(deadline, job_id, seen.info)
                seen = self.api.watch(job_id, seen, wait=WAIT_SECONDS)
                line.show(seen.info)
        return seen.info

    def outputs(self, job_id: str, number: int, prefer: str | None = None) -> None:
        step(f"{number}. Its outputs")
        outputs = self.api.outputs(job_id)
        for output in outputs:
            print(f"   {output.output_id:<6} {output.name:<30} {output.size:>8} bytes  {output.content_type}")
        csvs = [o for o in outputs if o.content_type == "text/csv"]
        chosen = next((o for o in csvs if o.name == prefer), csvs[0] if csvs else None)
        if chosen is None:
            raise DemoFailed(f"job {job_id} has no CSV output")
        step(f"{number + 1}. Download {chosen.output_id} ({chosen.name}) through its link")
        link = self.api.output_link(job_id, chosen.output_id)
        print(f"   link valid until {link.expires_at.isoformat()}: {link.url.split('?')[0]}?<SAS>")
        with storage_client(self.ca_bundle) as storage:
            download = storage.get(link.url)
        if download.status_code != 200:
            raise DemoFailed(f"the download answered {download.status_code}")
        rows = list(csv.reader(io.StringIO(download.text)))
        print(f"   {len(download.content)} bytes, {len(rows) - 1} rows; the first and the last:")
        for row in (rows[0], rows[1], rows[-1]):
            print("   " + ", ".join(row))


def _before(deadline: float, job_id: str, info: JobStatusInfo) -> None:
    if time.monotonic() > deadline:
        raise DemoFailed(f"job {job_id} is still {info.status.value}: it takes much longer than it should")


def step(title: str) -> None:
    print(f"\n{title}")


if __name__ == "__main__":
    sys.exit(main())
