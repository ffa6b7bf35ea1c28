"""Posts one webhook to a subscriber's URL, closed to server-side request forgery.

Every delivery resolves the name and checks every address again (a name that was public when the
subscription was made may point at 169.254.169.254 now: DNS rebinding), then connects to the first
checked address itself, so nothing resolves the name a second time; TLS still sends and verifies the
name. Redirects are answers, never followed; the receiver's body is drained a little and dropped.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from urllib.parse import urlsplit

import urllib3.exceptions
from urllib3 import HTTPHeaderDict
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.util.ssl_match_hostname import CertificateError

from shared.domain.addresses import (
    AddressRefused,
    DeliveryResult,
    ErrorClass,
    Target,
    check_addresses,
    retry_after,
    url_refused,
)
from shared.services.ports import WebhookSender

USER_AGENT = "simgate-webhooks/1"
_DEFAULT_PORTS = {"https": 443, "http": 80}
# What can go wrong between simgate and the receiver once connecting starts: the receiver's failures.
_EXCHANGE_ERRORS = (OSError, http.client.HTTPException, urllib3.exceptions.HTTPError, CertificateError)
_STATUS_CLASSES: dict[int, ErrorClass] = {410: "gone", 429: "rate_limited", 503: "unavailable"}


def resolve_host(host: str, port: int) -> list[str]:
    """The addresses the system resolver gives for ``host``, in its order of preference (an address
    resolves to itself)."""
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


class HttpWebhookSender(WebhookSender):
    def __init__(self, *, allow_loopback: bool, timeout_seconds: float = 15.0,
                 resolve: Callable[[str, int], list[str]] | None = None, ca_certs: str | None = None,
                 max_response_bytes: int = 4096) -> None:
        self._allow_loopback = allow_loopback
        self._timeout = timeout_seconds
        self._resolve = resolve or resolve_host
        self._ca_certs = ca_certs
        self._max_response_bytes = max_response_bytes

    def check(self, target: Target) -> list[str]:
        try:
            addresses = self._resolve(target.host, target.port)
        except OSError:
            raise url_refused(f"{target.host} does not resolve") from None
        return self._allowed(target, addresses)

    def send(self, target: Target, headers: dict[str, str], body: bytes) -> DeliveryResult:
        started = time.monotonic()
        try:
            addresses = self._resolve(target.host, target.port)
        except OSError:
            return DeliveryResult(error_class="dns", error=f"{target.host} does not resolve",
                                  latency_ms=_since(started))
        try:
            address = self._allowed(target, addresses)[0]
        except AddressRefused as refused:
            return DeliveryResult(error_class="refused_address", error=refused.detail, latency_ms=_since(started))
        return self._post(target, address, headers, body, started)

    def _allowed(self, target: Target, addresses: list[str]) -> list[str]:
        checked = check_addresses(target.host, addresses, allow_loopback=self._allow_loopback)
        if target.scheme == "http" and not (
                self._allow_loopback and all(ipaddress.ip_address(a).is_loopback for a in checked)):
            raise url_refused("http is only allowed to loopback addresses here")
        return checked

    def _post(self, target: Target, address: str, headers: dict[str, str], body: bytes,
              started: float) -> DeliveryResult:
        connection = self._connection(target, address)
        with contextlib.closing(connection), _deadline(connection, self._timeout) as expired:
            try:
                status, answer = self._exchange(connection, target, headers, body)
            except _EXCHANGE_ERRORS as exc:
                error_class, error = _failure(exc, expired=expired.is_set(), seconds=self._timeout)
                return DeliveryResult(error_class=error_class, error=error, latency_ms=_since(started),
                                      address=address)
        return _outcome(status, answer, latency_ms=_since(started), address=address)

    def _connection(self, target: Target, address: str) -> HTTPConnection:
        """A connection to ``address``; for https, SNI and the certificate check use the target's name."""
        if target.scheme == "http":
            return HTTPConnection(address, target.port, timeout=self._timeout)
        return HTTPSConnection(address, target.port, timeout=self._timeout, server_hostname=target.host,
                               assert_hostname=target.host, cert_reqs="CERT_REQUIRED", ca_certs=self._ca_certs)

    def _exchange(self, connection: HTTPConnection, target: Target, headers: dict[str, str],
                  body: bytes) -> tuple[int, HTTPHeaderDict]:
        connection.connect()
        connection.request("POST", target.path, body=body, headers=_request_headers(target, headers),
                           preload_content=False)
        with connection.getresponse() as response:
            with contextlib.suppress(*_EXCHANGE_ERRORS):  # the status has arrived and decides
                response.read(self._max_response_bytes, decode_content=False)
            return response.status, response.headers


