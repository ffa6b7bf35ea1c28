"""SSH to simulators with paramiko: pinned host keys only, bounded timeouts, typed errors."""

from __future__ import annotations

import base64
import binascii
import contextlib
import io
import select
import shlex
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import paramiko

from shared.config import SimulatorSpec
from shared.errors import (
    ConfigurationError,
    HostKeyMismatch,
    RemoteCommandFailed,
    SimulatorAuthenticationFailed,
    SimulatorNotReached,
    SimulatorUnreachable,
)

CONNECT_TIMEOUT = 10.0
KEEPALIVE_SECONDS = 30
MAX_LOST_CONNECTIONS = 3  # a command that finds this many connections dead in a row gives up
STDERR_KEPT = 4000
EOF_AFTER_EXIT_SECONDS = 2.0


@dataclass(frozen=True)
class CommandResult:
    exit_status: int
    stdout: str
    stderr: str


class _RejectUnpinned(paramiko.MissingHostKeyPolicy):
    """Like paramiko's RejectPolicy, but says which simulator and why, in simgate's terms."""

    def __init__(self, simulator: str) -> None:
        self._simulator = simulator

    def missing_host_key(self, client, hostname, key) -> None:
        raise HostKeyMismatch(
            f"simulator {self._simulator} ({hostname}) offered a {key.get_name()} host key that is not the pinned one",
            shown=f"simulator {self._simulator} offered a host key that is not the pinned one")


def pinned_host_key(spec: SimulatorSpec) -> paramiko.PKey:
    key_type, key_b64 = spec.host_key.split()[:2]
    try:
        return paramiko.PKey.from_type_string(key_type, base64.b64decode(key_b64))
    except (binascii.Error, paramiko.SSHException, ValueError) as exc:
        raise ConfigurationError(f"simulator {spec.name}: host_key is not a valid {key_type} key") from exc


def load_private_key(spec: SimulatorSpec, key_pem: str | None) -> paramiko.PKey:
    try:
        if key_pem is not None:
            return _pkey_from_text(key_pem)
        return paramiko.PKey.from_path(str(spec.private_key_path))
    except FileNotFoundError:
        raise ConfigurationError(f"simulator {spec.name}: private key file {spec.private_key_path} not found") from None
    except (paramiko.SSHException, ValueError, OSError) as exc:
        raise ConfigurationError(f"simulator {spec.name}: the private key cannot be loaded ({exc})") from None


def _pkey_from_text(pem: str) -> paramiko.PKey:
    for key_class in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return key_class.from_private_key(io.StringIO(pem))
        except paramiko.SSHException:
            continue
    raise ValueError("not an OpenSSH or PEM private key of a supported type")


def command_line(argv: Sequence[str]) -> str:
    """A shell command line in which every argument stays one literal word."""
    return " ".join(shlex.quote(str(a)) for a in argv)


class ConnectionLost(SimulatorNotReached):
    """The connection died; nothing can run over it any more."""


class ChannelRefused(SimulatorNotReached):
    """The connection is up but the server opened no new channel (e.g. its MaxSessions is reached)."""


