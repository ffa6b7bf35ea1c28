"""The local host against real Azurite: HTTP routing and concurrency, queue peek-lock semantics, timers;
and, on loopback alone, what it does as the platform's front end: client principals kept only from the
static site's proxy port, and connections whose request stalls dropped."""

from __future__ import annotations

import base64
import json
import socket
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import azure.functions as func
import pytest
import requests

from devstack.host import PLATFORM_ENVIRONMENT, LocalFunctionsHost
from functions import jobs, meta
from shared.adapters.job_queue import local_dead_letter_queue
from shared.domain.cases import parse_definition
from shared.domain.jobs import Job, JobStatus, Transition, new_job_id
from shared.wiring import installed
from tests.apps import sample_app
from tests.factories import case_document
from tests.fakes import fake_app

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


# --- the platform's front end: whose principal gets through, and how long a request may stall ---

NOW = datetime(2026, 5, 1, tzinfo=timezone.utc)
PRINCIPAL_HEADERS = ("X-MS-CLIENT-PRINCIPAL", "X-MS-CLIENT-PRINCIPAL-ID", "X-MS-CLIENT-PRINCIPAL-NAME",
                     "X-MS-CLIENT-PRINCIPAL-IDP")
# Static Web Apps' shape, with the admin role: what the site's proxy passes for a signed-in admin, and
# what an attacker would send to the public port.
ADMIN_PRINCIPAL = {
    "X-MS-CLIENT-PRINCIPAL": base64.b64encode(json.dumps({
        "identityProvider": "aad", "userId": "c0ffee", "userDetails": "carol@example.org",
        "userRoles": ["anonymous", "authenticated", "simgate.admin"]}).encode()).decode(),
    "X-MS-CLIENT-PRINCIPAL-ID": "c0ffee", "X-MS-CLIENT-PRINCIPAL-NAME": "carol@example.org",
    "X-MS-CLIENT-PRINCIPAL-IDP": "aad",
}
echo = func.Blueprint()


@echo.route(route="echo/headers", methods=["GET", "POST"], auth_level=func.AuthLevel.ANONYMOUS)
def echo_headers(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(sorted(name.lower() for name in req.headers)), mimetype="application/json")


def http_app() -> func.FunctionApp:
    """The job endpoints and the catch-all, beside a route that answers the headers it got: HTTP only,
    so no queue is needed."""
    app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
    for blueprint in (jobs.bp, meta.bp, echo):
        app.register_functions(blueprint)
    return app


@pytest.fixture
def world():
    """The app on fakes, configured as the local stack configures it (dev mode off here), with two
    users' jobs."""
    world = fake_app(AUTH_DEV_MODE="false", **PLATFORM_ENVIRONMENT)
    world.cases.publish(parse_definition(case_document("mixer")), "carol", NOW)
    for owner in ("alice@example.org", "bob@example.org"):
        world.jobs.add(Job(job_id=new_job_id(owner, NOW), owner=owner, title="Test", case_id="mixer",
                           case_version=1, fields={}, status=JobStatus.DRAFT, created=NOW, updated=NOW,
                           history=[Transition(status=JobStatus.DRAFT, at=NOW, source="user")]))
    with installed(world.app):
        yield world


def test_a_principal_sent_to_the_public_port_is_dropped_and_one_from_the_proxy_port_honoured(world):
    with LocalFunctionsHost(http_app(), host_json=HOST_JSON, port=0, proxy_port=0) as host:
        assert host.proxy_url and host.proxy_url != host.url
        public = requests.get(f"{host.url}/api/job", params={"all": "true"}, headers=ADMIN_PRINCIPAL, timeout=10)
        proxied = requests.get(f"{host.proxy_url}/api/job", params={"all": "true"}, headers=ADMIN_PRINCIPAL,
                               timeout=10)
        seen_public = requests.get(f"{host.url}/api/echo/headers", headers=ADMIN_PRINCIPAL, timeout=10).json()
        seen_proxied = requests.get(f"{host.proxy_url}/api/echo/headers", headers=ADMIN_PRINCIPAL, timeout=10).json()
    assert public.status_code == 401 and public.json()["type"] == "urn:simgate:problem:unauthorized"
    assert proxied.status_code == 200
    assert {job["owner"] for job in proxied.json()} == {"alice@example.org", "bob@example.org"}
    assert not any(name.startswith("x-ms-client-principal") for name in seen_public)
    assert {name.lower() for name in PRINCIPAL_HEADERS} <= set(seen_proxied)


def test_in_development_mode_the_public_port_keeps_principals_and_the_dev_header_works(world):
    with LocalFunctionsHost(http_app(), host_json=HOST_JSON, port=0, dev_mode=True) as host:
        assert host.proxy_url is None  # no static site, no port for it
        seen = requests.get(f"{host.url}/api/echo/headers", headers=ADMIN_PRINCIPAL, timeout=10).json()
    assert {name.lower() for name in PRINCIPAL_HEADERS} <= set(seen)


def test_a_host_outside_development_mode_passes_other_headers_on(world):
    with LocalFunctionsHost(http_app(), host_json=HOST_JSON, port=0) as host:
        seen = requests.get(f"{host.url}/api/echo/headers", headers={"X-Simgate-User": "alice", "X-Other": "1",
                                                                     **ADMIN_PRINCIPAL}, timeout=10).json()
    assert {"x-simgate-user", "x-other"} <= set(seen)
    assert not any(name.startswith("x-ms-client-principal") for name in seen)


READ_TIMEOUT = 0.5


def received_until_closed(sock: socket.socket) -> bytes:
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def test_a_request_whose_body_never_arrives_is_answered_408_once_the_read_timeout_passes():
    with LocalFunctionsHost(http_app(), host_json=HOST_JSON, port=0, read_timeout=READ_TIMEOUT) as host:
        with socket.create_connection(("127.0.0.1", host.port), timeout=10) as sock:
            started = time.monotonic()
            sock.sendall(b"POST /api/echo/headers HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\n"
                         b"Content-Length: 1000\r\n\r\n" + b"x" * 10)
            answer = received_until_closed(sock)  # the host answers, then closes the connection
            waited = time.monotonic() - started
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 ")
    assert b"application/problem+json" in head and b"connection: close" in head.lower()
    problem = json.loads(body)
    assert problem["type"] == "urn:simgate:problem:request-timeout" and problem["status"] == 408
    assert READ_TIMEOUT <= waited < 5


def test_a_connection_that_sends_nothing_is_closed_once_the_read_timeout_passes():
    with LocalFunctionsHost(http_app(), host_json=HOST_JSON, port=0, read_timeout=READ_TIMEOUT) as host:
        with socket.create_connection(("127.0.0.1", host.port), timeout=10) as sock:
            started = time.monotonic()
            sock.sendall(b"GET /api/echo/headers HTTP/1.1\r\nHost: local")  # headers that never end
            assert received_until_closed(sock) == b""
            waited = time.monotonic() - started
        # and the host still serves others
        assert requests.get(f"{host.url}/api/echo/headers", timeout=10).status_code == 200
    assert READ_TIMEOUT <= waited < 5
