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
import time

import requests

from commands.local_settings import LOCAL_SETTINGS, PROJECT_ROOT, SAMPLE_SETTINGS, host_section, read_local_settings

VALUES = {"speed_rpm": 6000, "duration_s": 60, "fruit_mix": "mango-pineapple", "viscosity_pa_s": 0.5,
          "batch_label": "Test 1"}


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
        Demo(args.api, args.user, str(PROJECT_ROOT / ca) if ca else True).play(args.case)
    except requests.ConnectionError:
        print(f"\nno simgate at {args.api}: start it with `make up` first", file=sys.stderr)
        return 1
    except DemoFailed as exc:
        print(f"\ndemo stopped: {exc}", file=sys.stderr)
        return 1
    return 0


class Demo:
    def __init__(self, api: str, user: str, verify) -> None:
        self.api = api.rstrip("/")
        self.session = requests.Session()
        self.session.headers["X-Simgate-User"] = user
        self.verify = verify

    def call(self, method: str, path: str, **kwargs):
        response = self.session.request(method, f"{self.api}/{path}", timeout=60, **kwargs)
        if response.status_code >= 400:
            raise DemoFailed(f"{method} /api/{path} answered {response.status_code}: {response.text[:500]}")
        return response.json()

    def play(self, case_id: str) -> None:
        step("1. The case list, page 1, 5 per page")
        for case in self.call("GET", "case", params={"page": 1, "per_page": 5}):
            print(f"   {case['id']:<16} v{case['version']}  {case['title']}")
        step(f"2. The {case_id} case")
        case = self.call("GET", f"case/{case_id}")
        for field in case["fields"]:
            unit = f" {field['unit']}" if field.get("unit") else ""
            print(f"   {field['label']:<16} default {field.get('default')!r}{unit}")
        step('3. A new job "Test 1"')
        job_id = self.call("POST", "job", json={"case_id": case_id, "job_title": "Test 1"})["job_id"]
        print(f"   job {job_id} (draft)")
        step("4. Its values")
        values = {k: v for k, v in VALUES.items() if k in {f["name"] for f in case["fields"]}}
        self.call("PATCH", f"job/{job_id}", json={"fields": [{"name": k, "value": v} for k, v in values.items()]})
        for name, value in values.items():
            print(f"   {name} = {value!r}")
        step("5. Run")
        print(f"   {self.call('POST', f'job/{job_id}')['status']}")
        step("6. Its status, until it is done")
        status, deadline = "submitted", time.monotonic() + 300
        while status not in ("done", "failed", "cancelled"):
            if time.monotonic() > deadline:
                raise DemoFailed(f"job {job_id} is still {status} after 5 minutes")
            reply = self.call("GET", f"job/{job_id}/status", params={"wait": 20, "since": status})
            if reply["status"] != status:
                status = reply["status"]
                print(f"   {status:<10} {reply['detail']}")
        job = self.call("GET", f"job/{job_id}")
        print("   history: " + " → ".join(h["status"] for h in job["history"]) + f"  (on {job['simulator']})")
        if status != "done":
            raise DemoFailed(f"the job ended {status}: {job['error'] or job['detail']}")
        step("7. Its outputs")
        outputs = self.call("GET", f"job/{job_id}/output")
        for output in outputs:
            print(f"   {output['output_id']:<6} {output['name']:<30} {output['size']:>8} bytes  {output['content_type']}")
        first_csv = next(o for o in outputs if o["content_type"] == "text/csv")
        step(f"8. Download {first_csv['output_id']} ({first_csv['name']}) through its link")
        link = self.call("GET", f"job/{job_id}/output/{first_csv['output_id']}")
        print(f"   link valid until {link['expires_at']}: {link['url'].split('?')[0]}?<SAS>")
        download = requests.get(link["url"], verify=self.verify, timeout=60)
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