@contextlib.contextmanager
def _deadline(connection: HTTPConnection, seconds: float) -> Iterator[threading.Event]:
    """Cut ``connection`` when ``seconds`` have passed (the event says it was). The socket timeout bounds
    each wait, not their sum: a receiver dripping a byte at a time would hold a delivery for as long as it
    liked. The TCP connect itself, before there is a socket to cut, is bounded by the socket timeout."""
    expired = threading.Event()

    def cut() -> None:
        expired.set()
        if (sock := connection.sock) is not None:
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain socket's: an SSLSocket's would unwrap

    timer = threading.Timer(seconds, cut)
    timer.daemon = True
    timer.start()
    try:
        yield expired
    finally:
        timer.cancel()


def _request_headers(target: Target, headers: dict[str, str]) -> dict[str, str]:
    host = f"[{target.host}]" if ":" in target.host else target.host
    if target.port != _DEFAULT_PORTS[target.scheme]:
        host += f":{target.port}"
    own = {"Host": host, "Content-Type": "application/json", "User-Agent": USER_AGENT}
    mine = {name.lower() for name in own}
    return {**{k: v for k, v in headers.items() if k.lower() not in mine}, **own}


def _outcome(status: int, answer: HTTPHeaderDict, *, latency_ms: float, address: str) -> DeliveryResult:
    if 200 <= status < 300:
        return DeliveryResult(status=status, latency_ms=latency_ms, address=address)
    if 300 <= status < 400:
        error_class: ErrorClass = "redirect"
        error = f"HTTP {status}: a redirect to {_where(answer.get('Location'))}, not followed"
    else:
        error_class = _STATUS_CLASSES.get(status, "http_status")
        error = f"HTTP {status}"
    wait = retry_after(answer.get("Retry-After"), datetime.now(timezone.utc)) if status in (429, 503) else None
    return DeliveryResult(status=status, latency_ms=latency_ms, error_class=error_class, error=error,
                          retry_after_seconds=wait, address=address)


def _where(location: str | None) -> str:
    """A redirect's destination host only: the rest of a Location may carry anything."""
    if not location:
        return "nowhere (no Location)"
    try:
        host = urlsplit(location).hostname
    except ValueError:
        return "an unparseable Location"
    return host[:100] if host else "the same host"


def _failure(exc: BaseException, *, expired: bool, seconds: float) -> tuple[ErrorClass, str]:
    """The class and one line for an exchange that failed; ``expired``: the deadline cut it short."""
    # NewConnectionError is a ConnectTimeoutError too (urllib3 keeps it so for compatibility): test it first.
    if isinstance(exc, urllib3.exceptions.NewConnectionError):
        return "connect", f"could not connect: {_reason(exc)}"
    if expired or isinstance(exc, (TimeoutError, urllib3.exceptions.TimeoutError)):
        return "timeout", f"no answer within {seconds:g}s"
    if isinstance(exc, (ssl.SSLError, urllib3.exceptions.SSLError, CertificateError)):
        return "tls", f"TLS failed: {_reason(exc)}"
    return "connect", f"the connection failed: {_reason(exc)}"


def _reason(exc: BaseException) -> str:
    """The innermost cause's own words, one short line (urllib3's wrappers add object reprs)."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return (text.strip().splitlines() or [type(exc).__name__])[0][:200]


def _since(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)
