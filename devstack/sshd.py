"""An unprivileged OpenSSH server on a loopback port: the local simulator's front door."""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
from pathlib import Path

from devstack.keys import SshKeys
from devstack.processes import ManagedProcess

SSHD_CANDIDATES = ("/usr/sbin/sshd", "/usr/local/sbin/sshd")


class SshdMissing(RuntimeError):
    pass


def sshd_executable() -> str:
    for candidate in SSHD_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("sshd")
    if found:
        return found
    raise SshdMissing("sshd is not installed: install the Debian package openssh-server")


def write_config(directory: Path, keys: SshKeys, port: int, environment: dict[str, str] | None = None,
                 max_sessions: int = 10) -> Path:
    config = directory / "sshd_config"
    # SetEnv gives every session these variables, e.g. SLURM_CONF for the local Slurm cluster.
    set_env = [f"SetEnv {name}={value}" for name, value in (environment or {}).items()]
    config.write_text(
        "\n".join([
            f"Port {port}",
            "ListenAddress 127.0.0.1",
            f"HostKey {keys.host_key}",
            f"AuthorizedKeysFile {keys.authorized_keys}",
            f"PidFile {directory / 'sshd.pid'}",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PermitRootLogin prohibit-password",
            "UsePAM no",
            # The key files live in the project's .local/ folder, not in ~/.ssh.
            "StrictModes no",
            "PrintMotd no",
            # OpenSSH's own default: simgate's connection pool must stay within it, as on any site.
            f"MaxSessions {max_sessions}",
            "MaxStartups 64:30:128",
            "Subsystem sftp internal-sftp",
            "LogLevel INFO",
            *set_env,
            "",
        ])
    )
    return config


def _banner_ready(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            return sock.recv(16).startswith(b"SSH-")
    except OSError:
        return False


def start_sshd(directory: Path, keys: SshKeys, port: int, log_path: Path,
               environment: dict[str, str] | None = None, max_sessions: int = 10) -> ManagedProcess:
    executable = sshd_executable()
    config = write_config(directory, keys, port, environment, max_sessions)
    if os.geteuid() == 0:
        # Running as root, sshd wants its privilege separation directory.
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    check = subprocess.run([executable, "-t", "-f", str(config)], capture_output=True, text=True)
    if check.returncode != 0:
        raise RuntimeError(f"sshd rejected its configuration: {check.stderr.strip()}")
    process = ManagedProcess("sshd", [executable, "-D", "-e", "-f", str(config)], log_path)
    process.start(ready=lambda: _banner_ready(port), timeout=20)
    return process


def login_user() -> str:
    return getpass.getuser()
