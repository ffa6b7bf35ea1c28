"""Session fixtures that start real services on free loopback ports and stop them afterwards.

In CI (CI=true) a service that cannot be started fails the run; elsewhere its tests are skipped
with the reason.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from devstack.azurite import AzuriteEndpoints, AzuriteMissing, azurite_executable, start_azurite
from devstack.keys import SshKeys, ensure_ssh_keys, ensure_tls_certificate
from devstack.processes import free_port
from devstack.sshd import SshdMissing, login_user, sshd_executable, start_sshd
from shared.config import Settings, SimulatorSpec

IN_CI = os.environ.get("CI", "").lower() == "true"


def unavailable(reason: str):
    if IN_CI:
        pytest.fail(f"required test service unavailable in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def distinct_free_ports(count: int) -> list[int]:
    ports: set[int] = set()
    while len(ports) < count:
        ports.add(free_port())
    return sorted(ports)


@pytest.fixture(scope="session")
def azurite(tmp_path_factory) -> AzuriteEndpoints:
    try:
        azurite_executable()
    except AzuriteMissing as exc:
        unavailable(str(exc))
    base = tmp_path_factory.mktemp("azurite")
    tls = ensure_tls_certificate(base / "certs")
    process, endpoints = start_azurite(base / "data", tls, tuple(distinct_free_ports(3)), base / "azurite.log",
                                       persist=False)
    yield endpoints
    process.stop()


@pytest.fixture(scope="session")
def storage_env(azurite) -> dict[str, str]:
    """App settings for a test app that uses the test Azurite."""
    return {**azurite.settings(), "JOBS_QUEUE": "jobs", "JOBS_QUEUE_MAX_DELIVERY_COUNT": "3"}


@pytest.fixture(scope="session")
def settings(storage_env) -> Settings:
    return Settings.from_environ(storage_env)


@pytest.fixture(scope="session")
def storage(settings):
    from devstack.provision import provision
    from shared.adapters.storage import StorageClients

    clients = StorageClients(settings)
    provision(settings, clients)
    return clients


def own_container(storage, prefix: str) -> Iterator[str]:
    """A blob container of one test module's own, removed afterwards: a reconciler of another app in the
    same session sweeps the staging area of jobs its table does not know, so outputs are not shared."""
    name = prefix + uuid.uuid4().hex[:16]
    storage.blob_service.create_container(name)
    yield name
    storage.blob_service.delete_container(name)


@dataclass(frozen=True)
class TestSimulator:
    spec: SimulatorSpec
    keys: SshKeys
    directory: Path


@pytest.fixture(scope="session")
def sshd(tmp_path_factory) -> TestSimulator:
    try:
        sshd_executable()
    except SshdMissing as exc:
        unavailable(str(exc))
    directory = tmp_path_factory.mktemp("sshd")
    keys = ensure_ssh_keys(directory)
    port = free_port()
    process = start_sshd(directory, keys, port, directory / "sshd.log")
    spec = SimulatorSpec(name="test", host="127.0.0.1", port=port, user=login_user(),
                         host_key=keys.host_public, private_key_path=keys.client_key)
    yield TestSimulator(spec, keys, directory)
    process.stop()


@pytest.fixture(scope="session")
def slurm(tmp_path_factory):
    """A single-node Slurm cluster (munged, slurmctld, slurmd) for this test session."""
    from devstack.slurm import SlurmMissing, slurm_executables, start_slurm

    try:
        slurm_executables()
    except SlurmMissing as exc:
        unavailable(str(exc))
    directory = tmp_path_factory.mktemp("slurm")
    cluster = start_slurm(directory / "cluster", directory / "logs")
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def slurm_sshd(tmp_path_factory, slurm) -> TestSimulator:
    """A second simulator: sshd whose sessions reach the test Slurm cluster; scheduler "slurm"."""
    directory = tmp_path_factory.mktemp("sshd-slurm")
    keys = ensure_ssh_keys(directory)
    port = free_port()
    process = start_sshd(directory, keys, port, directory / "sshd.log", environment=slurm.environment)
    spec = SimulatorSpec(name="test-slurm", host="127.0.0.1", port=port, user=login_user(),
                         host_key=keys.host_public, private_key_path=keys.client_key, scheduler="slurm",
                         slurm_partition=slurm.partition)
    yield TestSimulator(spec, keys, directory)
    process.stop()


@pytest.fixture
def own_table(storage):
    """The name of a new, empty table for this test alone (so listings see only its rows); dropped after."""
    name = "t" + uuid.uuid4().hex[:16]
    storage.table_service.create_table(name)
    yield name
    storage.table_service.delete_table(name)
