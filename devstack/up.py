"""`make up`: the whole system on this machine, on the embedded defaults.

Azurite (HTTPS, OAuth), a single-node Slurm cluster, the local simulators (one sshd on a loopback
port, reached as "local" with the direct runner and as "local-slurm" with Slurm), storage resources,
the demo cases, the local Functions host on http://localhost:7071, and the web app on
http://localhost:4280 (the Static Web Apps CLI, /api proxied to the host, behind devstack.front's
offline sign-in page).
Ctrl-C stops everything.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
from urllib.parse import urlsplit

from commands.load_cases import DEFAULT_DIRECTORY
from commands.local_settings import LOCAL_SETTINGS, SAMPLE_SETTINGS, apply_values, host_section, read_local_settings
from devstack import LOCAL_DIR, PROJECT_ROOT
from devstack.keys import SshKeys, ensure_ssh_keys
from devstack.processes import port_open
from devstack.sshd import login_user
from devstack.stack import LOCAL_SIMULATOR, LOCAL_SLURM_SIMULATOR, LocalStack, Ports

LOCAL_SIMULATORS = (LOCAL_SIMULATOR, LOCAL_SLURM_SIMULATOR)
WEB_PORT = 4280  # the Static Web Apps CLI's own default
log = logging.getLogger("devstack.up")


def write_local_settings(keys: SshKeys) -> dict:
    """Create local.settings.json from the sample (or bring an existing one up to date with settings
    and local simulators, and the local simulators' options, added to the sample since), pinning the local simulators' generated host key."""
    sample = read_local_settings(SAMPLE_SETTINGS)
    source = LOCAL_SETTINGS if LOCAL_SETTINGS.exists() else SAMPLE_SETTINGS
    document = read_local_settings(source)
    values = document["Values"]
    for name, value in sample["Values"].items():
        if name not in values:
            values[name] = value
            if source == LOCAL_SETTINGS:
                print(f"{LOCAL_SETTINGS.name}: added the new setting {name}")
    simulators = _simulators(values, source)
    known = {spec.get("name") for spec in simulators}
    for spec in _simulators(sample["Values"], SAMPLE_SETTINGS):
        if spec.get("name") in LOCAL_SIMULATORS and spec["name"] not in known:
            simulators.append(spec)
            if source == LOCAL_SETTINGS:
                print(f"{LOCAL_SETTINGS.name}: added the local simulator {spec['name']}")
        elif spec.get("name") in LOCAL_SIMULATORS:  # options new in the sample (limits, licences) join the local one
            mine = next(s for s in simulators if s.get("name") == spec["name"])
            added = [key for key in spec if key not in mine]
            mine.update({key: spec[key] for key in added})
            if added and source == LOCAL_SETTINGS:
                print(f"{LOCAL_SETTINGS.name}: added {', '.join(added)} to the local simulator {spec['name']}")
    for spec in simulators:
        if spec.get("name") in LOCAL_SIMULATORS:
            if spec.get("host_key") != keys.host_public and source == LOCAL_SETTINGS:
                print(f"pinning the local simulator's host key in {LOCAL_SETTINGS.name}")
            spec["host_key"] = keys.host_public
            spec["user"] = login_user()
            spec["private_key_path"] = str(keys.client_key.relative_to(PROJECT_ROOT))
    values["SIMULATORS"] = json.dumps(simulators)
    LOCAL_SETTINGS.write_text(json.dumps(document, indent=2) + "\n")
    return document


def _simulators(values: dict, source) -> list[dict]:
    try:
        return json.loads(values.get("SIMULATORS") or "[]")
    except json.JSONDecodeError as exc:
        raise SystemExit(f"make up: {source.name}: setting SIMULATORS is not valid JSON ({exc})") from None


def _port(uri: str) -> int:
    return urlsplit(uri).port or 443


def main() -> int:
    from devstack.azurite import AzuriteMissing
    from devstack.processes import ProcessFailed
    from devstack.sshd import SshdMissing
    from devstack.web import WebMissing
    from shared.errors import ConfigurationError

    try:
        return run()
    except (AzuriteMissing, SshdMissing, WebMissing, ProcessFailed, ConfigurationError, TimeoutError) as exc:
        print(f"\nmake up: {exc}", file=sys.stderr)
        return 1


def run() -> int:
    from shared.logs import StructuredFormatter

    logging.basicConfig(level=logging.INFO)
    for handler in logging.getLogger().handlers:  # job lines end with [job_id=... simulator=...]
        handler.setFormatter(StructuredFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for noisy in ("azure", "paramiko", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    os.chdir(PROJECT_ROOT)  # like the Functions host: the app runs in its own folder
    keys = ensure_ssh_keys(LOCAL_DIR / "ssh")
    document = write_local_settings(keys)
    apply_values(document)  # like Core Tools: variables already set in the environment win
    values = {name: os.environ[name] for name in document["Values"]}

    from shared.config import Settings

    settings = Settings.from_environ(values)
    local_sim = next((s for s in settings.simulators if s.name == LOCAL_SIMULATOR), None)
    ports = Ports(blob=_port(settings.blob_service_uri), queue=_port(settings.queue_service_uri),
                  table=_port(settings.table_service_uri), sshd=local_sim.port if local_sim else 0,
                  host=int(host_section(document).get("LocalHttpPort", 7071)), web=WEB_PORT)
    busy = [p for p in (ports.blob, ports.queue, ports.table, ports.sshd, ports.host, ports.web) if p and port_open(p)]
    if busy:
        print(f"ports already in use: {', '.join(map(str, busy))} — is the stack running already?", file=sys.stderr)
        return 1
    cors = [o.strip() for o in host_section(document).get("CORS", "").split(",") if o.strip()]
    stack = LocalStack(root=LOCAL_DIR, values=values, ports=ports, cases=DEFAULT_DIRECTORY, cors_origins=cors, web=True)
    try:
        stack.start()
        if stack.slurm_note:
            print(f"simulator {LOCAL_SLURM_SIMULATOR} is off: {stack.slurm_note}")
        _print_summary(stack)
        _wait_for_signal()
    finally:
        print("\nstopping…")
        stack.stop()
    return 0


def _print_summary(stack: LocalStack) -> None:
    settings, host = stack.settings, stack.host
    print("\nsimgate is running locally:")
    print(f"  web app       {stack.web_url}   (sign in with a name such as alice@example.com; "
          "the role simgate.admin makes an admin)")
    print(f"  API           {host.url}/api   (health: {host.url}/api/health, reference: {host.url}/api/docs)")
    print(f"  Azurite       blob {settings.blob_service_uri}")
    print(f"                queue {settings.queue_service_uri}")
    print(f"                table {settings.table_service_uri}")
    for spec in settings.simulators:
        print(f"  simulator     {spec.name}: {spec.user}@{spec.host}:{spec.port} ({spec.scheduler}, jobs in {spec.workdir})")
    print(f"  logs          {LOCAL_DIR / 'logs'}")
    print("functions:")
    print("\n".join(host.describe()))
    print("\nDevelopment sign-in: send the header 'X-Simgate-User: <name>'. Ctrl-C stops everything.\n", flush=True)


def _wait_for_signal() -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()


if __name__ == "__main__":
    sys.exit(main())
