"""Storage service clients, created on first use and shared by every invocation of the process."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import requests
import requests.adapters
from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.core.pipeline.transport import RequestsTransport
from azure.data.tables import TableClient, TableServiceClient
from azure.storage.blob import BlobServiceClient, ContainerClient
from azure.storage.queue import QueueClient, QueueServiceClient
from urllib3.util.retry import Retry

from shared.adapters.credentials import storage_credential
from shared.config import Settings
from shared.errors import ConfigurationError, NotFound, TransientError

POOLED_CONNECTIONS = 64


class StorageClients:
    def __init__(self, settings: Settings, credential=None) -> None:
        self._settings = settings
        self._credential = credential
        self._lock = threading.RLock()  # a client of a table is made from the service client, under the lock
        self._clients: dict[str, object] = {}

    def _client(self, kind: str, factory):
        client = self._clients.get(kind)
        if client is None:
            with self._lock:
                client = self._clients.get(kind)
                if client is None:
                    if self._credential is None:
                        self._credential = storage_credential(self._settings)
                    client = self._clients[kind] = factory(self._credential)
        return client

    @property
    def _transport_options(self) -> dict[str, object]:
        """One HTTP transport per service, pooling as many connections as the app runs threads: with the
        SDK's default pool of 10, the API's, the manager's and the notifier's threads together kept
        opening (and discarding) TLS connections to storage. As the SDK's own session: no retries or
        redirects below its retry policy; no proxy or .netrc lookups from the environment (they walked
        the whole environment on every request): storage is reached directly."""
        bundle = self._settings.storage_ca_bundle
        session = requests.Session()
        session.trust_env = False
        adapter = requests.adapters.HTTPAdapter(
            pool_connections=4, pool_maxsize=POOLED_CONNECTIONS,
            max_retries=Retry(total=False, redirect=False, raise_on_status=False))
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        return {"transport": RequestsTransport(session=session, session_owner=False,
                                               **({"connection_verify": str(bundle)} if bundle else {}))}

    @property
    def table_service(self) -> TableServiceClient:
        return self._client("table", lambda c: TableServiceClient(
            self._settings.table_service_uri, credential=c, **self._transport_options))

    @property
    def blob_service(self) -> BlobServiceClient:
        return self._client("blob", lambda c: BlobServiceClient(
            self._settings.blob_service_uri, credential=c, **self._transport_options))

    @property
    def queue_service(self) -> QueueServiceClient:
        uri = self._settings.queue_service_uri
        if uri is None:
            raise ConfigurationError("setting SimgateStorage__queueServiceUri is needed for the local job queue")
        return self._client("queue", lambda c: QueueServiceClient(uri, credential=c, **self._transport_options))

    @property
    def account_name(self) -> str:
        """The storage account's name. (A BlobClient's own ``account_name`` is wrong for
        emulator-style URLs such as https://127.0.0.1:10000/devstoreaccount1/...; this one is not.)"""
        return self.blob_service.account_name

    # One client per table, container and queue, reused: each client builds its own request pipeline.

    def table(self, name: str) -> TableClient:
        return self._client(f"table:{name}", lambda _: self.table_service.get_table_client(name))

    def container(self, name: str) -> ContainerClient:
        return self._client(f"container:{name}", lambda _: self.blob_service.get_container_client(name))

    def queue(self, name: str) -> QueueClient:
        return self._client(f"queue:{name}", lambda _: self.queue_service.get_queue_client(name))


@contextlib.contextmanager
def storage_errors(what: str) -> Iterator[None]:
    """Translate Azure SDK errors raised while doing ``what`` into simgate's errors."""
    try:
        yield
    except ResourceNotFoundError as exc:
        raise NotFound(f"{what}: not found ({_code(exc)})") from exc
    except ClientAuthenticationError as exc:
        # A missing role assignment or a wrong identity: an operator has to fix it, retrying won't.
        raise ConfigurationError(f"{what}: storage refused the app's identity ({_code(exc)})") from exc
    except (ServiceRequestError, ServiceResponseError) as exc:
        raise TransientError(f"{what}: storage unreachable") from exc
    except HttpResponseError as exc:
        if exc.status_code in (408, 429) or (exc.status_code or 0) >= 500:
            raise TransientError(f"{what}: storage answered {exc.status_code}") from exc
        raise
    except AzureError as exc:
        raise TransientError(f"{what}: {type(exc).__name__}") from exc


def _code(exc: HttpResponseError) -> str:
    return str(getattr(exc, "error_code", None) or exc.status_code or type(exc).__name__)


def check_table(clients: StorageClients, name: str) -> None:
    with storage_errors(f"table {name}"):
        next(iter(clients.table(name).query_entities("PartitionKey eq ''", results_per_page=1).by_page()), None)


def check_container(clients: StorageClients, name: str) -> None:
    with storage_errors(f"container {name}"):
        if not clients.container(name).exists():
            raise NotFound(f"container {name} does not exist")


def check_queue(clients: StorageClients, name: str) -> None:
    with storage_errors(f"queue {name}"):
        clients.queue(name).get_queue_properties()
