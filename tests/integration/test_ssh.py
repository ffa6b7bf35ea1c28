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


def test_uploads_land_whole_with_their_modes_and_no_partial_files(sshd, tmp_path):
    target = tmp_path / "bundle" / "job-1"
    files = {"run.sh": b"#!/bin/sh\necho 'hi'\n", "job.json": b'{"a": 1}', "big.bin": bytes(range(256)) * 8192}
    with SshSession(sshd.spec) as session:
        session.upload(str(target), files)
        session.upload(str(target), {"run.sh": b"replaced\n"}, mode=0o700)
    assert {p.name for p in target.iterdir()} == set(files)
    assert (target / "big.bin").read_bytes() == files["big.bin"]
    assert (target / "run.sh").read_bytes() == b"replaced\n"
    assert (target / "run.sh").stat().st_mode & 0o777 == 0o700
    assert (target / "job.json").stat().st_mode & 0o777 == 0o600
    assert target.stat().st_mode & 0o777 == 0o700


def test_an_upload_that_cannot_be_written_is_a_simulator_error(sshd, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with SshSession(sshd.spec) as session, pytest.raises(RemoteCommandFailed):
        session.upload(str(blocker / "sub"), {"a": b"1"})


def test_the_pool_reuses_one_connection_and_replaces_a_dead_one(sshd):
    from shared.adapters.ssh import SshPool

    made = []

    def connect(spec):
        made.append(SshSession(spec))
        return made[-1]

    pool = SshPool(connect)
    try:
        first = pool.session(sshd.spec)
        assert pool.session(sshd.spec) is first and len(made) == 1
        first._client.get_transport().close()  # the connection dies between invocations
        second = pool.session(sshd.spec)
        assert second is not first and second.run(["true"]).exit_status == 0 and len(made) == 2
    finally:
        pool.close()
