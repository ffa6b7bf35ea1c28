"""The Service Bus job queue adapter, with a fake client (there is no Service Bus emulator here)."""

import json

import pytest
from azure.servicebus.exceptions import ServiceBusAuthorizationError, ServiceBusConnectionError

from shared.adapters.job_queue import StorageJobQueue
from shared.adapters.service_bus import ServiceBusJobQueue
from shared.config import Settings
from shared.domain.messages import JobMessage
from shared.errors import ConfigurationError, TransientError
from shared.wiring import azure_adapters

JOB_ID = "5f2c9a0e11b7-8230312345678-3fa9c2d1"
MESSAGE = JobMessage(action="start", job_id=JOB_ID)


class FakeSender:
    def __init__(self, failures):
        self.sent, self.closed, self._failures = [], False, failures

    def send_messages(self, message):
        if self._failures:
            raise self._failures.pop(0)
        self.sent.append(message)

    def close(self):
        self.closed = True


class FakeClient:
    def __init__(self, failures=()):
        self.senders, self._failures = [], list(failures)

    def get_queue_sender(self, queue_name):
        self.queue_name = queue_name
        self.senders.append(FakeSender(self._failures))
        return self.senders[-1]


def queue_with(client):
    created = []

    def factory():
        created.append(client)
        return client

    return ServiceBusJobQueue("jobs", factory), created


def test_messages_carry_id_subject_properties_and_a_json_body():
    client = FakeClient()
    queue, _ = queue_with(client)
    queue.send(MESSAGE)
    (sent,) = client.senders[0].sent
    assert sent.message_id == f"{JOB_ID}:start" and sent.subject == "start"
    assert sent.content_type == "application/json" and client.queue_name == "jobs"
    assert json.loads(str(sent)) == {"action": "start", "job_id": JOB_ID}
    assert {k.decode() if isinstance(k, bytes) else k: v for k, v in sent.application_properties.items()} == {
        "action": "start", "job_id": JOB_ID}


def test_the_client_and_sender_are_created_once_and_reused():
    client = FakeClient()
    queue, created = queue_with(client)
    for _ in range(3):
        queue.send(MESSAGE)
    assert len(created) == 1 and len(client.senders) == 1 and len(client.senders[0].sent) == 3


def test_a_connection_failure_is_transient_and_the_sender_is_rebuilt():
    client = FakeClient(failures=[ServiceBusConnectionError(message="down")])
    queue, _ = queue_with(client)
    with pytest.raises(TransientError):
        queue.send(MESSAGE)
    assert client.senders[0].closed
    queue.send(MESSAGE)
    assert len(client.senders) == 2 and len(client.senders[1].sent) == 1


def test_a_missing_role_is_a_configuration_error():
    queue, _ = queue_with(FakeClient(failures=[ServiceBusAuthorizationError(message="no role")]))
    with pytest.raises(ConfigurationError):
        queue.send(MESSAGE)


def test_the_app_uses_service_bus_when_its_namespace_is_set_and_the_storage_queue_otherwise():
    base = {"SimgateStorage__tableServiceUri": "https://t", "SimgateStorage__blobServiceUri": "https://b"}

    def queue_for(**values):
        return azure_adapters(Settings.from_environ({**base, **values})).queue

    assert isinstance(queue_for(ServiceBusConnection__fullyQualifiedNamespace="sb.servicebus.windows.net"),
                      ServiceBusJobQueue)
    assert isinstance(queue_for(SimgateStorage__queueServiceUri="https://q"), StorageJobQueue)
    with pytest.raises(ConfigurationError, match="no job queue"):
        queue_for().send(MESSAGE)
