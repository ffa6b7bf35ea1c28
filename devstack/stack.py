"""The whole local stack in one object: Azurite (HTTPS + OAuth), a single-node Slurm cluster, one
sshd reached as two simulators ("local": direct runner; "local-slurm": Slurm), storage resources, the
demo cases, and the local Functions host serving function_app.app.

`make up` runs it on the fixed ports of local.settings.json; the benchmarks and the browser tests run
their own on free ports in a folder of their own. Everything it started stops with ``stop``.

The local host plays the platform, App Service Authentication included: the app's environment gets
what App Service sets for an app whose authentication is on (``WEBSITE_AUTH_ENABLED``), and the web
app's proxy reaches the host on a port of its own, where the signed-in user's principal is kept.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from pathlib import Path

from devstack.azurite import AzuriteEndpoints, start_azurite
from devstack.keys import SshKeys, ensure_ssh_keys, ensure_tls_certificate
from devstack.processes import ManagedProcess, free_port
from devstack.sshd import login_user, start_sshd

log = logging.getLogger("devstack.stack")

LOCAL_SIMULATOR = "local"
LOCAL_SLURM_SIMULATOR = "local-slurm"


@dataclass
class Ports:
    """0 means: any free port."""

    blob: int = 0
    queue: int = 0
    table: int = 0
    sshd: int = 0
    host: int = 0
    web: int = 0

    def resolved(self) -> "Ports":
        return Ports(*(port or free_port() for port in (self.blob, self.queue, self.table, self.sshd, self.host,
                                                        self.web)))


def system_python() -> str:
    """The machine's own python3 (not a version manager's shim, which costs every SSH command tens of
    milliseconds to find the interpreter again)."""
    return shutil.which("python3", path="/usr/local/bin:/usr/bin:/bin") or "python3"


def local_simulators(configured: list[dict], keys: SshKeys, port: int, *, slurm_partition: str | None,
                     **options) -> list[dict]:
    """SIMULATORS with the local ones pointed at this stack's sshd (its port, pinned host key, user and
    client key): "local" with the direct runner and, where Slurm runs, "local-slurm". Other
    simulators configured there are kept as they are."""
    pinned = {"host": "127.0.0.1", "port": port, "user": login_user(), "host_key": keys.host_public,
              "private_key_path": str(keys.client_key), "python": system_python()}
    defaults = {"workdir": ".simgate/jobs", "max_parallel_jobs": 4}
    wanted = {LOCAL_SIMULATOR: {"scheduler": "direct"}}
    if slurm_partition:
        wanted[LOCAL_SLURM_SIMULATOR] = {"scheduler": "slurm", "slurm_partition": slurm_partition}
    listed = []
    for spec in configured:
        name = spec.get("name")
        if name not in (LOCAL_SIMULATOR, LOCAL_SLURM_SIMULATOR):
            listed.append(spec)
        elif name in wanted:
            listed.append({**defaults, **spec, **pinned, **wanted.pop(name), **options})
    return listed + [{"name": name, **defaults, **pinned, **extra, **options} for name, extra in wanted.items()]


@dataclass
class LocalStack:
    root: Path  # keys, certificate, emulator data, logs
    values: dict[str, str]  # app settings (local.settings.json's Values) to start from
    ports: Ports = field(default_factory=Ports)
    slurm: bool = True
    cases: Path | None = None  # case folders to publish; None for none
    host_json: dict | None = None
    cors_origins: list[str] = field(default_factory=list)
    simulator_options: dict = field(default_factory=dict)
    persist: bool = True  # keep Azurite's data on disk (make up); in memory for throw-away stacks
    web: bool = False  # serve the web app through the Static Web Apps CLI
    environ: MutableMapping[str, str] = field(default_factory=lambda: os.environ)

    def __post_init__(self) -> None:
        self.processes: list[ManagedProcess] = []
        self.host = None
        self.azurite: AzuriteEndpoints | None = None
        self.keys: SshKeys | None = None
        self.settings = None
        self.slurm_note: str | None = None  # why the Slurm simulator is off, when it is
        self.web_url: str | None = None
        self.front = None  # devstack.front.WebFront, in front of the Static Web Apps CLI
        self._saved: dict[str, str | None] = {}

    # --- lifecycle ---

    def start(self) -> "LocalStack":
        from devstack.host import PLATFORM_ENVIRONMENT
        from devstack.provision import provision
        from shared.adapters.storage import StorageClients
        from shared.config import Settings

        try:
            ports = self.ports.resolved()
            tls = ensure_tls_certificate(self.root / "certs")
            self.keys = ensure_ssh_keys(self.root / "ssh")
            azurite, self.azurite = start_azurite(self.root / "azurite", tls, (ports.blob, ports.queue, ports.table),
                                                  self.root / "logs" / "azurite.log", persist=self.persist)
            self.processes.append(azurite)
            cluster = self._start_slurm() if self.slurm else None
            self.processes.append(start_sshd(self.root / "ssh", self.keys, ports.sshd, self.root / "logs" / "sshd.log",
                                             environment=cluster.environment if cluster else None))
            configured = json.loads(self.values.get("SIMULATORS") or "[]")
            listed = local_simulators(configured, self.keys, ports.sshd,
                                      slurm_partition=cluster.partition if cluster else None, **self.simulator_options)
            environment = {**self.values, **self.azurite.settings(), "SIMULATORS": json.dumps(listed),
                           "AGENT_CALLBACK_URL": f"http://127.0.0.1:{ports.host}/api", **PLATFORM_ENVIRONMENT}
            self._export(environment)
            self.settings = Settings.from_environ(self.environ)
            clients = StorageClients(self.settings)
            provision(self.settings, clients, browser_origins=self._browser_origins(ports.web))
            self._publish_cases()
            self._start_host(ports.host, clients)
            if self.web:
                self._start_web(ports.web)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        from shared import wiring

        if self.host is not None:
            self.host.stop()
            self.host = None
        wiring.reset()
        if self.front is not None:
            self.front.stop()
            self.front = None
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()
        for name, value in self._saved.items():
            if value is None:
                self.environ.pop(name, None)
            else:
                self.environ[name] = value
        self._saved.clear()

    def __enter__(self) -> "LocalStack":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def api(self) -> str:
        return f"{self.host.url}/api"

    # --- steps ---

    def _export(self, environment: dict[str, str]) -> None:
        """The app reads its settings from the environment, as in Azure."""
        from shared import wiring

        for name, value in environment.items():
            self._saved.setdefault(name, self.environ.get(name))
            self.environ[name] = value
        wiring.reset()

    def _browser_origins(self, port: int) -> list[str]:
        """Where browsers read outputs from Blob storage (previews, plots): the web app's origins."""
        return [f"http://localhost:{port}", f"http://127.0.0.1:{port}"] if self.web else []

    def _start_web(self, port: int) -> None:
        from devstack.web import build, start_front, start_web

        build(self.root / "logs" / "web-build.log")
        swa_port = free_port()
        self.processes.append(start_web(swa_port, self.host.proxy_url, self.root / "logs" / "swa.log"))
        self.front = start_front(port, swa_port)
        self.web_url = f"http://localhost:{port}"

    def _start_slurm(self):
        from devstack.slurm import SlurmMissing, start_slurm

        try:
            cluster = start_slurm(self.root / "slurm", self.root / "logs")
        except SlurmMissing as exc:
            self.slurm_note = str(exc)
            return None
        self.processes.extend(cluster.processes)
        return cluster

    def _publish_cases(self) -> None:
        if self.cases is None:
            return
        from commands.load_cases import load
        from shared.wiring import app

        for outcome in load([self.cases], app().cases, published_by="make-up"):
            log.info("case %s: %s%s", outcome.folder.name, outcome.message,
                     "".join(f"\n    {problem}" for problem in outcome.problems))

    def _start_host(self, port: int, clients) -> None:
        import function_app
        from commands.local_settings import PROJECT_ROOT
        from devstack.host import LocalFunctionsHost

        host_json = self.host_json or json.loads((PROJECT_ROOT / "host.json").read_text())
        self.host = LocalFunctionsHost(function_app.build(), host_json=host_json, port=port,
                                       queue_service=clients.queue_service,
                                       max_delivery_count=self.settings.jobs_queue_max_delivery_count,
                                       cors_origins=self.cors_origins, proxy_port=0 if self.web else None,
                                       dev_mode=self.settings.auth_dev_mode).start()
