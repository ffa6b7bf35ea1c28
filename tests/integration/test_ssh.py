"""paramiko against a real sshd: pinned host keys only, typed errors."""

import socket

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from devstack.processes import free_port
from shared.adapters.ssh import SshSession
from shared.errors import HostKeyMismatch, RemoteCommandFailed, SimulatorAuthenticationFailed, SimulatorUnreachable

pytestmark = pytest.mark.integration


def other_public_key() -> str:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def test_connects_with_the_pinned_host_key_and_checks_exit_codes(sshd):
    with SshSession(sshd.spec) as session:
        result = session.run(["printf", "%s", "it's $(not) run"])
        assert result.exit_status == 0 and result.stdout == "it's $(not) run"
        with pytest.raises(RemoteCommandFailed) as caught:
            session.run("echo nope >&2; exit 3")
        assert caught.value.exit_status == 3 and "nope" in caught.value.stderr


def test_a_different_pinned_host_key_is_refused(sshd):
    spec = sshd.spec.model_copy(update={"host_key": other_public_key()})
    with pytest.raises(HostKeyMismatch):
        SshSession(spec).connect()


def test_a_host_key_of_another_type_is_refused(sshd):
    from cryptography.hazmat.primitives.asymmetric import ec

    ecdsa = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    spec = sshd.spec.model_copy(update={"host_key": ecdsa})
    with pytest.raises(HostKeyMismatch):
        SshSession(spec).connect()


def test_a_key_the_server_does_not_know_is_refused(sshd, tmp_path):
    stranger = tmp_path / "stranger"
    stranger.write_bytes(ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()))
    spec = sshd.spec.model_copy(update={"private_key_path": stranger})
    with pytest.raises(SimulatorAuthenticationFailed):
        SshSession(spec).connect()


def test_nobody_listening_is_unreachable(sshd):
    spec = sshd.spec.model_copy(update={"port": free_port()})
    with pytest.raises(SimulatorUnreachable):
        SshSession(spec, timeout=3).connect()


def test_a_server_that_never_speaks_is_unreachable_within_the_timeout(sshd):
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        spec = sshd.spec.model_copy(update={"port": silent.getsockname()[1]})
        with pytest.raises(SimulatorUnreachable):
            SshSession(spec, timeout=1).connect()
