"""The local host alone, as its own process, on the app settings in the environment (as ``func start``
runs on local.settings.json): ``python -m devstack.serve --port 7071``. The stack around it (Azurite,
sshd, tables and queues) must be up already. Used to stop a host hard and start another on the same
storage, as the platform replaces an instance."""

from __future__ import annotations

import argparse
import json
import signal
import threading

from commands.local_settings import PROJECT_ROOT


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.serve", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=7071)
    port = parser.parse_args(argv).port

    import function_app
    from devstack.host import LocalFunctionsHost
    from shared.adapters.storage import StorageClients
    from shared.config import get_settings

    settings = get_settings()
    clients = StorageClients(settings)
    host_json = json.loads((PROJECT_ROOT / "host.json").read_text())
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    with LocalFunctionsHost(function_app.build(), host_json=host_json, port=port, queue_service=clients.queue_service,
                            max_delivery_count=settings.jobs_queue_max_delivery_count,
                            dev_mode=settings.auth_dev_mode) as host:
        print(f"serving on {host.url}", flush=True)
        stopped.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
