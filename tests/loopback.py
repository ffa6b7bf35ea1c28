"""Loopback stand-ins for tests: a small HTTP server for simgate's endpoints, a TCP gate for outages."""

from __future__ import annotations

import contextlib
import http.server
import ipaddress
import json
import socket
import threading


class LoopbackServer:
    """Serves ``handler_class`` in a thread from construction until ``close``."""

    def __init__(self, handler_class: type[http.server.BaseHTTPRequestHandler]) -> None:
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler_class)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class JsonHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def read_json(self):
        return json.loads(self.rfile.read(int(self.headers["Content-Length"])))

    def answer(self, code: int, document: dict) -> None:
        data = json.dumps(document).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class TcpGate:
    """A TCP forwarder on a free loopback port to ``target_port`` that can be shut (connections refused
    and the open ones cut) and opened again on the same port: a network outage between two parts."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self._connections: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener = self._listen(0)
        self.port = self._listener.getsockname()[1]

    def _listen(self, port: int) -> socket.socket:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(64)
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return listener

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # shut
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._connections += [client, upstream]
            pipes = [2]  # the pipes still running for this pair: the last one to end closes both sockets
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink, pipes), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, pipes: list[int]) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
            with self._lock:
                pipes[0] -= 1
                last = pipes[0] == 0
                if last:
                    self._connections = [c for c in self._connections if c not in (source, sink)]
            if last:  # a gate that forwards thousands of requests must not keep their descriptors
                source.close()
                sink.close()

    def shut(self) -> None:
        self._listener.close()
        with self._lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()

    def open(self) -> None:
        self._listener = self._listen(self.port)

    def close(self) -> None:
        self.shut()


def guard_loopback(monkeypatch) -> list[tuple]:
    """Make every connect of this process beyond loopback fail loudly where it happens (AssertionError),
    and list it: a test of refused addresses shows that none was even attempted."""
    attempts: list[tuple] = []
    real_connect, real_create_connection = socket.socket.connect, socket.create_connection

    def guard(address: tuple) -> None:
        try:
            loopback = ipaddress.ip_address(address[0]).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            attempts.append(address)
            raise AssertionError(f"a connect to {address} beyond loopback")

    def connect(sock: socket.socket, address: tuple) -> None:
        guard(address)
        real_connect(sock, address)

    def create_connection(address: tuple, *args, **kwargs) -> socket.socket:
        guard(address)
        return real_create_connection(address, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    return attempts
