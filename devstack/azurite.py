"""Azurite over HTTPS with ``--oauth basic``: bearer tokens and user-delegation SAS work locally."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from devstack import PROJECT_ROOT
from devstack.keys import TlsFiles
from devstack.processes import ManagedProcess, port_open

ACCOUNT = "devstoreaccount1"


class AzuriteMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class AzuriteEndpoints:
    blob_port: int
    queue_port: int
    table_port: int
    ca_bundle: Path

    def uri(self, port: int) -> str:
        return f"https://127.0.0.1:{port}/{ACCOUNT}"

    @property
    def blob(self) -> str:
        return self.uri(self.blob_port)

    @property
    def queue(self) -> str:
        return self.uri(self.queue_port)

    @property
    def table(self) -> str:
        return self.uri(self.table_port)

    def settings(self) -> dict[str, str]:
        """The app settings that point the app at this Azurite."""
        return {
            "SimgateStorage__blobServiceUri": self.blob,
            "SimgateStorage__queueServiceUri": self.queue,
            "SimgateStorage__tableServiceUri": self.table,
            "SimgateStorage__credential": "azurite",
            "SimgateStorage__caBundle": str(self.ca_bundle),
        }


def azurite_executable() -> Path:
    local = PROJECT_ROOT / "node_modules" / ".bin" / "azurite"
    if local.exists():
        return local
    found = shutil.which("azurite")
    if found:
        return Path(found)
    raise AzuriteMissing("azurite is not installed: run `npm ci` in the project root")


def start_azurite(data_dir: Path, tls: TlsFiles, ports: tuple[int, int, int], log_path: Path, *,
                  persist: bool = True) -> tuple[ManagedProcess, AzuriteEndpoints]:
    """Azurite on the given ports; ``persist=False`` keeps its data in memory only (tests, benchmarks)."""
    blob, queue, table = ports
    data_dir.mkdir(parents=True, exist_ok=True)
    argv = [
        str(azurite_executable()),
        *(["--location", str(data_dir)] if persist else ["--inMemoryPersistence"]),
        "--blobHost", "127.0.0.1", "--blobPort", str(blob),
        "--queueHost", "127.0.0.1", "--queuePort", str(queue),
        "--tableHost", "127.0.0.1", "--tablePort", str(table),
        "--cert", str(tls.cert), "--key", str(tls.key),
        "--oauth", "basic",
        # The Python SDKs often speak a newer REST API version than Azurite has learned.
        "--skipApiVersionCheck",
        "--disableTelemetry",
        "--silent",
    ]
    process = ManagedProcess("azurite", argv, log_path)
    process.start(ready=lambda: all(port_open(p) for p in ports), timeout=60)
    return process, AzuriteEndpoints(blob, queue, table, tls.cert)
