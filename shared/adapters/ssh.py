"""SSH to simulators with paramiko: pinned host keys only, bounded timeouts, typed errors."""

from __future__ import annotations

import base64
import binascii
import io
import shlex
import socket
from collections.abc import Sequence
from dataclasses import dataclass

import paramiko

from shared.config import SimulatorSpec
from shared.errors import (
    ConfigurationError,
    HostKeyMismatch,
    RemoteCommandFailed,
    SimulatorAuthenticationFailed,
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
        transport = self._client.get_transport() if self._client else None
        return bool(transport and transport.is_active())

    def run(self, argv: Sequence[str] | str, *, check: bool = True, timeout: float = 60.0) -> CommandResult:
        """Run a command (argv list, quoted for the shell; or a prepared command line)."""
        if self._client is None:
            self.connect()
        line = argv if isinstance(argv, str) else command_line(argv)
        try:
            _, stdout, stderr = self._client.exec_command(line, timeout=timeout)
            out = stdout.read().decode(errors="replace")
            err = stderr.read().decode(errors="replace")[-STDERR_KEPT:]
            status = stdout.channel.recv_exit_status()
        except (socket.timeout, OSError, EOFError, paramiko.SSHException) as exc:
            self.close()
            raise SimulatorUnreachable(f"simulator {self.spec.name}: connection lost running a command: {exc}") from None
        if check and status != 0:
            raise RemoteCommandFailed(line, status, err)
        return CommandResult(status, out, err)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
