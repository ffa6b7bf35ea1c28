"""The job queue in Azure: a Service Bus queue, reached with the app's identity (no connection strings).

One client and one sender per process, created on first use and reused; the sender is not
thread-safe, so sends are serialised. After a failed send the sender is rebuilt on the next one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from azure.servicebus import ServiceBusClient, ServiceBusMessage
from azure.servicebus.exceptions import (
    MessagingEntityDisabledError,
    MessagingEntityNotFoundError,
    ServiceBusAuthenticationError,
    ServiceBusAuthorizationError,
    ServiceBusError,
)

from shared.domain.messages import MESSAGE_CONTENT_TYPE, QueueMessage
from shared.errors import ConfigurationError, TransientError
from shared.services.ports import JobQueue

_OPERATOR_ERRORS = (ServiceBusAuthenticationError, ServiceBusAuthorizationError, MessagingEntityNotFoundError,
                    MessagingEntityDisabledError)


def default_client_factory(namespace: str, client_id: str | None) -> Callable[[], Any]:
    def create() -> ServiceBusClient:
        from azure.identity import DefaultAzureCredential

        credential = DefaultAzureCredential(managed_identity_client_id=client_id)
        return ServiceBusClient(fully_qualified_namespace=namespace, credential=credential)

    return create


class ServiceBusJobQueue(JobQueue):
    def __init__(self, queue_name: str, client_factory: Callable[[], Any]) -> None:
        self.queue_name = queue_name
        self._client_factory = client_factory
        self._client = None
        self._sender = None
        self._lock = threading.Lock()

    def send(self, message: QueueMessage, not_before: datetime | None = None) -> None:
        outgoing = ServiceBusMessage(
            message.body(),
            message_id=message.message_id,
            subject=message.subject,
            content_type=MESSAGE_CONTENT_TYPE,
            application_properties=message.properties(),
            scheduled_enqueue_time_utc=not_before,
        )
        with self._lock:
            try:
                self._get_sender().send_messages(outgoing)
            except ServiceBusError as exc:
                self._drop_sender()
                raise _translate(exc, f"sending to queue {self.queue_name}") from exc

    def check(self) -> None:
        with self._lock:
            try:
                with self._get_client().get_queue_receiver(self.queue_name) as receiver:
                    receiver.peek_messages(max_message_count=1)
            except ServiceBusError as exc:
                raise _translate(exc, f"queue {self.queue_name}") from exc

    def _get_client(self):
        if self._client is None:
            self._client = self._client_factory()
        return self._client

    def _get_sender(self):
        if self._sender is None:
            self._sender = self._get_client().get_queue_sender(self.queue_name)
        return self._sender

    def _drop_sender(self) -> None:
        sender, self._sender = self._sender, None
        if sender is not None:
            try:
                sender.close()
            except Exception:  # noqa: BLE001 - closing a broken sender must not hide why it broke
                pass


def _translate(exc: ServiceBusError, what: str) -> Exception:
    if isinstance(exc, _OPERATOR_ERRORS):
        return ConfigurationError(f"{what}: Service Bus refused ({type(exc).__name__}); check the queue and roles")
    return TransientError(f"{what}: Service Bus unavailable ({type(exc).__name__})")
