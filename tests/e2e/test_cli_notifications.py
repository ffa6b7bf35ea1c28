"""The real CLI, as a process, against the local host serving the real app and its notifier, with a
loopback receiver: a subscription made, tested with --wait (the receiver gets a signed ping), its
deliveries listed and it deleted; and a receiver that fails at first: the failure said, the retry seen
delivered, one event sent again."""

from __future__ import annotations

import http.server
import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid

import pytest
from standardwebhooks.webhooks import Webhook

from devstack import PROJECT_ROOT
from shared.api.models import DeliveryAttempt, SubscriptionInfo, SubscriptionSecret
from tests.loopback import LoopbackServer

pytestmark = pytest.mark.e2e


class Receiver(http.server.BaseHTTPRequestHandler):
    """Records each POST (its headers and body) and answers with the next of its server's ``codes``
    (then 200)."""

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with self.server.lock:
            self.server.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            code = self.server.codes.pop(0) if self.server.codes else 200
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def receiver():
    server = LoopbackServer(Receiver)
    server.server.received, server.server.codes, server.server.lock = [], [], threading.Lock()
    yield server
    server.close()


@pytest.fixture(scope="module")
def simgate(local_host):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SIMGATE_")}
    environment.update(SIMGATE_URL=local_host.url, SIMGATE_USER=f"hooks-{uuid.uuid4().hex[:8]}", NO_COLOR="1")

    def run(*args: str, expect: int = 0) -> subprocess.CompletedProcess:
        done = subprocess.run([sys.executable, "-m", "cli", *args], cwd=PROJECT_ROOT, env=environment,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == expect, f"simgate {' '.join(args)}: {done.returncode}\n{done.stdout}\n{done.stderr}"
        assert "Traceback" not in done.stderr
        return done

    return run


def eventually(condition, seconds: float = 60, what: str = "the condition"):
    """``condition()``'s first true value, asked every 0.2 s until the deadline."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {seconds} s")


def deliveries(simgate, sub: str) -> list[DeliveryAttempt]:
    return [DeliveryAttempt.model_validate(a) for a in json.loads(simgate("deliveries", sub, "--json").stdout)]


def test_a_subscription_tested_with_wait_gets_a_signed_ping(simgate, receiver):
    made = simgate("subscribe", f"{receiver.url}/hook", "--events", "job.finished,job.status_changed",
                   "--description", "e2e receiver")
    sub = re.search(r"^subscription  (wh-\S+)$", made.stdout, re.MULTILINE).group(1)
    secret = re.search(r"^secret        (whsec_\S+)$", made.stdout, re.MULTILINE).group(1)
    assert "keep this secret: it is shown only now" in made.stdout

    tested = simgate("subscription-test", sub, "--wait")
    delivery_id = tested.stdout.strip()
    assert re.search(rf"^{delivery_id} delivered: answered 200 in \d+ ms$", tested.stderr, re.MULTILINE)
    (headers, body), = receiver.server.received
    assert headers["webhook-id"] == delivery_id and headers["webhook-signature"].startswith("v1,")
    assert Webhook(secret).verify(body, headers)["type"] == "ping"

    (attempt,) = deliveries(simgate, sub)
    assert (attempt.delivery_id, attempt.event, attempt.outcome, attempt.status_code) == (
        delivery_id, "ping", "delivered", 200)
    table = simgate("deliveries", sub).stdout.splitlines()
    assert re.split(r" {2,}", table[1].strip())[1:] == ["ping", "—", "1", "1", "200",
                                                         f"{attempt.latency_ms:.0f} ms", "delivered", delivery_id]
    listed = simgate("subscriptions").stdout
    assert sub in listed and "e2e receiver" in listed and secret not in listed

    simgate("unsubscribe", sub, "--yes")
    assert sub not in [s.id for s in map(SubscriptionInfo.model_validate,
                                         json.loads(simgate("subscriptions", "--json").stdout))]


def test_a_failing_receiver_is_said_so_then_the_retry_and_a_redelivery_get_through(simgate, receiver):
    receiver.server.codes = [500, 500]  # two failures: the CLI, reading every second, sees one of them
    made = SubscriptionSecret.model_validate_json(simgate("subscribe", f"{receiver.url}/flaky", "--json").stdout)

    failed = simgate("subscription-test", made.id, "--wait", expect=1)
    delivery_id = failed.stdout.strip()
    assert f"simgate: {delivery_id} was not delivered" in failed.stderr
    assert re.search(r"attempt [12]: answered 500 \(http_status\); tried again (now|in \d+ s)", failed.stderr)

    # the e2e schedule tries again after about 1 s, then 2 s
    retried = eventually(lambda: [a for a in deliveries(simgate, made.id) if a.outcome == "delivered"],
                         what="the retry")
    assert [(a.delivery_id, a.attempt, a.redelivery) for a in retried] == [(delivery_id, 3, False)]

    simgate("deliveries", made.id, "--redeliver", delivery_id)
    eventually(lambda: any(a.redelivery for a in deliveries(simgate, made.id)), what="the redelivery")
    assert [h["webhook-id"] for h, _ in receiver.server.received] == [delivery_id] * 4
    shown = simgate("deliveries", made.id).stdout
    assert "(redelivery)" in shown and "retrying" in shown
    simgate("unsubscribe", made.id, "--yes")

