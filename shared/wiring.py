"""The composition root: builds adapters from settings on first use and keeps them for the process.

Nothing here runs at import time, so a missing setting or an unreachable service never hides the
app's functions: it surfaces as a problem response of the function that needs it.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta, timezone

from shared.adapters import storage as storage_adapter
from shared.adapters.case_store import TableCaseRepository
from shared.adapters.job_queue import JobQueue, StorageJobQueue
from shared.adapters.job_store import TableJobRepository
from shared.adapters.output_store import BlobOutputStore
from shared.adapters.service_bus import ServiceBusJobQueue, default_client_factory
from shared.adapters.simulators import SshSimulatorGateway
from shared.adapters.ssh import SshPool, SshSession
from shared.config import Settings, SimulatorSpec, get_settings
from shared.errors import ConfigurationError
from shared.services.health import Probe
from shared.services.manager import Manager
from shared.services.reconciler import Reconciler


@functools.lru_cache(maxsize=1)
def storage() -> storage_adapter.StorageClients:
    return storage_adapter.StorageClients(get_settings())


@functools.lru_cache(maxsize=1)
def case_repository() -> TableCaseRepository:
    settings = get_settings()
    return TableCaseRepository(storage(), settings.cases_table, settings.scripts_container)


@functools.lru_cache(maxsize=1)
def job_repository() -> TableJobRepository:
    return TableJobRepository(storage(), get_settings().jobs_table)


@functools.lru_cache(maxsize=1)
def output_store() -> BlobOutputStore:
    return BlobOutputStore(storage(), get_settings().outputs_container)


@functools.lru_cache(maxsize=1)
def job_queue() -> JobQueue:
    """Service Bus when its namespace is set (Azure); otherwise the local Storage queue."""
    settings = get_settings()
    if settings.service_bus_namespace:
        factory = default_client_factory(settings.service_bus_namespace, settings.service_bus_client_id)
        return ServiceBusJobQueue(settings.jobs_queue, factory)
    if settings.queue_service_uri:
        return StorageJobQueue(storage(), settings.jobs_queue)
    raise ConfigurationError("no job queue: set ServiceBusConnection__fullyQualifiedNamespace (Azure) "
                             "or SimgateStorage__queueServiceUri (local)")


@functools.lru_cache(maxsize=1)
def ssh_pool() -> SshPool:
    return SshPool(simulator_session)


@functools.lru_cache(maxsize=1)
def simulator_gateway() -> SshSimulatorGateway:
    return SshSimulatorGateway(ssh_pool())


@functools.lru_cache(maxsize=1)
def manager() -> Manager:
    settings = get_settings()
    return Manager(cases=case_repository(), jobs=job_repository(), simulators=simulator_gateway(),
                   simulator_specs=settings.simulators, callback_base_url=settings.agent_callback_url,
                   clock=lambda: datetime.now(timezone.utc),
                   ca_bundle=str(settings.storage_ca_bundle.resolve()) if settings.storage_ca_bundle else None,
                   agent_retry_seconds=settings.agent_retry_seconds)


@functools.lru_cache(maxsize=1)
def reconciler() -> Reconciler:
    settings = get_settings()
    return Reconciler(jobs=job_repository(), simulators=simulator_gateway(),
                      simulator_specs=settings.simulators, outputs=output_store(), queue=job_queue(),
                      clock=lambda: datetime.now(timezone.utc),
                      stale_after=timedelta(seconds=settings.reconcile_stale_after_seconds))


def simulator_session(spec: SimulatorSpec, settings: Settings | None = None) -> SshSession:
    settings = settings or get_settings()
    key = settings.simulator_keys.get(spec.name)
    return SshSession(spec, key.get_secret_value() if key else None)


def health_probes() -> list[Probe]:
    settings = get_settings()
    clients = storage()
    probes = [
        Probe("storage", f"table:{settings.cases_table}",
              lambda: storage_adapter.check_table(clients, settings.cases_table)),
        Probe("storage", f"table:{settings.jobs_table}",
              lambda: storage_adapter.check_table(clients, settings.jobs_table)),
        Probe("storage", f"blob:{settings.scripts_container}",
              lambda: storage_adapter.check_container(clients, settings.scripts_container)),
        Probe("storage", f"blob:{settings.outputs_container}",
              lambda: storage_adapter.check_container(clients, settings.outputs_container)),
        Probe("queue", settings.jobs_queue, job_queue().check),
    ]
    for spec in settings.simulators:
        probes.append(Probe("simulators", spec.name, functools.partial(_probe_simulator, spec, settings)))
    return probes


def _probe_simulator(spec: SimulatorSpec, settings: Settings) -> None:
    with simulator_session(spec, settings) as session:
        session.run(["true"], timeout=10)
