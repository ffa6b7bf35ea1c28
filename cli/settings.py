"""Where the API is, who signs in and how, and which certificates to trust: from options and the environment."""

from __future__ import annotations

import getpass
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from cli.errors import UsageProblem

DEFAULT_URL = "http://localhost:7071"
AUTH_MODES = ("auto", "dev", "azure")
PROJECT_ROOT = Path(__file__).resolve().parent.parent
LOCAL_CA_BUNDLE = PROJECT_ROOT / ".local" / "certs" / "azurite-cert.pem"


@dataclass(frozen=True)
class Settings:
    url: str  # the API's root, ending in /api
    auth: str  # "dev" or "azure", decided
    user: str
    roles: str | None
    scope: str | None
    tenant_id: str | None
    login_client_id: str | None
    ca_bundle: Path | None

    @property
    def local(self) -> bool:
        return is_loopback(self.url)


def api_root(url: str) -> str:
    """The API's root from what a person types: scheme optional (http for a loopback host, https
    otherwise), with or without /api, trailing slashes ignored."""
    text = url.strip()
    if not text:
        raise UsageProblem("the API URL is empty: set --url or SIMGATE_URL")
    if "://" not in text:
        host = urlsplit(f"//{text}").hostname or ""
        text = f"{'http' if _loopback_host(host) else 'https'}://{text}"
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageProblem(f"the API URL {url!r} is not an http(s) URL like https://simgate.example.org")
    path = parts.path.rstrip("/")
    if not path.endswith("/api"):
        path += "/api"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def is_loopback(url: str) -> bool:
    return _loopback_host(urlsplit(url).hostname or "")


def _loopback_host(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve(url: str | None = None, user: str | None = None, roles: str | None = None, auth: str | None = None,
            ca_bundle: Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    """The settings: each option given, else its SIMGATE_* variable, else its default."""
    env = os.environ if environ is None else environ
    root = api_root(url or env.get("SIMGATE_URL") or DEFAULT_URL)
    mode = (auth or env.get("SIMGATE_AUTH") or "auto").strip().lower()
    if mode not in AUTH_MODES:
        raise UsageProblem(f"the sign-in mode {mode!r} is not one of {', '.join(AUTH_MODES)} (--auth, SIMGATE_AUTH)")
    if mode == "auto":
        mode = "dev" if is_loopback(root) else "azure"
    client_id = env.get("SIMGATE_CLIENT_ID") or None
    scope = env.get("SIMGATE_SCOPE") or (f"api://{client_id}/.default" if client_id else None)
    bundle = ca_bundle or (Path(env["SIMGATE_CA_BUNDLE"]) if env.get("SIMGATE_CA_BUNDLE") else None)
    if bundle is None and is_loopback(root) and LOCAL_CA_BUNDLE.is_file():
        bundle = LOCAL_CA_BUNDLE
    if bundle is not None and not bundle.is_file():
        raise UsageProblem(f"the CA bundle {bundle} does not exist (--ca-bundle, SIMGATE_CA_BUNDLE)")
    return Settings(url=root, auth=mode, user=user or env.get("SIMGATE_USER") or _login_name(),
                    roles=roles or env.get("SIMGATE_ROLES") or None, scope=scope,
                    tenant_id=env.get("SIMGATE_TENANT_ID") or None,
                    login_client_id=env.get("SIMGATE_LOGIN_CLIENT_ID") or None, ca_bundle=bundle)


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "developer"
