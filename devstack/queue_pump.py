"""Service Bus peek-lock semantics over an Azure Storage queue, for the local host.

| Service Bus                         | here                                                        |
| ----------------------------------- | ----------------------------------------------------------- |
| peek-lock, lock duration            | receive with a visibility timeout                           |
| lock renewal while the function runs | the visibility timeout is extended every half lock         |
| complete on success                 | delete the message                                          |
| abandon on exception                | make it visible again after a back-off (Service Bus: at once) |
| delivery count                      | the storage queue's dequeue count                           |
| dead-letter after maxDeliveryCount  | move to ``<queue>-deadletter`` with reason and description |
| ``<queue>/$deadletterqueue``        | the ``<queue>-deadletter`` storage queue                   |
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from datetime import datetime, timedelta, timezone
from typing import Any

from azure.core.exceptions import AzureError, ResourceExistsError, ResourceNotFoundError
from azure.functions.servicebus import ServiceBusMessage
from azure.storage.queue import QueueMessage

from shared.adapters.job_queue import SENDS, SERVICE_BUS_DEAD_LETTER_SUFFIX, decode_envelope, local_dead_letter_queue

log = logging.getLogger("devstack.queue")

LOCK_SECONDS = 60
MAX_BACKOFF_SECONDS = 300
IDLE_POLL_MAX_SECONDS = 1.0


class QueuePump:
    def __init__(self, invocable, queue_name: str, queue_service, *, max_delivery_count: int,
                 redelivery_backoff: float, max_concurrent_calls: int, lock_seconds: int = LOCK_SECONDS) -> None:
        self.invocable = invocable
        self.is_dead_letter_reader = queue_name.lower().endswith(SERVICE_BUS_DEAD_LETTER_SUFFIX)
        base = queue_name[: -len(SERVICE_BUS_DEAD_LETTER_SUFFIX)] if self.is_dead_letter_reader else queue_name
        self.storage_queue = local_dead_letter_queue(base) if self.is_dead_letter_reader else base
        self._client = queue_service.get_queue_client(self.storage_queue)
        self._dead_letters = queue_service.get_queue_client(local_dead_letter_queue(base))
        self.max_delivery_count = max_delivery_count
        self.redelivery_backoff = redelivery_backoff
        self.lock_seconds = lock_seconds
        # dead letters are rare and only polled for: one reader does
        self._workers = 1 if self.is_dead_letter_reader else max(1, max_concurrent_calls)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for queue in (self._client, self._dead_letters):
            try:
                queue.create_queue()
            except ResourceExistsError:
                pass
        for index in range(self._workers):
            thread = threading.Thread(target=self._run, name=f"{self.invocable.name}-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        SENDS.wake_all()  # the workers waiting for a message see the stop
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()

    def _run(self) -> None:
        idle = 0.05
        while not self._stop.is_set():
            try:
                message = self._client.receive_message(visibility_timeout=self.lock_seconds)
            except (AzureError, OSError):
                log.warning("queue %s: receive failed; retrying", self.storage_queue, exc_info=True)
                message = None
                idle = IDLE_POLL_MAX_SECONDS
            if message is None:  # until the next poll, or a message sent by this process
                SENDS.wait(self.storage_queue, idle, self._stop)
                idle = min(idle * 2, IDLE_POLL_MAX_SECONDS)
                continue
            idle = 0.05
            try:
                self._handle(message)
            except Exception:  # settling failed; the worker must live on
                log.exception("queue %s: could not settle message %s; it reappears when its lock expires",
                              self.storage_queue, message.id)

    def _handle(self, message: QueueMessage) -> None:
        if not self.is_dead_letter_reader and message.dequeue_count > self.max_delivery_count:
            # Delivered before but never settled (the host died mid-call): Service Bus dead-letters it.
            self._dead_letter(message, "MaxDeliveryCountExceeded",
                              f"delivery count {message.dequeue_count} exceeds {self.max_delivery_count}")
            return
        lock = _LockRenewer(self._client, message, self.lock_seconds)
        lock.start()
        try:
            self.invocable(to_service_bus_message(message, self._locked_until()))
        except Exception as exc:  # the function failed: abandon
            receipt = lock.stop()
            log.warning("%s failed on delivery %d of message %s: %s", self.invocable.name,
                        message.dequeue_count, message.id, exc)
            if not self.is_dead_letter_reader and message.dequeue_count >= self.max_delivery_count:
                self._dead_letter(message, "MaxDeliveryCountExceeded", f"{type(exc).__name__}: {exc}", receipt)
            else:
                self._abandon(message, receipt)
            return
        receipt = lock.stop()
        self._complete(message, receipt)

    def _locked_until(self) -> datetime:
        return datetime.now(timezone.utc) + timedelta(seconds=self.lock_seconds)

    def backoff_seconds(self, delivery_count: int) -> int:
        return int(min(self.redelivery_backoff * 2 ** max(0, delivery_count - 1), MAX_BACKOFF_SECONDS))

    def _abandon(self, message: QueueMessage, receipt: str) -> None:
        try:
            self._client.update_message(message.id, receipt, visibility_timeout=self.backoff_seconds(message.dequeue_count))
        except (ResourceNotFoundError, AzureError):
            log.warning("could not abandon message %s; it reappears when its lock expires", message.id)

    def _complete(self, message: QueueMessage, receipt: str) -> None:
        try:
            self._client.delete_message(message.id, receipt)
        except (ResourceNotFoundError, AzureError):
            log.warning("could not complete message %s (lock lost); it may be delivered again", message.id)

    def _dead_letter(self, message: QueueMessage, reason: str, description: str, receipt: str | None = None) -> None:
        envelope = decode_envelope(_text(message.content))
        envelope.update({
            "deadLetterReason": reason,
            "deadLetterErrorDescription": description[:4096],
            "deadLetterSource": self.storage_queue,
            "deliveryCount": message.dequeue_count,
        })
        self._dead_letters.send_message(json.dumps(envelope))
        self._client.delete_message(message.id, receipt or message.pop_receipt)
        log.error("message %s dead-lettered from %s: %s (%s)", envelope.get("messageId"), self.storage_queue,
                  reason, description)


class _LockRenewer:
    """Keeps a message invisible while its function runs (Service Bus's auto lock renewal)."""

    def __init__(self, client, message: QueueMessage, lock_seconds: int) -> None:
        self._client = client
        self._message = message
        self._lock_seconds = lock_seconds
        self._receipt = message.pop_receipt
        self._done = threading.Event()
        self._guard = threading.Lock()
        self._thread = threading.Thread(target=self._renew, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _renew(self) -> None:
        while not self._done.wait(self._lock_seconds / 2):
            with self._guard:
                if self._done.is_set():
                    return
                try:
                    updated = self._client.update_message(self._message.id, self._receipt,
                                                          visibility_timeout=self._lock_seconds)
                    self._receipt = updated.pop_receipt
                except AzureError:
                    log.warning("lost the lock on message %s", self._message.id)
                    return

    def stop(self) -> str:
        with self._guard:
            self._done.set()
        self._thread.join(5)
        return self._receipt


def _text(content: Any) -> str:
    return content.decode() if isinstance(content, (bytes, bytearray)) else str(content)


def to_service_bus_message(message: QueueMessage, locked_until: datetime) -> ServiceBusMessage:
    envelope = decode_envelope(_text(message.content))
    body = envelope.get("body", "")
    if envelope.get("bodyEncoding") == "base64":
        body_bytes = base64.b64decode(body)
    else:
        body_bytes = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    properties = envelope.get("applicationProperties") or {}
    enqueued = envelope.get("enqueuedTimeUtc")
    return ServiceBusMessage(
        body=body_bytes,
        message_id=envelope.get("messageId") or message.id,
        content_type=envelope.get("contentType"),
        subject=envelope.get("subject"),
        label=envelope.get("subject"),
        correlation_id=envelope.get("correlationId"),
        delivery_count=message.dequeue_count,
        enqueued_time_utc=datetime.fromisoformat(enqueued) if enqueued else message.inserted_on,
        locked_until=locked_until,
        lock_token=message.pop_receipt,
        dead_letter_reason=envelope.get("deadLetterReason"),
        dead_letter_error_description=envelope.get("deadLetterErrorDescription"),
        dead_letter_source=envelope.get("deadLetterSource"),
        application_properties=properties,
        user_properties=properties,
        trigger_metadata={},
    )
