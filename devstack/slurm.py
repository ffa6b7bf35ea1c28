"""A single-node Slurm cluster on this machine: munged, slurmctld and slurmd on free loopback ports.

Everything (key, sockets, state, spool, logs) lives in one directory. Client commands find the
cluster through ``SLURM_CONF``; the local sshd passes it to SSH sessions (``SetEnv``), so a simulator
reached over SSH sees this cluster like any site's login node sees its own.
"""

from __future__ import annotations

import getpass
import os
import secrets
import shutil
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from devstack.processes import ManagedProcess, free_port, port_open, wait_until

PARTITION = "debug"


class SlurmMissing(RuntimeError):
    pass


@dataclass
class SlurmCluster:
    conf: Path
    partition: str
    processes: list[ManagedProcess] = field(default_factory=list)

    @property
    def environment(self) -> dict[str, str]:
        return {"SLURM_CONF": str(self.conf)}

    def run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        """A Slurm client command (squeue, scancel, ...) against this cluster."""
        return subprocess.run(argv, env={**os.environ, **self.environment}, capture_output=True, text=True,
                              check=check, timeout=30)

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()


def _executable(name: str, package: str) -> str:
    for candidate in (f"/usr/sbin/{name}", f"/usr/bin/{name}"):
        if os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which(name)
    if not found:
        raise SlurmMissing(f"{name} is not installed: install the Debian package {package}")
    return found


def slurm_executables() -> dict[str, str]:
    return {
        "munged": _executable("munged", "munge"),
        "slurmctld": _executable("slurmctld", "slurmctld"),
        "slurmd": _executable("slurmd", "slurmd"),
        "sinfo": _executable("sinfo", "slurm-client"),
        "sbatch": _executable("sbatch", "slurm-client"),
    }


def write_config(directory: Path, ctld_port: int, slurmd_port: int, cpus: int, memory_mb: int) -> Path:
    host = socket.gethostname()  # slurmd identifies itself by the machine's own hostname
    user = getpass.getuser()
    lines = [
        "ClusterName=simgate",
        f"SlurmctldHost={host}(127.0.0.1)",
        f"SlurmctldPort={ctld_port}",
        f"SlurmdPort={slurmd_port}",
        f"SlurmUser={user}",
        f"SlurmdUser={user}",
        "AuthType=auth/munge",
        f"AuthInfo=socket={directory / 'munge' / 'munge.socket.2'}",
        "CredType=cred/munge",
        f"StateSaveLocation={directory / 'state'}",
        f"SlurmdSpoolDir={directory / 'spool'}",
        f"SlurmctldPidFile={directory / 'slurmctld.pid'}",
        f"SlurmdPidFile={directory / 'slurmd.pid'}",
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "JobAcctGatherType=jobacct_gather/none",
        "AccountingStorageType=accounting_storage/none",
        "SchedulerType=sched/backfill",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_Core_Memory",
        "ReturnToService=2",
        "MpiDefault=none",
        "SlurmctldTimeout=30",
        "SlurmdTimeout=30",
        f"NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory_mb} State=UNKNOWN",
        f"PartitionName={PARTITION} Nodes={host} Default=YES MaxTime=INFINITE State=UP",
        "",
    ]
    conf = directory / "slurm.conf"
    conf.write_text("\n".join(lines))
    return conf


def start_slurm(directory: Path, log_dir: Path, *, cpus: int | None = None, memory_mb: int = 4000) -> SlurmCluster:
    tools = slurm_executables()
    directory = directory.resolve()
    for sub in ("munge", "state", "spool"):
        (directory / sub).mkdir(parents=True, exist_ok=True)
    for path in (directory, directory / "munge"):
        path.chmod(0o755)  # munged refuses a socket directory that others may write to
    key = directory / "munge.key"
    if not key.exists():
        key.write_bytes(secrets.token_bytes(1024))
    key.chmod(0o400)
    ctld_port, slurmd_port = free_port(), free_port()
    while slurmd_port == ctld_port:
        slurmd_port = free_port()
    conf = write_config(directory, ctld_port, slurmd_port, cpus or os.cpu_count() or 1, memory_mb)
    cluster = SlurmCluster(conf, PARTITION)
    env = {**os.environ, **cluster.environment}
    socket_path = directory / "munge" / "munge.socket.2"
    try:
        munged = ManagedProcess("munged", [
            tools["munged"], "--foreground", "--force", f"--socket={socket_path}", f"--key-file={key}",
            f"--pid-file={directory / 'munged.pid'}", f"--seed-file={directory / 'munged.seed'}",
            f"--log-file={log_dir / 'munged.log'}"], log_dir / "munged.out", env=env)
        munged.start(ready=socket_path.exists, timeout=20)
        cluster.processes.append(munged)
        ctld = ManagedProcess("slurmctld", [tools["slurmctld"], "-D", "-i", "-L", str(log_dir / "slurmctld.log")],
                              log_dir / "slurmctld.out", env=env)
        ctld.start(ready=lambda: port_open(ctld_port), timeout=30)
        cluster.processes.append(ctld)
        slurmd = ManagedProcess("slurmd", [tools["slurmd"], "-D", "-L", str(log_dir / "slurmd.log")],
                                log_dir / "slurmd.out", env=env)
        slurmd.start(ready=lambda: port_open(slurmd_port), timeout=30)
        cluster.processes.append(slurmd)
        wait_until(lambda: _node_idle(cluster, tools["sinfo"]), timeout=60, what="the Slurm node to be idle")
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _node_idle(cluster: SlurmCluster, sinfo: str) -> bool:
    result = cluster.run(sinfo, "-h", "-o", "%T", check=False)
    return result.returncode == 0 and result.stdout.strip() in ("idle", "mixed", "allocated")
