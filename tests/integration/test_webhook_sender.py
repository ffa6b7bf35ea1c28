"""The webhook sender against real receivers on loopback: what arrives, how answers are classed, and that
it connects nowhere but to an address it has just checked (no network beyond loopback is touched)."""

from __future__ import annotations

import http.server
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from devstack.keys import TlsFiles, ensure_tls_certificate
from devstack.processes import free_port
from shared.adapters.webhook_sender import HttpWebhookSender
from shared.domain.addresses import AddressRefused, Target, parse_target
from tests.loopback import LoopbackServer, guard_loopback

pytestmark = pytest.mark.integration

BODY = b'{"type":"job.finished","data":{"job_id":"j-1"}}'
SIGNED = {"webhook-id": "msg_1", "webhook-timestamp": "1777777777", "webhook-signature": "v1,c2lnbmF0dXJl"}


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver(http.server.BaseHTTPRequestHandler):
    """Records each POST, then answers ``status`` with ``answer_headers`` and ``answer_body``."""

    protocol_version = "HTTP/1.1"
    status = 204
    answer_headers: dict[str, str] = {}
    answer_body = b""
    received: list[Received]

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append(Received(self.path, dict(self.headers), body))
        self.answer()

    def answer(self) -> None:
        self.send_response(self.status)
        for name, value in self.answer_headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(self.answer_body)))
        self.end_headers()
        self.wfile.write(self.answer_body)


def receiver_class(status: int = 204, headers: dict[str, str] | None = None, body: bytes = b"",
                   base: type[Receiver] = Receiver) -> type[Receiver]:
    return type("AReceiver", (base,), {"status": status, "answer_headers": headers or {}, "answer_body": body,
                                       "received": []})


@pytest.fixture
def serve() -> Iterator[Callable[[type[http.server.BaseHTTPRequestHandler]], LoopbackServer]]:
    servers: list[LoopbackServer] = []

    def start(handler: type[http.server.BaseHTTPRequestHandler]) -> LoopbackServer:
        servers.append(LoopbackServer(handler))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch) -> Iterator[list[tuple]]:
    """Every connect in these tests must go to loopback: any other fails the test where it happens (and
    is listed, so a test can also show none was even attempted)."""
    attempts = guard_loopback(monkeypatch)
    yield attempts
    assert attempts == [], f"connects beyond loopback: {attempts}"


class Names:
    """A resolver from a table: each name's answers in turn (the last one repeats), counting lookups."""

    def __init__(self, table: dict[str, list[list[str]]]) -> None:
        self.table = table
        self.lookups: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        answers = self.table[host]
        return answers.pop(0) if len(answers) > 1 else answers[0]


def target(url: str) -> Target:
    return parse_target(url, allow_loopback_http=True)


def port_of(server: LoopbackServer) -> int:
    return server.server.server_address[1]


def received(server: LoopbackServer) -> list[Received]:
    return server.server.RequestHandlerClass.received


# --- what arrives ---


def test_the_receiver_gets_the_body_the_headers_and_the_name_as_host(serve):
    receiver = serve(receiver_class(204))
    names = Names({"receiver.test": [["127.0.0.1"]]})
    sender = HttpWebhookSender(allow_loopback=True, resolve=names)
    hook = target(f"http://Receiver.test:{port_of(receiver)}/hooks/simgate?team=a")

    result = sender.send(hook, {**SIGNED, "content-type": "text/plain"}, BODY)

    assert result.delivered and result.status == 204 and result.error == ""
    assert result.address == "127.0.0.1" and result.latency_ms > 0
    (request,) = received(receiver)
    assert request.path == "/hooks/simgate?team=a" and request.body == BODY
    assert {name: request.headers[name] for name in SIGNED} == SIGNED
    assert request.headers["Host"] == f"receiver.test:{port_of(receiver)}"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == "simgate-webhooks/1"
    assert names.lookups == ["receiver.test"]  # resolved once, then connected to the address


def test_a_literal_loopback_address_is_sent_to_with_the_system_resolver(serve):
    receiver = serve(receiver_class(200, body=b"thanks: a secret of the receiver"))
    result = HttpWebhookSender(allow_loopback=True).send(target(receiver.url + "/"), SIGNED, BODY)
    assert result.delivered and result.status == 200 and result.address == "127.0.0.1"
    assert "secret" not in result.model_dump_json()
    assert received(receiver)[0].headers["Host"] == f"127.0.0.1:{port_of(receiver)}"


# --- how answers are classed ---


