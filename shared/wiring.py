"""The composition root: the one place that builds the application from its parts.

``app()`` builds the ``App`` on first use and keeps it for the process; every function gets its
services from it. Nothing here runs at import time, so a missing setting or an unreachable service
never hides the app's functions: it surfaces as a problem response of the function that needs it.

``build`` composes an App from any adapters: Azure's and the local stack's (``azure_adapters``), or
the in-memory fakes of the unit tests.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from shared import telemetry
from shared.auth import Authenticator
from shared.config import Settings, SimulatorSpec, get_settings
from shared.domain.jobs import Job
from shared.errors import ConfigurationError
from shared.services.agent_reports import AgentReports
from shared.services.catalogue import Catalogue
from shared.services.changes import JobChanges
from shared.services.comparisons import Comparisons
from shared.services.followers import Answers, SignallingJobRepository, Signals
from shared.services.health import Health, Probe
from shared.services.jobs import Jobs
from shared.services.live import LivePuller, LiveRuns
from shared.services.manager import AgentOptions, Manager, WaitPolicy
from shared.services.notifications import Notifications, Notifier, NotifyOptions, NotifyWaker
from shared.services.outputs import Outputs, keep_live_files
from shared.services.ports import (
    CaseRepository,
    Clock,
    JobQueue,
    JobRepository,
    LiveStore,
    NotificationStore,
    OutputStore,
    SimulatorGateway,
    SiteStore,
    SweepStore,
    WebhookSender,
)
from shared.services.previews import Previews
from shared.services.reconciler import Reconciler
from shared.services.sites import Sites
from shared.services.sweeps import Sweeps


@dataclass(frozen=True)
class Adapters:
    """The ports, implemented."""

    cases: CaseRepository
    jobs: JobRepository
    outputs: OutputStore
    live: LiveStore
    queue: JobQueue
    simulators: SimulatorGateway
    clock: Clock
    sites: SiteStore
    sweeps: SweepStore
    notifications: NotificationStore
    notify_queue: JobQueue
    webhooks: WebhookSender
    probes: list[Probe] = field(default_factory=list)
    close: Callable[[], None] = lambda: None


@dataclass(frozen=True)
class App:
    """Every use case of simgate, each an object that owns its ports."""

    settings: Settings
    auth: Authenticator
    cases: Catalogue
    jobs: Jobs
    outputs: Outputs
    agent_reports: AgentReports
    live: LiveRuns
    live_puller: LivePuller
    sites: Sites
    sweeps: Sweeps
    previews: Previews
    comparisons: Comparisons
    manager: Manager
    reconciler: Reconciler
    notifications: Notifications
    notifier: Notifier
    health: Health
    adapters: Adapters

    def close(self) -> None:
        self.adapters.close()


def build(settings: Settings, adapters: Adapters) -> App:
    signals = Signals(adapters.clock)
    answers = Answers(signals, adapters.clock, settings.follow_fresh_seconds)
    # every write wakes this instance's followers; agents and followers may read what it remembers
    sites: Sites | None = None

    def ended(job: Job) -> None:  # a write ended the job: keep its live files, release its grants
        keep_live_files(adapters.live, job)
        if sites is not None:
            sites.release(job)

    waker = NotifyWaker(adapters.notifications, adapters.notify_queue)
    job_store = SignallingJobRepository(adapters.jobs, signals, adapters.clock, settings.follow_fresh_seconds,
                                        on_end=ended, on_write=waker.written)
    notify = NotifyOptions(allow_loopback_http=settings.notify_allow_loopback_http,
                           max_subscriptions=settings.notify_max_subscriptions, schedule=settings.notify_schedule,
                           disable_after=timedelta(hours=settings.notify_disable_after_hours),
                           base_url=settings.agent_callback_url)
    changes = JobChanges(job_store, adapters.clock)
    sites = Sites(adapters.sites, job_store, changes, adapters.queue, adapters.simulators, settings.simulators,
                  adapters.clock)
    jobs = Jobs(adapters.cases, job_store, adapters.outputs, adapters.queue, changes, adapters.clock,
                signals=signals, answers=answers, live=adapters.live, sites=sites)
    live = LiveRuns(jobs, adapters.live, adapters.outputs, changes, signals, answers, adapters.clock,
                    pull_sites=frozenset(spec.name for spec in settings.simulators if not spec.nodes_call_out))
    sweeps = Sweeps(adapters.cases, job_store, adapters.sweeps, jobs, adapters.queue, sites, adapters.clock,
                    max_members=settings.sweep_max_members)
    notifier = Notifier(adapters.notifications, job_store, adapters.sweeps, adapters.webhooks, adapters.notify_queue,
                        adapters.clock, notify)

    def subscriptions_changed(owner: str) -> None:  # through this instance: seen here at once
        waker.forget_owner(owner)
        notifier.forget_owner(owner)

    agent = AgentOptions(callback_base_url=settings.agent_callback_url, retry_seconds=settings.agent_retry_seconds,
                         ca_bundle=str(settings.storage_ca_bundle.resolve()) if settings.storage_ca_bundle else None)
    return App(
        settings=settings,
        auth=Authenticator(admin_role=settings.admin_role, dev_mode=settings.auth_dev_mode,
                           platform_auth=settings.platform_auth),
        cases=Catalogue(adapters.cases, adapters.clock, settings.simulators),
        jobs=jobs,
        outputs=Outputs(jobs, adapters.outputs, adapters.live),
        agent_reports=AgentReports(job_store, adapters.outputs, changes, adapters.clock, live=adapters.live),
        live=live,
        live_puller=LivePuller(job_store, adapters.live, adapters.simulators, settings.simulators, live,
                               adapters.clock),
        sites=sites,
        sweeps=sweeps,
        previews=Previews(adapters.cases, jobs, sites, adapters.clock, max_members=settings.sweep_max_members),
        comparisons=Comparisons(adapters.cases, jobs, sweeps),
        manager=Manager(adapters.cases, job_store, adapters.simulators, settings.simulators, agent, changes,
                        adapters.clock, adapters.queue, sites, max_deliveries=settings.jobs_queue_max_delivery_count,
                        write_sweep=sweeps.write_members,
                        waiting=WaitPolicy(horizon=timedelta(hours=settings.simulator_wait_hours),
                                           max_delay=timedelta(seconds=settings.simulator_retry_max_seconds))),
        reconciler=Reconciler(job_store, adapters.simulators, settings.simulators, adapters.outputs,
                              adapters.queue, changes, adapters.clock, sites,
                              stale_after=timedelta(seconds=settings.reconcile_stale_after_seconds)),
        notifications=Notifications(adapters.notifications, adapters.sweeps, adapters.webhooks, adapters.notify_queue,
                                    adapters.clock, notify, on_change=subscriptions_changed),
        notifier=notifier,
        health=Health(adapters.probes),
        adapters=adapters,
    )


def azure_adapters(settings: Settings) -> Adapters:
    """Table and Blob storage, the job queue (Service Bus, or the local Storage queue) and SSH.
    SDK clients and SSH connections are made on first use, not here."""
    from shared.adapters import storage as storage_adapter
    from shared.adapters.case_store import TableCaseRepository
    from shared.adapters.job_store import TableJobRepository
    from shared.adapters.live_store import BlobLiveStore
    from shared.adapters.notification_store import TableNotificationStore
    from shared.adapters.output_store import BlobOutputStore
    from shared.adapters.simulators import SshSimulatorGateway
    from shared.adapters.site_store import TableSiteStore
    from shared.adapters.ssh import SshPool, SshSession
    from shared.adapters.sweep_store import TableSweepStore
    from shared.adapters.system_clock import SystemClock
    from shared.adapters.table_paging import ContinuationTokens
    from shared.adapters.webhook_sender import HttpWebhookSender

    clients = storage_adapter.StorageClients(settings)
    tokens = ContinuationTokens(clients, settings.cases_table)  # one signing key for every listing
    pool = SshPool(functools.partial(_ssh_session, SshSession, settings),
                   max_connections=settings.simulator_max_connections, max_channels=settings.simulator_max_channels)
    queue = _job_queue(settings, clients, settings.jobs_queue)
    notify_queue = _job_queue(settings, clients, settings.notify_queue)
    probes = [
        Probe("storage", f"table:{settings.cases_table}",
              lambda: storage_adapter.check_table(clients, settings.cases_table)),
        Probe("storage", f"table:{settings.jobs_table}",
              lambda: storage_adapter.check_table(clients, settings.jobs_table)),
        Probe("storage", f"blob:{settings.scripts_container}",
              lambda: storage_adapter.check_container(clients, settings.scripts_container)),
        Probe("storage", f"blob:{settings.outputs_container}",
              lambda: storage_adapter.check_container(clients, settings.outputs_container)),
        Probe("queue", settings.jobs_queue, queue.check),
        Probe("queue", settings.notify_queue, notify_queue.check),
        *[Probe("simulators", spec.name, functools.partial(pool.check, spec)) for spec in settings.simulators],
    ]
    return Adapters(
        cases=TableCaseRepository(clients, settings.cases_table, settings.scripts_container, tokens=tokens),
        jobs=TableJobRepository(clients, settings.jobs_table, tokens=tokens),
        outputs=BlobOutputStore(clients, settings.outputs_container),
        live=BlobLiveStore(clients, settings.outputs_container),
        queue=queue,
        simulators=SshSimulatorGateway(pool),
        clock=SystemClock(),
        sites=TableSiteStore(clients, settings.jobs_table),
        sweeps=TableSweepStore(clients, settings.jobs_table, tokens=tokens),
        notifications=TableNotificationStore(clients, settings.jobs_table),
        notify_queue=notify_queue,
        webhooks=HttpWebhookSender(allow_loopback=settings.notify_allow_loopback_http),
        probes=probes,
        close=pool.close,
    )


def _ssh_session(session_class, settings: Settings, spec: SimulatorSpec):
    key = settings.simulator_keys.get(spec.name)
    return session_class(spec, key.get_secret_value() if key else None)


def _job_queue(settings: Settings, clients, name: str) -> JobQueue:
    """Service Bus when its namespace is set (Azure); otherwise the local Storage queue."""
    if settings.service_bus_namespace:
        from shared.adapters.service_bus import ServiceBusJobQueue, default_client_factory

        factory = default_client_factory(settings.service_bus_namespace, settings.service_bus_client_id)
        return ServiceBusJobQueue(name, factory)
    if settings.queue_service_uri:
        from shared.adapters.job_queue import StorageJobQueue

        return StorageJobQueue(clients, name)
    return _NoJobQueue()


class _NoJobQueue(JobQueue):
    """Settings name no queue: only the functions that queue messages fail, with the reason."""

    _REASON = ("no job queue: set ServiceBusConnection__fullyQualifiedNamespace (Azure) "
               "or SimgateStorage__queueServiceUri (local)")

    def send(self, message, not_before=None) -> None:
        raise ConfigurationError(self._REASON)

    def check(self) -> None:
        raise ConfigurationError(self._REASON)


_app: App | None = None
_lock = threading.Lock()


def app() -> App:
    """The process's application, built from the settings on first use."""
    global _app
    if _app is None:
        with _lock:
            if _app is None:
                settings = get_settings()
                telemetry.configure(settings)
                _app = build(settings, azure_adapters(settings))
    return _app


def reset() -> None:
    """Close and forget the process's application and settings (tests that change the environment)."""
    global _app
    with _lock:
        if _app is not None:
            _app.close()
        _app = None
        get_settings.cache_clear()


@contextmanager
def installed(application: App) -> Iterator[App]:
    """``app()`` answers ``application`` inside the block: the functions run on it (tests use fakes)."""
    global _app
    with _lock:
        previous, _app = _app, application
    try:
        yield application
    finally:
        with _lock:
            _app = previous
