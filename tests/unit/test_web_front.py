"""devstack.front: the sign-in page at /.auth/login/aad, everything else passed on to the Static Web
Apps CLI as it is (here a small stand-in for the CLI on a free port)."""

from __future__ import annotations

import http.client
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from devstack.front import SIGN_IN_PAGE, WebFront
from devstack.processes import free_port


class _FakeCli(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        echo = json.dumps({"method": self.command, "path": self.path, "host": self.headers.get("Host"),
                           "cookie": self.headers.get("Cookie"), "connection": self.headers.get("Connection"),
                           "body": self.rfile.read(length).decode() if length else ""}).encode()
        if self.path == "/not-modified":
            self.send_response(304)
            self.send_header("ETag", '"1"')
            self.end_headers()
        elif self.path == "/streamed":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for piece in (b"first,", b"second"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_response(201 if self.command == "POST" else 200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Set-Cookie", "a=1; Path=/")
            self.send_header("Set-Cookie", "b=2; Path=/")
            self.send_header("Content-Length", str(len(echo)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(echo)

    do_POST = do_PATCH = do_DELETE = do_HEAD = do_GET


@pytest.fixture
def front():
    cli = ThreadingHTTPServer(("127.0.0.1", 0), _FakeCli)
    threading.Thread(target=cli.serve_forever, args=(0.1,), daemon=True).start()
    started = WebFront(0, cli.server_address[1]).start()
    yield started
    started.stop()
    cli.shutdown()
    cli.server_close()


def ask(front, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", front.port, timeout=10)
    connection.request(method, path, body=body, headers={"Host": "localhost:4280", **(headers or {})})
    answer = connection.getresponse()
    return answer, answer.read(), connection


@pytest.mark.parametrize("path", ["/.auth/login/aad", "/.auth/login/aad?post_login_redirect_uri=%2Fjobs",
                                  "/.auth/login/AAD/"])
def test_the_sign_in_page_is_served_by_the_front(front, path):
    answer, body, _ = ask(front, "GET", path)
    assert answer.status == 200 and body == SIGN_IN_PAGE.read_bytes()
    assert answer.getheader("Content-Type") == "text/html; charset=utf-8"
    assert "default-src 'none'" in answer.getheader("Content-Security-Policy")
    assert b"StaticWebAppsAuthCookie" in body and b"https://" not in body  # nothing from outside


@pytest.mark.parametrize("path", ["/.auth/me", "/.auth/logout", "/.auth/login/github", "/.auth/login/aad/callback",
                                  "/", "/cases?q=x", "/api/job/1/status?wait=5"])
def test_everything_else_goes_to_the_cli_with_its_host_and_cookies(front, path):
    answer, body, _ = ask(front, "GET", path, headers={"Cookie": "StaticWebAppsAuthCookie=e30="})
    seen = json.loads(body)
    assert answer.status == 200 and seen["path"] == path and seen["method"] == "GET"
    assert seen["host"] == "localhost:4280" and seen["cookie"] == "StaticWebAppsAuthCookie=e30="
    assert answer.msg.get_all("Set-Cookie") == ["a=1; Path=/", "b=2; Path=/"]


def test_bodies_methods_and_kept_alive_connections(front):
    answer, body, connection = ask(front, "POST", "/api/job", body=b'{"case_id": "smoothie"}',
                                   headers={"Content-Type": "application/json", "Connection": "keep-alive"})
    assert answer.status == 201 and json.loads(body)["body"] == '{"case_id": "smoothie"}'
    assert json.loads(body)["connection"] is None  # connection headers stay between the two ends
    connection.request("PATCH", "/api/job/1", body=b"{}", headers={"Host": "localhost:4280"})
    again = connection.getresponse()
    assert again.status == 200 and json.loads(again.read())["method"] == "PATCH"
    connection.request("DELETE", "/api/job/1", headers={"Host": "localhost:4280"})
    assert json.loads(connection.getresponse().read())["method"] == "DELETE"


def test_answers_without_a_body_and_streamed_ones(front):
    answer, body, _ = ask(front, "HEAD", "/")
    assert answer.status == 200 and body == b"" and int(answer.getheader("Content-Length")) > 0
    answer, body, _ = ask(front, "GET", "/not-modified")
    assert answer.status == 304 and body == b"" and answer.getheader("ETag") == '"1"'
    answer, body, _ = ask(front, "GET", "/streamed")
    assert answer.status == 200 and body == b"first,second"


def test_a_cli_that_does_not_answer_is_a_502():
    front = WebFront(0, free_port()).start()
    try:
        answer, body, _ = ask(front, "GET", "/cases")
        assert answer.status == 502 and b"swa.log" in body
    finally:
        front.stop()