@pytest.mark.parametrize("status, headers, error_class, wait", [
    (200, {}, None, None),
    (202, {}, None, None),
    (410, {}, "gone", None),
    (429, {"Retry-After": "7"}, "rate_limited", 7.0),
    (429, {}, "rate_limited", None),
    (503, {"Retry-After": "7"}, "unavailable", 7.0),
    (503, {"Retry-After": "whenever"}, "unavailable", None),
    (500, {"Retry-After": "7"}, "http_status", None),
    (400, {}, "http_status", None),
    (404, {}, "http_status", None),
])
def test_each_answer_is_classed(serve, status, headers, error_class, wait):
    receiver = serve(receiver_class(status, headers, body=b"receiver's private text"))
    result = HttpWebhookSender(allow_loopback=True).send(target(receiver.url + "/"), SIGNED, BODY)
    assert (result.status, result.error_class, result.retry_after_seconds) == (status, error_class, wait)
    assert result.address == "127.0.0.1"
    assert "private text" not in result.error
    assert (str(status) in result.error) == (error_class is not None)


def test_a_redirect_is_an_answer_and_never_followed(serve):
    elsewhere = serve(receiver_class(204))
    redirecting = serve(receiver_class(302, {"Location": f"{elsewhere.url}/steal?token=s3cret"}))

    result = HttpWebhookSender(allow_loopback=True).send(target(redirecting.url + "/"), SIGNED, BODY)

    assert (result.status, result.error_class) == (302, "redirect")
    assert "127.0.0.1" in result.error and "s3cret" not in result.error and "steal" not in result.error
    assert len(received(redirecting)) == 1
    assert received(elsewhere) == []


def test_a_huge_answer_is_not_read_whole(serve):
    total = 1 << 30
    cut = threading.Event()
    sent = [0]

    class Flooding(Receiver):
        received = []

        def answer(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(total))
            self.end_headers()
            chunk = b"flood" * 13_000
            try:
                while sent[0] < total:
                    self.wfile.write(chunk)
                    sent[0] += len(chunk)
            except OSError:
                cut.set()

    receiver = serve(Flooding)
    started = time.monotonic()
    result = HttpWebhookSender(allow_loopback=True, timeout_seconds=10).send(target(receiver.url + "/"), SIGNED,
                                                                             BODY)
    assert result.delivered and result.status == 200 and "flood" not in result.model_dump_json()
    assert time.monotonic() - started < 5
    assert cut.wait(10), "the receiver was never cut off"
    assert sent[0] < total


# --- receivers that fail ---


def test_a_receiver_slower_than_the_timeout_is_a_timeout(serve):
    release = threading.Event()

    class Stalling(Receiver):
        received = []

        def answer(self) -> None:
            release.wait(30)

    receiver = serve(Stalling)
    started = time.monotonic()
    try:
        result = HttpWebhookSender(allow_loopback=True, timeout_seconds=1).send(target(receiver.url + "/"), SIGNED,
                                                                                BODY)
    finally:
        release.set()
    assert (result.status, result.error_class, result.address) == (None, "timeout", "127.0.0.1")
    assert result.error == "no answer within 1s"
    assert time.monotonic() - started < 5
    assert len(Stalling.received) == 1


def test_a_receiver_dripping_its_answer_is_cut_at_the_deadline(serve):
    # Each byte comes well within the socket timeout; only the whole attempt's deadline ends it.
    stop = threading.Event()

    class Dripping(Receiver):
        received = []

        def answer(self) -> None:
            with_headers = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 1000
            try:
                for byte in with_headers:
                    if stop.wait(0.1):
                        return
                    self.wfile.write(bytes([byte]))
            except OSError:
                pass

    receiver = serve(Dripping)
    started = time.monotonic()
    try:
        result = HttpWebhookSender(allow_loopback=True, timeout_seconds=1).send(target(receiver.url + "/"), SIGNED,
                                                                                BODY)
    finally:
        stop.set()
    assert (result.status, result.error_class) == (None, "timeout")
    assert time.monotonic() - started < 3


def test_a_closed_port_is_a_connect_failure():
    result = HttpWebhookSender(allow_loopback=True).send(target(f"http://127.0.0.1:{free_port()}/"), SIGNED, BODY)
    assert (result.status, result.error_class, result.address) == (None, "connect", "127.0.0.1")
    assert result.error == "could not connect: Connection refused"


def test_a_receiver_that_hangs_up_is_a_connect_failure(serve):
    class HangingUp(Receiver):
        received = []

        def answer(self) -> None:
            self.close_connection = True

    receiver = serve(HangingUp)
    result = HttpWebhookSender(allow_loopback=True).send(target(receiver.url + "/"), SIGNED, BODY)
    assert (result.status, result.error_class) == (None, "connect")
    assert "\n" not in result.error


def test_a_name_that_does_not_resolve_is_a_dns_failure():
    sender = HttpWebhookSender(allow_loopback=True, resolve=Names({}))
    hook = target("https://gone.test/")
    assert sender.send(hook, SIGNED, BODY).error_class == "dns"
    with pytest.raises(AddressRefused, match="gone.test does not resolve"):
        sender.check(hook)


# --- only ever to an address just checked ---


def test_the_guard_stops_a_connect_beyond_loopback(loopback_only):
    with pytest.raises(AssertionError):
        socket.create_connection(("10.0.0.1", 80), timeout=0.1)
    with pytest.raises(AssertionError):
        socket.socket().connect(("169.254.169.254", 80))
    assert loopback_only == [("10.0.0.1", 80), ("169.254.169.254", 80)]
    loopback_only.clear()


