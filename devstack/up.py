"""`make up`: the whole system on this machine, on the embedded defaults.

Azurite (HTTPS, OAuth), a single-node Slurm cluster, the local simulators (one sshd on a loopback
port, reached as "local" with the direct runner and as "local-slurm" with Slurm), storage resources,
the demo cases, and the local Functions host on http://localhost:7071. Ctrl-C stops everything.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
from urllib.parse import urlsplit

from devstack import LOCAL_DIR, PROJECT_ROOT
from devstack.azurite import start_azurite
from devstack.host import LocalFunctionsHost
from devstack.keys import SshKeys, ensure_ssh_keys, ensure_tls_certificate
from devstack.processes import ManagedProcess, port_open
from commands.local_settings import LOCAL_SETTINGS, SAMPLE_SETTINGS, apply_values, host_section, read_local_settings
from devstack.sshd import login_user, start_sshd

LOCAL_SIMULATOR = "local"
LOCAL_SLURM_SIMULATOR = "local-slurm"
LOCAL_SIMULATORS = (LOCAL_SIMULATOR, LOCAL_SLURM_SIMULATOR)
log = logging.getLogger("devstack.up")


def write_local_settings(keys: SshKeys) -> dict:
    """Create local.settings.json from the sample (or bring an existing one up to date with settings
    and local simulators added to the sample since), pinning the local simulators' generated host key."""
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
    from shared.errors import ConfigurationError

    try:
        return run()
    except (AzuriteMissing, SshdMissing, ProcessFailed, ConfigurationError, TimeoutError) as exc:
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
    tls = ensure_tls_certificate(LOCAL_DIR / "certs")
    keys = ensure_ssh_keys(LOCAL_DIR / "ssh")
    document = write_local_settings(keys)
    apply_values(document)

    from shared.adapters.storage import StorageClients
    from shared.config import Settings

    settings = Settings.from_environ()
    ports = (_port(settings.blob_service_uri), _port(settings.queue_service_uri), _port(settings.table_service_uri))
    host_port = int(host_section(document).get("LocalHttpPort", 7071))
    local_sim = next((s for s in settings.simulators if s.name == LOCAL_SIMULATOR), None)
    slurm_sim = next((s for s in settings.simulators if s.name == LOCAL_SLURM_SIMULATOR), None)
    wanted = [*ports, host_port] + ([local_sim.port] if local_sim else [])
    busy = [p for p in wanted if port_open(p)]
    if busy:
        print(f"ports already in use: {', '.join(map(str, busy))} — is the stack running already?", file=sys.stderr)
        return 1

    processes: list[ManagedProcess] = []
    host = None
    try:
        azurite, _ = start_azurite(LOCAL_DIR / "azurite", tls, ports, LOCAL_DIR / "logs" / "azurite.log")
        processes.append(azurite)
        slurm_environment = {}
        if slurm_sim:
            cluster = _start_slurm()
            if cluster is None:
                settings = _without_simulator(settings, LOCAL_SLURM_SIMULATOR)
            else:
                processes.extend(cluster.processes)
                slurm_environment = cluster.environment
        if local_sim:
            processes.append(start_sshd(LOCAL_DIR / "ssh", keys, local_sim.port, LOCAL_DIR / "logs" / "sshd.log",
                                        environment=slurm_environment))

        from devstack.provision import provision

        clients = StorageClients(settings)
        provision(settings, clients)
        from shared.wiring import app

        _load_demo_cases(app().cases)

        import function_app

        host_json = json.loads((PROJECT_ROOT / "host.json").read_text())
        cors = host_section(document).get("CORS", "")
        host = LocalFunctionsHost(
            function_app.app,
            host_json=host_json,
            port=host_port,
            queue_service=clients.queue_service,
            max_delivery_count=settings.jobs_queue_max_delivery_count,
            cors_origins=[o.strip() for o in cors.split(",") if o.strip()],
        ).start()
        _print_summary(settings, host)
        _wait_for_signal()
    finally:
        print("\nstopping…")
        if host is not None:
            host.stop()
        for process in reversed(processes):
            process.stop()
    return 0


def _load_demo_cases(catalogue) -> None:
    from commands.load_cases import DEFAULT_DIRECTORY, load

    for outcome in load([DEFAULT_DIRECTORY], catalogue, published_by="make-up"):
        print(f"case {outcome.folder.name}: {outcome.message}")
        for problem in outcome.problems:
            print(f"    {problem}")


def _start_slurm():
    """The local Slurm cluster, or None (with the reason) where Slurm is not installed."""
    from devstack.slurm import SlurmMissing, start_slurm

    try:
        return start_slurm(LOCAL_DIR / "slurm", LOCAL_DIR / "logs")
    except SlurmMissing as exc:
        print(f"simulator {LOCAL_SLURM_SIMULATOR} is off: {exc}")
        return None


def _without_simulator(settings, name: str):
    """Settings (and the environment the app reads) without the named simulator."""
    remaining = [s for s in settings.simulators if s.name != name]
    os.environ["SIMULATORS"] = json.dumps([json.loads(s.model_dump_json()) for s in remaining])
    return settings.model_copy(update={"simulators": remaining})


def _print_summary(settings, host: LocalFunctionsHost) -> None:
    print("\nsimgate is running locally:")
    print(f"  API           {host.url}/api   (health: {host.url}/api/health)")
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
