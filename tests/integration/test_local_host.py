"""The local host against real Azurite: HTTP routing and concurrency, queue peek-lock semantics, timers."""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from devstack.host import LocalFunctionsHost
from shared.adapters.job_queue import local_dead_letter_queue
from tests.apps import sample_app

pytestmark = pytest.mark.integration

HOST_JSON = {"extensions": {"http": {"routePrefix": "api"}, "serviceBus": {"maxConcurrentCalls": 2}}}
MAX_DELIVERIES = 3
BACKOFF_SECONDS = 1
LOCK_SECONDS = 2


@pytest.fixture(scope="module")
def host(storage, settings, monkeypatch_module):
    monkeypatch_module.setenv("JOBS_QUEUE", settings.jobs_queue)
    with LocalFunctionsHost(sample_app.app, host_json=HOST_JSON, port=0, queue_service=storage.queue_service,
                            max_delivery_count=MAX_DELIVERIES, redelivery_backoff=BACKOFF_SECONDS,
                            lock_seconds=LOCK_SECONDS) as running:
        yield running


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture
def recorder():
    sample_app.recorder.__init__()
    return sample_app.recorder


def test_serves_a_blueprint_route_with_route_parameters_under_the_prefix(host):
    response = requests.patch(f"{host.url}/api/items/42/notes/first?x=1&y=two", data=b"hello",
                              headers={"X-Simgate-User": "martin"}, timeout=10)
    assert response.status_code == 200 and response.headers["X-Seen"] == "yes"
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json() == {"method": "PATCH", "route": {"item_id": "42", "note": "first"},
                               "query": {"x": "1", "y": "two"}, "body": "hello", "user": "martin"}


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/items/42/notes/first", 404),  # no prefix
    ("GET", "/api/items/abc/notes/first", 404),  # int constraint
    ("DELETE", "/api/items/42/notes/first", 405),
])
def test_unrouted_requests(host, method, path, status):
    assert requests.request(method, host.url + path, timeout=10).status_code == status


def test_a_function_that_raises_is_a_500(host):
    assert requests.get(f"{host.url}/api/boom", timeout=10).status_code == 500


def test_two_slow_requests_are_served_at_the_same_time(host, recorder):
    # Each request waits in the function until the other one arrives: served one at a time,
    # the first would give up after the barrier's timeout and answer 500.
    with ThreadPoolExecutor(2) as pool:
        responses = list(pool.map(lambda _: requests.get(f"{host.url}/api/slow", timeout=30), range(2)))
    assert [r.text for r in responses] == ["together", "together"]


def send(settings, storage, body: dict) -> str:
    """A Service Bus-shaped envelope with any body (the sample app's functions take any JSON)."""
    message_id = f"test-{uuid.uuid4()}"
    envelope = {"messageId": message_id, "subject": "start", "contentType": "application/json",
                "applicationProperties": {"job_id": "j-1"}, "body": json.dumps(body)}
    storage.queue(settings.jobs_queue).send_message(json.dumps(envelope))
    return message_id


def deliveries_of(recorder, message_id):
    return [d for d in recorder.deliveries if d["id"] == message_id]


def test_a_queued_message_reaches_the_service_bus_function(host, recorder, settings, storage):
    message_id = send(settings, storage, {"job_id": "j-1"})
    assert recorder.wait_for(lambda: deliveries_of(recorder, message_id), timeout=20)
    (seen,) = deliveries_of(recorder, message_id)
    assert seen == {"id": message_id, "body": {"job_id": "j-1"}, "delivery_count": 1, "subject": "start",
                    "properties": {"job_id": "j-1"}}
    queue = storage.queue(settings.jobs_queue)
    assert _wait(lambda: queue.get_queue_properties().approximate_message_count == 0), "completed messages are deleted"


def test_a_failed_message_is_redelivered_after_a_back_off_with_a_higher_count(host, recorder, settings, storage):
    message_id = send(settings, storage, {"fail_times": 1})
    assert recorder.wait_for(lambda: len(deliveries_of(recorder, message_id)) >= 2, timeout=30)
    counts = [d["delivery_count"] for d in deliveries_of(recorder, message_id)]
    assert counts == [1, 2]
    assert not recorder.dead_letters


def test_redelivery_waits_for_the_back_off(host, recorder, settings, storage):
    message_id = send(settings, storage, {"fail_times": 1})
    assert recorder.wait_for(lambda: len(deliveries_of(recorder, message_id)) >= 1, timeout=20)
    failed_at = time.monotonic()
    assert recorder.wait_for(lambda: len(deliveries_of(recorder, message_id)) >= 2, timeout=30)
    assert time.monotonic() - failed_at >= BACKOFF_SECONDS - 0.2


def test_a_message_is_dead_lettered_after_the_maximum_deliveries(host, recorder, settings, storage):
    message_id = send(settings, storage, {"fail_times": 99, "job_id": "j-dead"})
    assert recorder.wait_for(lambda: any(d["id"] == message_id for d in recorder.dead_letters), timeout=60)
    assert [d["delivery_count"] for d in deliveries_of(recorder, message_id)] == [1, 2, 3]
    (dead,) = [d for d in recorder.dead_letters if d["id"] == message_id]
    assert dead["reason"] == "MaxDeliveryCountExceeded"
    assert "injected failure on delivery 3" in dead["description"]
    assert dead["body"] == {"fail_times": 99, "job_id": "j-dead"}
    main = storage.queue(settings.jobs_queue)
    dlq = storage.queue(local_dead_letter_queue(settings.jobs_queue))
    assert _wait(lambda: main.get_queue_properties().approximate_message_count == 0)
    assert _wait(lambda: dlq.get_queue_properties().approximate_message_count == 0), "the dead-letter function completed it"


def test_the_lock_is_renewed_while_the_function_runs(host, recorder, settings, storage):
    message_id = send(settings, storage, {"hold": True})
    assert recorder.wait_for(lambda: deliveries_of(recorder, message_id), timeout=20)
    # Held for three lock durations: without renewal the message would reappear and run again.
    redelivered = recorder.wait_for(lambda: len(deliveries_of(recorder, message_id)) > 1, timeout=3 * LOCK_SECONDS)
    recorder.release.set()
    assert not redelivered
    queue = storage.queue(settings.jobs_queue)
    assert _wait(lambda: queue.get_queue_properties().approximate_message_count == 0)
    assert len(deliveries_of(recorder, message_id)) == 1


def test_timer_functions_run_on_their_schedule(host, recorder):
    assert recorder.wait_for(lambda: recorder.timer_ticks >= 2, timeout=10)


def _wait(condition, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False