class SshSession:
    """One authenticated connection to a simulator. Many commands may run over it at once, each in
    its own channel; one channel's failure never ends the others. Use as a context manager."""

    def __init__(self, spec: SimulatorSpec, key_pem: str | None = None, timeout: float = CONNECT_TIMEOUT) -> None:
        self.spec = spec
        self._key_pem = key_pem
        self._timeout = timeout
        self._client: paramiko.SSHClient | None = None

    def __enter__(self) -> "SshSession":
        self.connect()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def connect(self) -> None:
        spec = self.spec
        client = paramiko.SSHClient()
        host_name = spec.host if spec.port == 22 else f"[{spec.host}]:{spec.port}"
        host_key = pinned_host_key(spec)
        client.get_host_keys().add(host_name, host_key.get_name(), host_key)
        client.set_missing_host_key_policy(_RejectUnpinned(spec.name))
        try:
            client.connect(
                spec.host,
                port=spec.port,
                username=spec.user,
                pkey=load_private_key(spec, self._key_pem),
                timeout=self._timeout,
                banner_timeout=self._timeout,
                auth_timeout=self._timeout,
                channel_timeout=self._timeout,
                allow_agent=False,
                look_for_keys=False,
            )
        except paramiko.BadHostKeyException:
            client.close()
            raise HostKeyMismatch(f"simulator {spec.name} presented a host key that differs from the pinned one") from None
        except paramiko.AuthenticationException:
            client.close()
            raise SimulatorAuthenticationFailed(f"simulator {spec.name} refused the key for user {spec.user}") from None
        except (socket.timeout, OSError, EOFError, paramiko.SSHException) as exc:
            client.close()
            raise SimulatorNotReached(f"simulator {spec.name} at {spec.host}:{spec.port} unreachable: {exc}",
                                      shown=f"simulator {spec.name} could not be reached") from None
        except BaseException:
            client.close()
            raise
        transport = client.get_transport()
        if transport is not None:
            transport.set_keepalive(KEEPALIVE_SECONDS)
        self._client = client

    @property
    def is_active(self) -> bool:
        transport = self._client.get_transport() if self._client else None
        return bool(transport and transport.is_active())

    def run(self, argv: Sequence[str] | str, *, check: bool = True, timeout: float = 60.0,
            stdin: bytes | None = None) -> CommandResult:
        """Run a command (argv list, quoted for the shell; or a prepared command line) in a channel of
        its own, feeding it ``stdin`` when given. ChannelRefused or ConnectionLost when it could not
        start (nothing ran); SimulatorUnreachable when the connection failed while it ran."""
        if self._client is None:
            self.connect()
        line = argv if isinstance(argv, str) else command_line(argv)
        transport = self._client.get_transport()
        if transport is None or not transport.is_active():
            raise ConnectionLost(f"simulator {self.spec.name}: the connection is closed",
                                 shown=f"the connection to simulator {self.spec.name} was lost")
        try:
            channel = transport.open_session(timeout=self._timeout)
        except paramiko.ChannelException as exc:
            raise ChannelRefused(f"simulator {self.spec.name} opened no new channel: {exc}",
                                 shown=f"simulator {self.spec.name} is busy") from None
        except (socket.timeout, OSError, EOFError, paramiko.SSHException) as exc:
            if transport.is_active():  # e.g. no answer to the open in time: the connection itself is fine
                raise ChannelRefused(f"simulator {self.spec.name} opened no new channel: {exc}",
                                     shown=f"simulator {self.spec.name} is busy") from None
            raise ConnectionLost(f"simulator {self.spec.name}: the connection failed: {exc}",
                                 shown=f"the connection to simulator {self.spec.name} was lost") from None
        try:
            return _finish(channel, self.spec.name, line, check, timeout, stdin)
        finally:
            # On a connection that just died, closing the channel fails too: the error _finish raised
            # (SimulatorUnreachable) is the one that says what happened.
            with contextlib.suppress(EOFError, OSError, paramiko.SSHException):
                channel.close()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def _finish(channel: paramiko.Channel, simulator: str, line: str, check: bool, timeout: float,
            stdin: bytes | None) -> CommandResult:
    """Run ``line`` in ``channel`` to its end: stdout and stderr read together until the server's
    EOF, so neither can fill the window while the other is read, then its exit status awaited.
    (After EOF the channel stays readable for select, so waiting there would spin. The exit status
    may come before the last output; without an EOF soon after it, something the command left
    running holds its output open, and what came is its answer.)"""
    deadline = time.monotonic() + timeout
    exited_at: float | None = None
    out, err = bytearray(), bytearray()
    try:
        channel.settimeout(min(timeout, 5.0))
        channel.exec_command(line)
        if stdin is not None:
            channel.sendall(stdin)
        channel.shutdown_write()
        while True:
            if exited_at is None and channel.exit_status_ready():
                exited_at = time.monotonic()
            ended = (channel.eof_received or channel.closed
                     or (exited_at is not None and time.monotonic() - exited_at > EOF_AFTER_EXIT_SECONDS))
            while channel.recv_stderr_ready():
                err += channel.recv_stderr(65536)
            while channel.recv_ready():
                out += channel.recv(65536)
            if ended:
                break
            if time.monotonic() > deadline:
                raise socket.timeout(f"no answer within {timeout:.0f} s")
            select.select([channel], [], [], max(0.0, min(0.5, deadline - time.monotonic())))
        if not channel.status_event.wait(max(0.0, deadline - time.monotonic())):
            raise socket.timeout(f"no exit status within {timeout:.0f} s")
        status = channel.exit_status if channel.exit_status_ready() else -1
    except (socket.timeout, OSError, EOFError, paramiko.SSHException) as exc:
        raise SimulatorUnreachable(f"simulator {simulator}: connection lost running a command: {exc}",
                                   shown=f"the connection to simulator {simulator} was lost") from None
    if status == -1:  # the channel closed without an exit status: the connection or the session died
        raise SimulatorUnreachable(f"simulator {simulator}: the command ended without an exit status "
                                   "(connection lost)", shown=f"the connection to simulator {simulator} was lost")
    result = CommandResult(status, out.decode(errors="replace"), err.decode(errors="replace")[-STDERR_KEPT:])
    if check and status != 0:
        raise RemoteCommandFailed(line, status, result.stderr)
    return result


@dataclass
class _Connection:
    session: SshSession
    in_use: int = 0
    capacity: int = 0  # channels it may carry at once; lowered when the server refuses one


@dataclass
class _Site:
    """One simulator's connections, and the condition a command waits on for a free channel."""

    condition: threading.Condition = field(default_factory=threading.Condition)
    connections: list[_Connection] = field(default_factory=list)
    connecting: int = 0


