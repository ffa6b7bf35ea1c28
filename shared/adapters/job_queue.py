"""The job queue's local adapter.

In Azure the job queue is a Service Bus queue. Locally (no Service Bus emulator runs without
Docker) it is an Azure Storage queue in Azurite, and the local host gives it Service Bus's
peek-lock semantics. Messages travel in an envelope carrying what Service Bus carries natively.
"""

from __future__ import annotations

import json
import math
import threading
from datetime import datetime, timezone
from typing import Any

from shared.adapters.storage import StorageClients, check_queue, storage_errors
from shared.domain.messages import MESSAGE_CONTENT_TYPE, QueueMessage
from shared.services.ports import JobQueue

SERVICE_BUS_DEAD_LETTER_SUFFIX = "/$deadletterqueue"
LOCAL_DEAD_LETTER_SUFFIX = "-deadletter"
MAX_VISIBILITY_SECONDS = 7 * 24 * 3600  # a Storage queue hides a message for at most 7 days


class Sends:
    """Counts the messages this process sends to each queue and not yet taken by a reader, so that a
    local reader of that queue (the local host's pump) wakes as soon as one is sent instead of at its
    next poll: Service Bus hands a message to its trigger at once, a Storage queue has to be polled.
    Each send wakes one reader of its queue, not every reader of every queue."""

    MAX_PENDING = 64  # sends no reader has taken yet (all busy): at most this many extra looks

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str, threading.Condition] = {}
        self._pending: dict[str, int] = {}

    def _condition(self, queue: str) -> threading.Condition:
        with self._lock:
            if queue not in self._queues:
                self._queues[queue] = threading.Condition(self._lock)
            return self._queues[queue]

    def sent(self, queue: str) -> None:
        condition = self._condition(queue)
        with condition:
            self._pending[queue] = min(self._pending.get(queue, 0) + 1, self.MAX_PENDING)
            condition.notify()

    def wake_all(self) -> None:
        """Every waiting reader looks at its stop signal (a reader stopping)."""
        with self._lock:
            for condition in self._queues.values():
                condition.notify_all()

    def wait(self, queue: str, seconds: float, stop: threading.Event) -> None:
        """Until a message is sent to ``queue`` (taking that send), ``stop`` is set or ``seconds`` pass."""
        condition = self._condition(queue)
        with condition:
            if condition.wait_for(lambda: self._pending.get(queue, 0) > 0 or stop.is_set(), seconds) \
                    and self._pending.get(queue, 0) > 0:
                self._pending[queue] -= 1


SENDS = Sends()


class StorageJobQueue(JobQueue):
    """The local job queue: an Azure Storage queue holding Service Bus-shaped envelopes."""

    def __init__(self, clients: StorageClients, queue_name: str) -> None:
        self._clients = clients
        self.queue_name = queue_name

    def send(self, message: QueueMessage, not_before: datetime | None = None) -> None:
        # A scheduled message is an invisible one until its time (Service Bus: ScheduledEnqueueTimeUtc).
        delay = 0 if not_before is None else (not_before - datetime.now(timezone.utc)).total_seconds()
        visibility = min(MAX_VISIBILITY_SECONDS, max(0, math.ceil(delay))) or None
        with storage_errors(f"queue {self.queue_name}"):
            self._clients.queue(self.queue_name).send_message(encode_envelope(message), visibility_timeout=visibility)
        if visibility is None:
            SENDS.sent(self.queue_name)

    def check(self) -> None:
        check_queue(self._clients, self.queue_name)


def local_dead_letter_queue(queue_name: str) -> str:
    """Storage queue names allow no '/', so ``jobs/$deadletterqueue`` lives in ``jobs-deadletter``."""
    return queue_name + LOCAL_DEAD_LETTER_SUFFIX


def encode_envelope(message: QueueMessage, **extra: Any) -> str:
    envelope = {
        "messageId": message.message_id,
        "subject": message.subject,
        "contentType": MESSAGE_CONTENT_TYPE,
        "applicationProperties": message.properties(),
        "enqueuedTimeUtc": datetime.now(timezone.utc).isoformat(),
        "body": message.body(),
        **extra,
    }
    return json.dumps(envelope)


def decode_envelope(text: str) -> dict[str, Any]:
    """The envelope's fields; a message that is not an envelope is carried as its raw body."""
    try:
        envelope = json.loads(text)
    except json.JSONDecodeError:
        envelope = None
    if not isinstance(envelope, dict) or "messageId" not in envelope:
        return {"messageId": None, "body": text, "applicationProperties": {}}
    return envelope
