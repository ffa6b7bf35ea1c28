"""A local Azure Functions host for function_app.app.

It reads the app's registered functions (no routing table of its own) and
- serves every HTTP trigger at its route, methods and the routePrefix of host.json, many requests
  at once (one thread per connection);
- feeds Service Bus-triggered functions from an Azure Storage queue of the same name in Azurite,
  with peek-lock semantics: a message is invisible while processed, deleted on success, visible
  again after a back-off on failure, its delivery count passed in, and moved to the dead-letter
  queue after the maximum deliveries (where a ``<queue>/$deadletterqueue`` trigger receives it);
- runs timer-triggered functions on their NCRONTAB schedule.

It stands in for the platform's front end too. App Service Authentication strips client-sent
``X-MS-CLIENT-PRINCIPAL*`` headers and sets them only for callers it authenticated, among them the
linked static site. Here, requests on the public port (where the CLI, agents and curl come) lose
those headers unless development mode is on; a second loopback port, reserved for the local Static
Web Apps CLI's ``/api`` proxy, keeps them (the CLI sets the signed-in user's principal). So the
stacks that run this host set ``WEBSITE_AUTH_ENABLED`` as App Service does (``PLATFORM_ENVIRONMENT``).
A connection on which nothing arrives for ``read_timeout`` seconds is dropped; a request whose body
stalls that long is answered 408.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import os
import re
import threading
import uuid
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qsl, urlsplit

import azure.functions as func

from devstack.queue_pump import LOCK_SECONDS, QueuePump
from devstack.routes import compile_route
from devstack.timers import TimerRunner
from shared.errors import BadRequest, MethodNotAllowed, NotFound, PayloadTooLarge, RequestTimeout, SimgateError
from shared.http import problem_response

log = logging.getLogger("devstack.host")

_SETTING_REFERENCE = re.compile(r"%([^%]+)%")
MAX_REQUEST_BYTES = 100 * 1024 * 1024  # the Functions host's default request size limit
READ_TIMEOUT_SECONDS = 30.0  # Kestrel's (the Functions host's) request headers timeout
CLIENT_PRINCIPAL_HEADERS = "x-ms-client-principal"  # the prefix of -ID, -NAME, -IDP too
# What App Service puts in the environment of an app whose authentication is on: this host strips
# client principals as that feature does.
PLATFORM_ENVIRONMENT = {"WEBSITE_AUTH_ENABLED": "True"}


def resolve_setting_references(value: str) -> str:
    """Binding expressions such as ``%JOBS_QUEUE%`` read app settings, as in Azure."""
    def lookup(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise KeyError(f"binding expression %{name}% names an app setting that is not set")
        return os.environ[name]

    return _SETTING_REFERENCE.sub(lookup, value)


class _Context(func.Context):
    def __init__(self, function_name: str) -> None:
        self._invocation_id = str(uuid.uuid4())
        self._function_name = function_name
        self._local = threading.local()

    invocation_id = property(lambda self: self._invocation_id)
    function_name = property(lambda self: self._function_name)
    function_directory = property(lambda self: os.getcwd())
    thread_local_storage = property(lambda self: self._local)
    trace_context = property(lambda self: None)
    retry_context = property(lambda self: None)


@dataclass(frozen=True)
class Invocable:
    """A registered function and how to call it with its trigger value."""

    name: str
    trigger_arg: str
    user_function: Callable[..., Any]

    def __call__(self, trigger_value: Any) -> Any:
        kwargs = {self.trigger_arg: trigger_value}
        if "context" in inspect.signature(self.user_function).parameters:
            kwargs["context"] = _Context(self.name)
        result = self.user_function(**kwargs)
        if inspect.isawaitable(result):
            result = asyncio.run(_await(result))
        return result


async def _await(awaitable):
    return await awaitable


@dataclass(frozen=True)
class HttpRoute:
    invocable: Invocable
    template: str
    pattern: re.Pattern[str]
    methods: frozenset[str] | None  # None: every method


def _enum_value(value: Any) -> Any:
    return getattr(value, "value", value)


class LocalFunctionsHost:
    def __init__(
        self,
        app: func.FunctionApp,
        *,
        host_json: dict[str, Any],
        port: int = 7071,
        bind: str = "127.0.0.1",
        queue_service: Any = None,
        max_delivery_count: int = 10,
        redelivery_backoff: float = 2.0,
        lock_seconds: int = LOCK_SECONDS,
        cors_origins: list[str] | None = None,
        proxy_port: int | None = None,
        dev_mode: bool = False,
        read_timeout: float = READ_TIMEOUT_SECONDS,
    ) -> None:
        """``proxy_port``: the port for the Static Web Apps CLI's proxy, whose requests keep their client
        principal (0: any free port; None: no such port). ``dev_mode`` (the app's AUTH_DEV_MODE): the
        public port keeps them too, as it trusts a plain user header anyway."""
        self._bind = bind
        self._port = port
        self._proxy_port = proxy_port
        self._dev_mode = dev_mode
        self.read_timeout = read_timeout
        self._cors = cors_origins or []
        extensions = host_json.get("extensions", {})
        prefix = extensions.get("http", {}).get("routePrefix", "api")
        self.route_prefix = prefix.strip("/")
        # Requests waiting to be accepted: as many as the Functions host lets wait (maxOutstandingRequests),
        # so that a burst of clients is queued, not reset.
        self.backlog = int(extensions.get("http", {}).get("maxOutstandingRequests", 200))
        self.routes: list[HttpRoute] = []
        self.pumps: list[QueuePump] = []
        self.timers: list[TimerRunner] = []
        service_bus = extensions.get("serviceBus", {})
        for function in app.get_functions():  # the SDK builds an app's functions once: give each host its own app
            trigger = function.get_trigger()
            binding = {k: _enum_value(v) for k, v in trigger.get_dict_repr().items()}
            invocable = Invocable(function.get_function_name(), binding["name"], function.get_user_function())
            kind = binding["type"]
            if kind == "httpTrigger":
                self._add_route(invocable, binding)
            elif kind == "serviceBusTrigger":
                if queue_service is None:
                    raise ValueError(f"{invocable.name} needs a queue service for its Service Bus trigger")
                queue = resolve_setting_references(binding.get("queueName") or binding.get("topicName"))
                self.pumps.append(QueuePump(
                    invocable, queue, queue_service,
                    max_delivery_count=max_delivery_count,
                    redelivery_backoff=redelivery_backoff,
                    max_concurrent_calls=int(service_bus.get("maxConcurrentCalls", 16)),
                    lock_seconds=lock_seconds,
                ))
            elif kind == "timerTrigger":
                self.timers.append(TimerRunner(invocable, resolve_setting_references(binding["schedule"]),
                                               run_on_startup=bool(binding.get("runOnStartup"))))
            else:
                log.warning("function %s has a %s trigger, which the local host does not run", invocable.name, kind)
        self._server: ThreadingHTTPServer | None = None
        self._proxy_server: ThreadingHTTPServer | None = None

    def _add_route(self, invocable: Invocable, binding: dict[str, Any]) -> None:
        template = binding.get("route") or invocable.name
        methods = binding.get("methods")
        allowed = frozenset(str(_enum_value(m)).upper() for m in methods) if methods else None
        self.routes.append(HttpRoute(invocable, template, compile_route(template), allowed))
        # As in the Functions host (ASP.NET routing): literal segments before parameters, catch-alls last.
        self.routes.sort(key=lambda r: ("{*" in r.template, r.template.count("{"), -len(r.template)))

    # --- lifecycle ---

    @property
    def port(self) -> int:
        return self._server.server_address[1] if self._server else self._port

    @property
    def url(self) -> str:
        return f"http://{self._bind}:{self.port}"

    @property
    def proxy_url(self) -> str | None:
        """Where the Static Web Apps CLI sends ``/api`` requests (their client principal is kept)."""
        if self._proxy_server is None:
            return None
        return f"http://{self._bind}:{self._proxy_server.server_address[1]}"

    def start(self) -> "LocalFunctionsHost":
        self._server = self._serve(self._port, keeps_client_principals=self._dev_mode, name="http")
        if self._proxy_port is not None:
            self._proxy_server = self._serve(self._proxy_port, keeps_client_principals=True, name="http-proxy")
        for pump in self.pumps:
            pump.start()
        for timer in self.timers:
            timer.start()
        return self

    def stop(self) -> None:
        for timer in self.timers:
            timer.stop()
        for pump in self.pumps:
            pump.stop()
        for server in (self._server, self._proxy_server):
            if server is not None:
                server.shutdown()
                server.server_close()
        self._server = self._proxy_server = None

    def _serve(self, port: int, *, keeps_client_principals: bool, name: str) -> ThreadingHTTPServer:
        handler = type("Handler", (_RequestHandler,), {"host": self, "timeout": self.read_timeout,
                                                       "keeps_client_principals": keeps_client_principals})
        server_class = type("Server", (ThreadingHTTPServer,), {"request_queue_size": self.backlog})
        server = server_class((self._bind, port), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, name=name, daemon=True).start()
        return server

    def __enter__(self) -> "LocalFunctionsHost":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def describe(self) -> list[str]:
        lines = []
        for route in self.routes:
            methods = ",".join(sorted(route.methods)) if route.methods else "ALL"
            lines.append(f"  {route.invocable.name}: [{methods}] {self.url}/{self._full_path(route.template)}")
        for pump in self.pumps:
            lines.append(f"  {pump.invocable.name}: serviceBusTrigger on local queue {pump.storage_queue}")
        for timer in self.timers:
            lines.append(f"  {timer.invocable.name}: timerTrigger {timer.schedule}")
        return lines

    def _full_path(self, template: str) -> str:
        return "/".join(p for p in (self.route_prefix, template.strip("/")) if p)

    # --- HTTP dispatch ---

    def match(self, method: str, path: str) -> tuple[HttpRoute, dict[str, str]] | list[str]:
        """(route, params) for a match; otherwise the methods the path's own routes (not catch-alls) take."""
        relative = path.strip("/")
        if self.route_prefix:
            head, _, rest = relative.partition("/")
            if head.lower() != self.route_prefix.lower():
                return []
            relative = rest
        allowed: set[str] = set()
        for route in self.routes:
            found = route.pattern.match(relative)
            if not found:
                continue
            if route.methods is None or method in route.methods:
                params = {k: v for k, v in found.groupdict().items() if v is not None}
                return route, params
            if not route.template.lstrip("/").startswith("{*"):
                allowed |= route.methods
        return sorted(allowed)

    def cors_headers(self, origin: str | None) -> dict[str, str]:
        if not origin or not self._cors:
            return {}
        if "*" in self._cors:
            return {"Access-Control-Allow-Origin": "*"}
        if origin in self._cors:
            return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
        return {}


class _RequestHandler(BaseHTTPRequestHandler):
    host: LocalFunctionsHost
    keeps_client_principals: bool = False
    timeout: float  # seconds a read may wait (StreamRequestHandler sets it on the socket)
    protocol_version = "HTTP/1.1"
    server_version = "simgate-local-host"
    # headers and body go out in two writes: without TCP_NODELAY a kept-alive connection waits for
    # the client's delayed ACK (40 ms) on every answer
    disable_nagle_algorithm = True

    def log_message(self, fmt: str, *args: Any) -> None:
        log.info("%s - %s", self.address_string(), fmt % args)

    def do_OPTIONS(self) -> None:  # noqa: N802 - CORS preflight
        cors = self.host.cors_headers(self.headers.get("Origin"))
        if not cors:
            return self._dispatch()
        self._read_body()
        cors.update({
            "Access-Control-Allow-Methods": self.headers.get("Access-Control-Request-Method", "GET"),
            "Access-Control-Allow-Headers": self.headers.get("Access-Control-Request-Headers", "*"),
            "Access-Control-Max-Age": "600",
        })
        self._send(HTTPStatus.NO_CONTENT, cors, b"")

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_TRACE = do_CONNECT = do_GET

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The server's own refusals (a malformed request line, a method HTTP has no name for, ...) as
        problem documents too, like every other error."""
        self.close_connection = True
        status = HTTPStatus(code)
        path = urlsplit(getattr(self, "path", "") or "/").path
        if status == HTTPStatus.NOT_IMPLEMENTED:
            allowed = self.host.match("", path)
            error = MethodNotAllowed(f"{self.command} is not a method this API knows",
                                     allowed=allowed if isinstance(allowed, list) else [])
        else:
            error = BadRequest(message or status.phrase)
        self._problem(error, path)

    def _dispatch(self) -> None:
        split = urlsplit(self.path)
        try:
            body = self._read_body()
        except ValueError:
            return self._problem(BadRequest("the request body's chunked encoding is broken"), split.path)
        except TimeoutError:
            return self._request_timeout(split.path)
        if body is None:
            return self._problem(PayloadTooLarge(f"the request body is larger than {MAX_REQUEST_BYTES} bytes"),
                                 split.path)
        method = self.command.upper()
        found = self.host.match(method, split.path)
        if isinstance(found, list):  # the app's catch-all answers misses; these are the host's own
            error = (MethodNotAllowed(f"{method} is not one of the methods of {split.path}: {', '.join(found)}",
                                      allowed=found) if found else NotFound(f"there is nothing at {split.path}"))
            return self._problem(error, split.path)
        route, params = found
        request = func.HttpRequest(
            method=method,
            url=f"http://{self.headers.get('Host') or self.host.url.split('//')[1]}{self.path}",
            headers=self._forwarded_headers(),
            params=dict(parse_qsl(split.query, keep_blank_values=True)),
            route_params=params,
            body=body,
        )
        try:
            response = route.invocable(request)
        except Exception:
            log.exception("function %s raised", route.invocable.name)
            return self._problem(SimgateError("the function failed; it has been logged"), split.path)
        status, headers, payload = _wire(response)
        headers.update(self.host.cors_headers(self.headers.get("Origin")))
        self._send(status, headers, b"" if method == "HEAD" else payload, content_length=len(payload))

    def _forwarded_headers(self) -> dict[str, str]:
        """The request's headers as the platform passes them on: without client-sent principals, except
        from the static site's proxy (or in development mode)."""
        return {name: value for name, value in self.headers.items()
                if self.keeps_client_principals or not name.lower().startswith(CLIENT_PRINCIPAL_HEADERS)}

    def _request_timeout(self, instance: str) -> None:
        log.info("%s - gave up on a request body that stalled for %s s", self.address_string(), self.timeout)
        self.close_connection = True
        self._problem(RequestTimeout(f"the request's body stopped arriving for {self.timeout:g} seconds"), instance)

    def _problem(self, error, instance: str) -> None:
        response = problem_response(error, instance)
        status, headers, payload = _wire(response)
        self._send(status, headers, payload)

    def _read_body(self) -> bytes | None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_REQUEST_BYTES:
            self.close_connection = True
            return None
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes | None:
        chunks, total = [], 0
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            total += size
            if total > MAX_REQUEST_BYTES:
                self.close_connection = True
                return None
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def _send(self, status: int, headers: dict[str, str], payload: bytes, content_length: int | None = None) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload) if content_length is None else content_length))
        self.end_headers()
        if payload:
            self.wfile.write(payload)


def _wire(response: Any) -> tuple[int, dict[str, str], bytes]:
    if isinstance(response, func.HttpResponse):
        headers = dict(response.headers.items())
        if response.mimetype and not any(k.lower() == "content-type" for k in headers):
            charset = f"; charset={response.charset}" if response.charset and response.mimetype.startswith(("text/", "application/json", "application/problem+json")) else ""
            headers["Content-Type"] = response.mimetype + charset
        return response.status_code, headers, response.get_body() or b""
    if response is None:
        return 204, {}, b""
    if isinstance(response, (dict, list)):
        return 200, {"Content-Type": "application/json"}, json.dumps(response).encode()
    text = response if isinstance(response, (bytes, bytearray)) else str(response).encode()
    return 200, {"Content-Type": "text/plain; charset=utf-8"}, bytes(text)
