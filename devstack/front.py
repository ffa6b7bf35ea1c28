"""The web app's front door locally: the sign-in page at /.auth/login/aad, everything else forwarded
to the Static Web Apps CLI.

The CLI's own sign-in page loads jQuery, Bootstrap and its images from CDNs, so without the internet
nobody can sign in with it; the CLI has no setting for that page, and it answers /.auth/* before the
routes of staticwebapp.config.json apply. The page served here needs nothing from outside and writes
the same StaticWebAppsAuthCookie as the CLI's page, so /.auth/me, /.auth/logout and the principal the
CLI passes to the API (X-MS-CLIENT-PRINCIPAL) stay the CLI's own.
"""

from __future__ import annotations

import http.client
import logging
import re
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

log = logging.getLogger("devstack.front")

SIGN_IN_PAGE = Path(__file__).with_name("sign_in.html")
SIGN_IN_PATH = re.compile(r"^/\.auth/login/aad/?$", re.IGNORECASE)
SIGN_IN_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                               "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
}
# Headers that belong to one connection, not to the request or answer passed on (RFC 9110, 7.6.1).
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
                        "te", "trailer", "trailers", "transfer-encoding", "upgrade"})
UPSTREAM_TIMEOUT = 120.0  # above the API's longest long-poll (25 s)
CHUNK = 64 * 1024


class WebFront:
    """Serves on ``bind``:``port`` and forwards to the Static Web Apps CLI at ``upstream_port``."""

    def __init__(self, port: int, upstream_port: int, bind: str = "127.0.0.1") -> None:
        self._address = (bind, port)
        self.upstream = ("127.0.0.1", upstream_port)
        self.sign_in_page = SIGN_IN_PAGE.read_bytes()
        self._server: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        return self._server.server_address[1] if self._server else self._address[1]

    def start(self) -> "WebFront":
        handler = type("Handler", (_FrontHandler,), {"front": self})
        self._server = ThreadingHTTPServer(self._address, handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.1,), name="web-front", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class _FrontHandler(BaseHTTPRequestHandler):
    front: WebFront
    protocol_version = "HTTP/1.1"
    server_version = "simgate-local-front"
    disable_nagle_algorithm = True

    def log_message(self, fmt: str, *args) -> None:
        log.debug("%s - %s", self.address_string(), fmt % args)

    def do_GET(self) -> None:  # noqa: N802
        if self.command in ("GET", "HEAD") and SIGN_IN_PATH.match(urlsplit(self.path).path):
            self._send_sign_in_page()
        else:
            self._forward()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def _send_sign_in_page(self) -> None:
        body = self.front.sign_in_page
        self.send_response(HTTPStatus.OK)
        for name, value in SIGN_IN_HEADERS.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _forward(self) -> None:
        try:
            body = self._request_body()
        except ValueError:
            return self._fail(HTTPStatus.BAD_REQUEST, "the request body's chunked encoding is broken")
        upstream = http.client.HTTPConnection(*self.front.upstream, timeout=UPSTREAM_TIMEOUT)
        try:
            upstream.putrequest(self.command, self.path, skip_host="Host" in self.headers, skip_accept_encoding=True)
            for name, value in _end_to_end(self.headers.items()):
                if name.lower() not in ("content-length", "expect"):  # the body is read already
                    upstream.putheader(name, value)
            if body or self.command in ("POST", "PUT", "PATCH"):
                upstream.putheader("Content-Length", str(len(body)))
            upstream.endheaders(body or None)
            answer = upstream.getresponse()
        except OSError as exc:
            upstream.close()
            log.warning("the Static Web Apps CLI did not answer %s %s: %s", self.command, self.path, exc)
            return self._fail(HTTPStatus.BAD_GATEWAY, "the Static Web Apps CLI did not answer; see .local/logs/swa.log")
        try:
            self._relay(answer)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            upstream.close()

    def _relay(self, answer: http.client.HTTPResponse) -> None:
        self.send_response_only(answer.status, answer.reason)
        headers = _end_to_end(answer.getheaders())
        for name, value in headers:
            self.send_header(name, value)
        bodiless = self.command == "HEAD" or answer.status in (204, 304) or 100 <= answer.status < 200
        sized = any(name.lower() == "content-length" for name, _ in headers)
        chunked = not bodiless and not sized
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if bodiless:
            return
        while piece := answer.read1(CHUNK):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            self.wfile.flush()
        if chunked:
            self.wfile.write(b"0\r\n\r\n")

    def _request_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _fail(self, status: HTTPStatus, message: str) -> None:
        body = f"{message}\n".encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True


def _end_to_end(headers) -> list[tuple[str, str]]:
    headers = list(headers)
    named = {token.strip().lower() for name, value in headers if name.lower() == "connection"
             for token in value.split(",")}
    return [(name, value) for name, value in headers if name.lower() not in HOP_BY_HOP | named]