class SshPool:
    """Connections to each simulator, reused across invocations, within a budget: at most
    ``max_connections`` connections per simulator, each carrying at most ``max_channels`` commands
    at once (below OpenSSH's MaxSessions, 10 by default). A command waits for a free channel (up to
    ``wait_seconds``) rather than overrunning the simulator's sshd. A dead connection is dropped
    without touching the others; a command that could not start on it starts on another."""

    def __init__(self, connect: Callable[[SimulatorSpec], SshSession], *, max_connections: int = 2,
                 max_channels: int = 8, wait_seconds: float = 120.0) -> None:
        self._connect = connect
        self.max_connections = max_connections
        self.max_channels = max_channels
        self._wait_seconds = wait_seconds
        self._sites: dict[str, _Site] = {}
        self._specs: dict[str, SimulatorSpec] = {}
        self._lock = threading.Lock()

    def run(self, spec: SimulatorSpec, argv: Sequence[str] | str, *, timeout: float = 60.0,
            stdin: bytes | None = None) -> CommandResult:
        """Run a command on the simulator (its exit status is the caller's to judge). A command that
        could not start (no channel, a dead connection) is tried again; one that started is not."""
        deadline = time.monotonic() + self._wait_seconds
        refusals = losses = 0
        while True:
            connection = self._acquire(spec, deadline)
            try:
                return connection.session.run(argv, check=False, timeout=timeout, stdin=stdin)
            except ChannelRefused:
                self._refused(spec, connection)
                refusals += 1
                if time.monotonic() > deadline:
                    raise
            except ConnectionLost:
                self._drop(spec, connection)
                losses += 1
                if losses >= MAX_LOST_CONNECTIONS:
                    raise
            except SimulatorUnreachable:
                if not connection.session.is_active:
                    self._drop(spec, connection)
                raise
            finally:
                self._release(spec, connection)
            if refusals:  # the server frees a session a moment after its channel closes
                time.sleep(min(0.5, 0.02 * 2 ** min(refusals, 5)))

    def check(self, spec: SimulatorSpec) -> None:
        """Raise a SimulatorError when the simulator cannot run a command now."""
        result = self.run(spec, ["true"], timeout=10)
        if result.exit_status != 0:
            raise RemoteCommandFailed("true", result.exit_status, result.stderr)

    def in_use(self, spec: SimulatorSpec) -> tuple[int, int]:
        """(connections, channels in use) for ``spec``: what the budget holds."""
        site = self._site(spec)
        with site.condition:
            return len(site.connections), sum(c.in_use for c in site.connections)

    def _site(self, spec: SimulatorSpec) -> _Site:
        with self._lock:
            if self._specs.get(spec.name) not in (None, spec):  # the simulator's settings changed
                self._close_site(self._sites.pop(spec.name, None))
            self._specs[spec.name] = spec
            return self._sites.setdefault(spec.name, _Site())

    def _acquire(self, spec: SimulatorSpec, deadline: float) -> _Connection:
        site = self._site(spec)
        with site.condition:
            while True:
                for dead in [c for c in site.connections if not c.session.is_active and not c.in_use]:
                    site.connections.remove(dead)
                    dead.session.close()
                free = [c for c in site.connections if c.session.is_active and c.in_use < c.capacity]
                if free:
                    chosen = min(free, key=lambda c: c.in_use)
                    chosen.in_use += 1
                    return chosen
                if len(site.connections) + site.connecting < self.max_connections:
                    site.connecting += 1
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise SimulatorNotReached(f"simulator {spec.name}: every SSH channel of its budget "
                                               f"({self.max_connections} x {self.max_channels}) stayed busy for "
                                               f"{self._wait_seconds:.0f} s")
                site.condition.wait(remaining)
        try:
            session = self._connect(spec)
            session.connect()
        except BaseException:
            with site.condition:
                site.connecting -= 1
                site.condition.notify_all()
            raise
        connection = _Connection(session, in_use=1, capacity=self.max_channels)
        with site.condition:
            site.connecting -= 1
            site.connections.append(connection)
            site.condition.notify_all()  # those waiting for it may share it
        return connection

    def _release(self, spec: SimulatorSpec, connection: _Connection) -> None:
        site = self._site(spec)
        with site.condition:
            connection.in_use -= 1
            if not connection.session.is_active and connection.in_use == 0:
                connection.session.close()
            site.condition.notify_all()

    def _refused(self, spec: SimulatorSpec, connection: _Connection) -> None:
        """The server carries no more channels on this connection than it does now."""
        with self._site(spec).condition:
            connection.capacity = max(1, min(connection.capacity, connection.in_use - 1))

    def _drop(self, spec: SimulatorSpec, connection: _Connection) -> None:
        site = self._site(spec)
        with site.condition:
            if connection in site.connections:
                site.connections.remove(connection)
            site.condition.notify_all()
        if connection.in_use <= 1:
            connection.session.close()

    def drop_connections(self, spec: SimulatorSpec) -> None:
        """Close every connection to ``spec`` (their running commands fail as connection lost)."""
        with self._lock:
            self._close_site(self._sites.get(spec.name))

    @staticmethod
    def _close_site(site: _Site | None) -> None:
        if site is None:
            return
        with site.condition:
            connections, site.connections = site.connections, []
            site.condition.notify_all()
        for connection in connections:
            connection.session.close()

    def close(self) -> None:
        with self._lock:
            sites, self._sites = list(self._sites.values()), {}
        for site in sites:
            self._close_site(site)
