"""Generated local credentials: Azurite's TLS certificate and the local simulator's SSH keys.

They live under .local/ (git-ignored) and are made once per machine; none is ever committed.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path


@dataclass(frozen=True)
class SshKeys:
    host_key: Path  # the server's private host key
    host_public: str  # "ssh-ed25519 AAAA..." — what clients pin
    client_key: Path  # the private key the app uses to log in
    authorized_keys: Path


def ensure_tls_certificate(directory: Path) -> TlsFiles:
    """A self-signed certificate for 127.0.0.1 and localhost, valid for a year."""
    files = TlsFiles(directory / "azurite-cert.pem", directory / "azurite-key.pem")
    if files.cert.exists() and files.key.exists() and _still_valid(files.cert):
        return files
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "simgate local Azurite")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    _write_private(files.key, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                serialization.NoEncryption()))
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return files


def _still_valid(cert_path: Path) -> bool:
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    return cert.not_valid_after_utc > datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=7)


def ensure_ssh_keys(directory: Path) -> SshKeys:
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    host_key = directory / "host_ed25519"
    client_key = directory / "id_ed25519"
    host_public = _ensure_ed25519(host_key)
    client_public = _ensure_ed25519(client_key)
    authorized = directory / "authorized_keys"
    authorized.write_text(client_public + " simgate-local\n")
    os.chmod(authorized, 0o600)
    return SshKeys(host_key, host_public, client_key, authorized)


def _ensure_ed25519(path: Path) -> str:
    """The OpenSSH public key line of the key at ``path``, generating the key if needed."""
    if path.exists():
        key = serialization.load_ssh_private_key(path.read_bytes(), password=None)
    else:
        key = ed25519.Ed25519PrivateKey.generate()
        _write_private(path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                               serialization.NoEncryption()))
    return key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