def test_a_name_for_the_metadata_address_is_refused_at_check_and_at_send(loopback_only):
    sender = HttpWebhookSender(allow_loopback=True, resolve=Names({"metadata.test": [["169.254.169.254"]]}))
    hook = target("https://metadata.test/latest/meta-data/")

    with pytest.raises(AddressRefused) as refused:
        sender.check(hook)
    assert refused.value.detail == "metadata.test resolves to 169.254.169.254, which is link-local (cloud metadata)"
    assert refused.value.errors[0]["field"] == "url"

    result = sender.send(hook, SIGNED, BODY)
    assert (result.status, result.error_class, result.address) == (None, "refused_address", None)
    assert "169.254.169.254" in result.error
    assert loopback_only == []


def test_a_name_rebound_after_its_check_is_refused_at_send(serve, loopback_only):
    receiver = serve(receiver_class(204))
    names = Names({"rebind.test": [["127.0.0.1"], ["10.0.0.1"]]})
    sender = HttpWebhookSender(allow_loopback=True, resolve=names)
    hook = target(f"http://rebind.test:{port_of(receiver)}/")

    assert sender.check(hook) == ["127.0.0.1"]
    result = sender.send(hook, SIGNED, BODY)

    assert (result.status, result.error_class) == (None, "refused_address")
    assert result.error == "rebind.test resolves to 10.0.0.1, which is a private address"
    assert names.lookups == ["rebind.test", "rebind.test"]
    assert loopback_only == [] and received(receiver) == []


def test_loopback_is_refused_unless_allowed(serve):
    receiver = serve(receiver_class(204))
    sender = HttpWebhookSender(allow_loopback=False, resolve=Names({"local.test": [["127.0.0.1"]]}))
    hook = target(f"https://local.test:{port_of(receiver)}/")
    with pytest.raises(AddressRefused, match="local.test resolves to 127.0.0.1, which is a loopback address"):
        sender.check(hook)
    assert sender.send(hook, SIGNED, BODY).error_class == "refused_address"
    assert received(receiver) == []


@pytest.mark.parametrize("allow_loopback", [True, False])
def test_http_goes_only_to_loopback_and_only_when_allowed(allow_loopback, loopback_only):
    sender = HttpWebhookSender(allow_loopback=allow_loopback, resolve=Names({"public.test": [["8.8.8.8"]]}))
    hook = target("http://public.test/")
    with pytest.raises(AddressRefused, match="http is only allowed to loopback addresses here"):
        sender.check(hook)
    assert sender.send(hook, SIGNED, BODY).error_class == "refused_address"
    assert loopback_only == []


# --- https: the connection goes to the address, the certificate is checked against the name ---


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory) -> TlsFiles:
    return ensure_tls_certificate(tmp_path_factory.mktemp("tls"))  # for localhost and 127.0.0.1


@pytest.fixture
def tls_receiver(serve, tls_files) -> LoopbackServer:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tls_files.cert, tls_files.key)

    class TlsReceiver(Receiver):
        received = []

        def setup(self) -> None:
            self.request = context.wrap_socket(self.request, server_side=True)
            super().setup()

    server = serve(TlsReceiver)
    server.server.handle_error = lambda request, address: None  # refused handshakes are the point here
    return server


def test_https_is_delivered_when_the_certificate_names_the_host(tls_receiver, tls_files):
    sender = HttpWebhookSender(allow_loopback=True, ca_certs=str(tls_files.cert),
                               resolve=Names({"localhost": [["127.0.0.1"]]}))
    result = sender.send(target(f"https://localhost:{port_of(tls_receiver)}/hook"), SIGNED, BODY)
    assert result.delivered and result.address == "127.0.0.1"
    (request,) = received(tls_receiver)
    assert request.body == BODY and request.headers["Host"] == f"localhost:{port_of(tls_receiver)}"


def test_https_checks_the_certificate_against_the_name_not_the_address(tls_receiver, tls_files):
    # The certificate names 127.0.0.1, the address connected to, but not other.test, the name asked for.
    sender = HttpWebhookSender(allow_loopback=True, ca_certs=str(tls_files.cert),
                               resolve=Names({"other.test": [["127.0.0.1"]]}))
    result = sender.send(target(f"https://other.test:{port_of(tls_receiver)}/hook"), SIGNED, BODY)
    assert (result.status, result.error_class) == (None, "tls")
    assert "other.test" in result.error
    assert received(tls_receiver) == []


def test_https_refuses_a_certificate_it_does_not_trust(tls_receiver):
    sender = HttpWebhookSender(allow_loopback=True, resolve=Names({"localhost": [["127.0.0.1"]]}))
    result = sender.send(target(f"https://localhost:{port_of(tls_receiver)}/hook"), SIGNED, BODY)
    assert (result.status, result.error_class) == (None, "tls")
    assert "certificate verify failed" in result.error
    assert received(tls_receiver) == []
