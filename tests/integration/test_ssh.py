"""paramiko against a real sshd: pinned host keys only, typed errors."""

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from devstack.keys import ensure_ssh_keys
from devstack.processes import free_port, wait_until
from devstack.sshd import login_user, start_sshd
from shared.adapters.ssh import SshPool, SshSession
from shared.config import SimulatorSpec
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


def test_a_large_input_arrives_whole_and_large_outputs_do_not_block_each_other(sshd, tmp_path):
    payload = bytes(range(256)) * 8192  # 2 MiB, like a big job bundle
    with SshSession(sshd.spec) as session:
        result = session.run(f"cat > {tmp_path}/in.bin && head -c 3000000 /dev/zero | tr '\\0' o && "
                             f"head -c 3000000 /dev/zero | tr '\\0' e >&2", stdin=payload, timeout=60)
    assert (tmp_path / "in.bin").read_bytes() == payload
    assert len(result.stdout) == 3_000_000 and set(result.stdout) == {"o"}
    assert result.stderr == "e" * len(result.stderr)  # its tail is kept


def test_a_command_that_leaves_something_holding_its_output_still_answers(sshd):
    with SshSession(sshd.spec) as session:
        began = time.monotonic()
        result = session.run("echo started; sleep 20 & exit 4", check=False, timeout=15)
        took = time.monotonic() - began
    assert result.exit_status == 4 and result.stdout == "started\n"
    assert took < 10, f"it waited {took:.1f} s for an EOF that the background sleep withholds"


def test_many_commands_in_a_row_each_end_with_their_whole_output_and_status(sshd):
    with SshSession(sshd.spec) as session:
        for i in range(30):
            result = session.run(f"seq 1 {1000 + i}; exit {i % 3}", check=False)
            assert result.exit_status == i % 3
            assert result.stdout.splitlines()[-1] == str(1000 + i)


def counting_pool(spec, **budget):
    """A pool whose connections and concurrently running commands are counted."""
    made, running, peak, lock = [], [0], [0], threading.Lock()

    class Counting(SshSession):
        def run(self, *args, **kwargs):
            with lock:
                running[0] += 1
                peak[0] = max(peak[0], running[0])
            try:
                return super().run(*args, **kwargs)
            finally:
                with lock:
                    running[0] -= 1

    def connect(spec):
        made.append(Counting(spec))
        return made[-1]

    return SshPool(connect, **budget), made, peak


def test_the_pool_holds_its_budget_of_connections_and_channels_under_a_burst(sshd):
    pool, made, peak = counting_pool(sshd.spec, max_connections=2, max_channels=3)
    try:
        with ThreadPoolExecutor(12) as workers:
            results = list(workers.map(lambda i: pool.run(sshd.spec, f"sleep 0.2; echo {i}"), range(30)))
    finally:
        pool.close()
    assert [r.stdout.strip() for r in results] == [str(i) for i in range(30)]
    assert len(made) == 2 and peak[0] == 6  # waited for a free channel rather than overrunning sshd


def test_a_server_that_refuses_channels_slows_the_pool_down_but_fails_nothing(tmp_path):
    directory = tmp_path / "sshd"
    keys = ensure_ssh_keys(directory)
    port = free_port()
    process = start_sshd(directory, keys, port, directory / "sshd.log", max_sessions=2)
    spec = SimulatorSpec(name="tight", host="127.0.0.1", port=port, user=login_user(), host_key=keys.host_public,
                         private_key_path=keys.client_key)
    pool, made, _ = counting_pool(spec, max_connections=2, max_channels=8)  # more than this sshd allows
    try:
        with ThreadPoolExecutor(10) as workers:
            results = list(workers.map(lambda i: pool.run(spec, f"sleep 0.1; echo {i}"), range(30)))
    finally:
        pool.close()
        process.stop()
    assert [r.exit_status for r in results] == [0] * 30 and len(made) == 2


def test_a_dropped_connection_fails_only_the_commands_on_it_as_unreachable_and_the_pool_recovers(sshd):
    pool = SshPool(SshSession, max_connections=1, max_channels=4)
    try:
        with ThreadPoolExecutor(4) as workers:
            running = [workers.submit(pool.run, sshd.spec, "sleep 5; echo late") for _ in range(3)]
            wait_until(lambda: pool.in_use(sshd.spec) == (1, 3), timeout=10, what=f"three commands running ({pool.in_use(sshd.spec)})")
            (connection,) = pool._sites[sshd.spec.name].connections
            connection.session._client.get_transport().sock.shutdown(2)  # the network drops it
            for future in running:
                with pytest.raises(SimulatorUnreachable) as caught:
                    future.result(timeout=20)
                assert not isinstance(caught.value, RemoteCommandFailed)
        assert pool.run(sshd.spec, ["echo", "again"]).stdout == "again\n"  # a new connection
    finally:
        pool.close()


def test_the_pool_reuses_one_connection_and_replaces_a_dead_one(sshd):
    pool, made, _ = counting_pool(sshd.spec)
    try:
        assert pool.run(sshd.spec, ["true"]).exit_status == 0
        assert pool.run(sshd.spec, ["true"]).exit_status == 0 and len(made) == 1
        made[0]._client.get_transport().close()  # the connection dies between invocations
        assert pool.run(sshd.spec, ["true"]).exit_status == 0 and len(made) == 2
    finally:
        pool.close()
