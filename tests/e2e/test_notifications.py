"""Notifications on the real local stack (Azurite, sshd, the local host, its notifications queue): loopback
receivers verify every delivery with the Standard Webhooks reference implementation; a job's walk arrives
once each, in order; a receiver down for 60 s gets everything once it is back; 500s are retried with the
same id; a 410 disables; a rotated secret verifies with both keys; redirects and names of private
addresses are refused without a connection to them."""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field

import pytest
import requests
from standardwebhooks.webhooks import Webhook

from devstack import PROJECT_ROOT
from shared.adapters.case_folders import read_case_folder
from tests.e2e.helpers import assert_problem, wait_for_status
from tests.e2e.test_governor import publish
from tests.loopback import guard_loopback

pytestmark = pytest.mark.e2e

DEADLINE = 180


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A webhook receiver on loopback: records every request; answers from ``answers`` in turn (then 204)."""

    answers: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    port: int = 0

    def __post_init__(self) -> None:
        self._changed = threading.Condition()
        self._server: http.server.ThreadingHTTPServer | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> None:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver._changed:
                    code, headers = receiver.answers.pop(0) if receiver.answers else (204, {})
                    receiver.received.append(Received({k.lower(): v for k, v in self.headers.items()}, body))
                    receiver._changed.notify_all()
                self.send_response(code)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

        server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.allow_reuse_address = True
        self.port = server.server_address[1]
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def wait_for(self, predicate, what: str, timeout: float = DEADLINE) -> list[dict]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(self.bodies()):
                left = deadline - time.monotonic()
                assert left > 0, f"the receiver never got {what}: {[b.get('type') for b in self.bodies()]}"
                self._changed.wait(min(left, 1))
            return self.bodies()

    def bodies(self) -> list[dict]:
        return [json.loads(r.body) for r in self.received]

    def verified(self, secret: str) -> list[tuple[str, dict]]:
        """(webhook-id, body) of every request, each verified with the reference implementation."""
        webhook = Webhook(secret)
        return [(r.headers["webhook-id"], webhook.verify(r.body, r.headers)) for r in self.received]


@pytest.fixture
def receivers():
    made: list[Receiver] = []

    def make(**options) -> Receiver:
        made.append(Receiver(**options))
        return made[-1]

    yield make
    for receiver in made:
        receiver.stop()


@pytest.fixture(scope="module")
def smoothie(local_host) -> str:
    document = read_case_folder(PROJECT_ROOT / "cases" / "smoothie")
    publish(local_host.url, "notify-smoothie", {**document, "simulators": ["test"]})
    return "notify-smoothie"


def a_user() -> dict[str, str]:
    return {"X-Simgate-User": f"notify-{uuid.uuid4().hex[:8]}"}


def api(local_host, method: str, path: str, user: dict, **options) -> requests.Response:
    return requests.request(method, f"{local_host.url}/api/{path}", headers=user, timeout=60, **options)


def subscribe(local_host, user, url, events=("job.status_changed", "job.finished"), **extra) -> dict:
    answer = api(local_host, "POST", "subscription", user, json={"url": url, "events": list(events), **extra})
    assert answer.status_code == 201, answer.text
    return answer.json()


def run_smoothie(local_host, user, case_id: str) -> str:
    created = api(local_host, "POST", "job", user, json={"case_id": case_id, "job_title": "Notified"})
    job_id = created.json()["job_id"]
    assert api(local_host, "POST", f"job/{job_id}", user).status_code == 202
    return job_id


def statuses_of(bodies: list[dict], job_id: str) -> list[str]:
    return [b["data"]["status"] for b in bodies if b["type"] == "job.status_changed" and b["data"]["job_id"] == job_id]


def deliveries(local_host, user, subscription_id: str) -> list[dict]:
    answer = api(local_host, "GET", f"subscription/{subscription_id}/deliveries", user)
    assert answer.status_code == 200, answer.text
    return answer.json()


def logged(local_host, user, subscription_id: str, predicate) -> list[dict]:
    """The delivery log once ``predicate`` holds for it (an attempt is logged once its answer is in)."""
    deadline = time.monotonic() + DEADLINE
    while not predicate(log := deliveries(local_host, user, subscription_id)):
        assert time.monotonic() < deadline, f"the delivery log never showed what was expected: {log}"
        time.sleep(0.2)
    return log


def test_a_jobs_walk_arrives_once_each_in_order_verified_and_a_sweep_finishes_once(local_host, smoothie, receivers):
    user, receiver = a_user(), receivers()
    created = subscribe(local_host, user, receiver.url, events=("job.status_changed", "job.finished",
                                                                "sweep.finished"))
    assert created["secret"].startswith("whsec_") and "secret" not in api(
        local_host, "GET", f"subscription/{created['id']}", user).json()

    job_id = run_smoothie(local_host, user, smoothie)
    receiver.wait_for(lambda bodies: any(b["type"] == "job.finished" for b in bodies), "job.finished")
    job = wait_for_status(local_host, job_id, "done", headers=user)
    unique = dict(receiver.verified(created["secret"]))  # de-duplicated by webhook-id
    bodies = list(unique.values())
    assert statuses_of(bodies, job_id) == [h["status"] for h in job["history"][1:]]  # submitted ... done, once each
    assert [b["data"]["sequence"] for b in bodies] == list(range(1, len(bodies) + 1))
    assert bodies[-1]["type"] == "job.finished" and bodies[-1]["data"]["status"] == "done"
    assert bodies[0]["data"]["links"]["job"].endswith(f"/api/job/{job_id}")

    sweep = api(local_host, "POST", "sweep", user, json={"case_id": smoothie, "title": "Two", "run": True,
                                                        "vary": {"speed_rpm": [4000, 8000]}}).json()
    finished = receiver.wait_for(lambda bodies: any(b["type"] == "sweep.finished" for b in bodies), "sweep.finished")
    event = next(b for b in finished if b["type"] == "sweep.finished")
    assert event["data"]["sweep_id"] == sweep["sweep_id"] and event["data"]["counts"] == {"done": 2}
    log = logged(local_host, user, created["id"], lambda log: any(d["event"] == "sweep.finished" for d in log))
    assert [d["event"] for d in log].count("sweep.finished") == 1
    assert all(d["outcome"] == "delivered" and d["status_code"] == 204 for d in log)


def test_with_the_receiver_down_for_60_s_every_event_arrives_once_it_is_back(local_host, smoothie, receivers):
    user, receiver = a_user(), receivers()
    created = subscribe(local_host, user, receiver.url)
    receiver.stop()  # its port stays free for it: nothing else listens there meanwhile
    down_at = time.monotonic()
    job_id = run_smoothie(local_host, user, smoothie)
    job = wait_for_status(local_host, job_id, "done", headers=user)
    failed = logged(local_host, user, created["id"], bool)
    assert {d["error_class"] for d in failed} == {"connect"} and failed[0]["next_attempt"]
    time.sleep(max(0.0, 60 - (time.monotonic() - down_at)))  # the outage itself: a length of time
    receiver.start()
    receiver.wait_for(lambda bodies: any(b["type"] == "job.finished" for b in bodies), "every event")
    bodies = list(dict(receiver.verified(created["secret"])).values())
    assert statuses_of(bodies, job_id) == [h["status"] for h in job["history"][1:]]


def test_500_three_times_then_200_is_the_same_event_and_410_disables(local_host, receivers):
    user, receiver = a_user(), receivers(answers=[(500, {})] * 3)
    created = subscribe(local_host, user, receiver.url)
    ping = api(local_host, "POST", f"subscription/{created['id']}/test", user)
    assert ping.status_code == 202
    receiver.wait_for(lambda bodies: len(bodies) == 4, "four attempts")
    ids = [r.headers["webhook-id"] for r in receiver.received]
    assert ids == [ping.json()["delivery_id"]] * 4
    assert [b["type"] for _, b in receiver.verified(created["secret"])] == ["ping"] * 4
    log = logged(local_host, user, created["id"], lambda log: len(log) == 4)
    assert [(d["status_code"], d["outcome"]) for d in reversed(log)] == [(500, "retrying")] * 3 + [(204, "delivered")]

    receiver.answers.append((410, {}))
    api(local_host, "POST", f"subscription/{created['id']}/test", user)
    deadline = time.monotonic() + DEADLINE
    while api(local_host, "GET", f"subscription/{created['id']}", user).json()["enabled"]:
        assert time.monotonic() < deadline, "a 410 did not disable the subscription"
        time.sleep(0.2)
    disabled = api(local_host, "GET", f"subscription/{created['id']}", user).json()
    assert "410" in disabled["disabled_reason"]
    assert_problem(api(local_host, "POST", f"subscription/{created['id']}/test", user), 409)


def test_a_rotated_secret_verifies_with_both_keys_during_the_overlap(local_host, receivers):
    user, receiver = a_user(), receivers()
    created = subscribe(local_host, user, receiver.url)
    rotated = api(local_host, "POST", f"subscription/{created['id']}/rotate", user).json()
    assert rotated["secret"] != created["secret"] and rotated["previous_secret_expires"]
    api(local_host, "POST", f"subscription/{created['id']}/test", user)
    receiver.wait_for(lambda bodies: len(bodies) == 1, "the ping")
    assert len(receiver.received[0].headers["webhook-signature"].split(" ")) == 2
    for secret in (created["secret"], rotated["secret"]):
        assert receiver.verified(secret)[0][1]["type"] == "ping"


def test_a_redirect_to_127_0_0_1_is_not_followed(local_host, receivers):
    user, target = a_user(), receivers()
    redirecting = receivers(answers=[(302, {"Location": target.url})] * 20)
    created = subscribe(local_host, user, redirecting.url)
    api(local_host, "POST", f"subscription/{created['id']}/test", user)
    redirecting.wait_for(lambda bodies: len(bodies) >= 2, "a second attempt")
    log = logged(local_host, user, created["id"], lambda log: len(log) >= 2)
    assert {(d["status_code"], d["error_class"]) for d in log} == {(302, "redirect")}
    assert target.received == []


def test_private_and_metadata_addresses_are_refused_without_a_connection(local_host, monkeypatch, receivers):
    user = a_user()
    real = socket.getaddrinfo
    answers = {"metadata.simgate.test": "169.254.169.254", "rebind.simgate.test": "127.0.0.1"}

    def getaddrinfo(host, port, *args, **kwargs):  # a resolver that names what the test says
        if host in answers:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    attempts = guard_loopback(monkeypatch)
    for url in ("http://10.0.0.1/hook", "http://169.254.169.254/latest/meta-data", "https://[fd00::1]/hook",
                "http://metadata.simgate.test/hook", "ftp://example.org/", "https://user:pw@example.org/"):
        problem = assert_problem(api(local_host, "POST", "subscription", user,
                                     json={"url": url, "events": ["job.finished"]}), 422)
        assert problem["errors"][0]["field"] == "url", problem
    assert "169.254.169.254" in assert_problem(api(local_host, "POST", "subscription", user, json={
        "url": "http://metadata.simgate.test/hook", "events": ["job.finished"]}), 422)["detail"]
    assert_problem(api(local_host, "POST", "subscription", user, json={"url": "https://example.org/",
                                                                       "events": ["job.started"]}), 422)
    assert api(local_host, "GET", "subscription", user).json() == []  # nothing stored on a refusal

    # DNS rebinding: the name was loopback when subscribing and is the metadata address at delivery
    receiver = receivers()
    created = subscribe(local_host, user, f"http://rebind.simgate.test:{receiver.port}/hook")
    answers["rebind.simgate.test"] = "169.254.169.254"
    api(local_host, "POST", f"subscription/{created['id']}/test", user)
    log = logged(local_host, user, created["id"], bool)
    assert log[0]["error_class"] == "refused_address" and "169.254.169.254" in log[0]["error"]
    assert attempts == [] and receiver.received == []
