"""SSH to simulators with paramiko: pinned host keys only, bounded timeouts, typed errors."""

from __future__ import annotations

import base64
import binascii
import io
import secrets
import shlex
import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import paramiko

from shared.config import SimulatorSpec
from shared.errors import (
    ConfigurationError,
    HostKeyMismatch,
    RemoteCommandFailed,
    SimulatorAuthenticationFailed,
    SimulatorError,
    SimulatorUnreachable,
)

CONNECT_TIMEOUT = 10.0
KEEPALIVE_SECONDS = 30
STDERR_KEPT = 4000


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
            f"simulator {self._simulator} ({hostname}) offered a {key.get_name()} host key that is not the pinned one"
        )


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


class SshSession:
    """One authenticated connection to a simulator. Use as a context manager."""

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
            raise SimulatorUnreachable(f"simulator {spec.name} at {spec.host}:{spec.port} unreachable: {exc}") from None
        except BaseException:
            client.close()
            raise
        transport = client.get_transport()
        if transport is not None:
            transport.set_keepalive(KEEPALIVE_SECONDS)
        self._client = client

    @property
    def is_alive(self) -> bool:
        """Whether the connection still works: the transport is up and a no-op message goes out."""
        transport = self._client.get_transport() if self._client else None
        if not (transport and transport.is_active()):
            return False
        try:
            transport.send_ignore()
        except (EOFError, OSError, paramiko.SSHException):
            return False
        return transport.is_active()

    def run(self, argv: Sequence[str] | str, *, check: bool = True, timeout: float = 60.0,
            stdin: bytes | None = None) -> CommandResult:
        """Run a command (argv list, quoted for the shell; or a prepared command line), feeding it
        ``stdin`` when given."""
        if self._client is None:
            self.connect()
        line = argv if isinstance(argv, str) else command_line(argv)
        try:
            channel_in, stdout, stderr = self._client.exec_command(line, timeout=timeout)
            if stdin is not None:
                channel_in.write(stdin)
                channel_in.channel.shutdown_write()
            out = stdout.read().decode(errors="replace")
            err = stderr.read().decode(errors="replace")[-STDERR_KEPT:]
            status = stdout.channel.recv_exit_status()
        except (socket.timeout, OSError, EOFError, paramiko.SSHException) as exc:
            self.close()
            raise SimulatorUnreachable(f"simulator {self.spec.name}: connection lost running a command: {exc}") from None
        if check and status != 0:
            raise RemoteCommandFailed(line, status, err)
        return CommandResult(status, out, err)

    def upload(self, directory: str, files: Mapping[str, bytes], *, mode: int = 0o600) -> None:
        """Write ``files`` (name -> content) into ``directory`` (created with mode 0700) over SFTP.

        Each file is written under a temporary name and renamed into place, so a reader never sees
        half a file, and a retried upload simply replaces it.
        """
        if self._client is None:
            self.connect()
        self.run(["mkdir", "-p", "-m", "700", directory])
        try:
            with self._client.open_sftp() as sftp:
                for name, content in files.items():
                    final = f"{directory}/{name}"
                    partial = f"{directory}/.{name}.{secrets.token_hex(4)}.part"
                    with sftp.open(partial, "wb") as handle:
                        handle.set_pipelined(True)
                        handle.write(content)
                    sftp.chmod(partial, mode)
                    sftp.posix_rename(partial, final)
        except (socket.timeout, EOFError, paramiko.SSHException) as exc:
            self.close()
            raise SimulatorUnreachable(f"simulator {self.spec.name}: connection lost uploading: {exc}") from None
        except OSError as exc:  # an SFTP status: permission denied, no space, ...
            raise SimulatorError(f"simulator {self.spec.name}: cannot write {directory}: {exc}") from None

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


class SshPool:
    """One connection per simulator, reused across invocations; checked before each use and made
    again when it has died. paramiko runs many channels over one transport, so sessions are shared."""

    def __init__(self, connect: Callable[[SimulatorSpec], SshSession]) -> None:
        self._connect = connect
        self._sessions: dict[str, SshSession] = {}
        self._lock = threading.Lock()

    def session(self, spec: SimulatorSpec) -> SshSession:
        with self._lock:
            session = self._sessions.get(spec.name)
            if session is not None and (session.spec != spec or not session.is_alive):
                session.close()
                session = None
            if session is None:
                session = self._connect(spec)
                session.connect()
                self._sessions[spec.name] = session
            return session

    def check(self, spec: SimulatorSpec) -> None:
        """Raise a SimulatorError when the simulator cannot run a command now."""
        self.session(spec).run(["true"], timeout=10)

    def discard(self, spec: SimulatorSpec) -> None:
        with self._lock:
            session = self._sessions.pop(spec.name, None)
        if session is not None:
            session.close()

    def close(self) -> None:
        with self._lock:
            sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            session.close()
