"""Signing in: the development headers for a local API, an Entra ID token for the API in Azure.

azure-identity is imported only when a token is needed: commands against a local API start fast.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any, Protocol

import httpx

from cli.errors import SignInFailed, UsageProblem
from cli.settings import Settings

DEV_USER_HEADER = "X-Simgate-User"
DEV_ROLES_HEADER = "X-Simgate-Roles"
REFRESH_MARGIN_SECONDS = 120


class TokenSource(Protocol):
    def get_token(self, *scopes: str, **kwargs: Any) -> Any: ...  # an azure.core AccessToken


class DevHeaders(httpx.Auth):
    """The caller for an API in development mode (AUTH_DEV_MODE): trusted headers, no secret."""

    def __init__(self, user: str, roles: str | None = None) -> None:
        self.user = user
        self.roles = roles

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers[DEV_USER_HEADER] = self.user
        if self.roles:
            request.headers[DEV_ROLES_HEADER] = self.roles
        yield request


class BearerToken(httpx.Auth):
    """An Entra ID access token for the API, fetched when first needed and again shortly before it expires."""

    def __init__(self, credential: TokenSource, scope: str) -> None:
        self.credential = credential
        self.scope = scope
        self._token: str | None = None
        self._expires_on = 0.0

    def token(self) -> str:
        if self._token is None or time.time() > self._expires_on - REFRESH_MARGIN_SECONDS:
            access = _signing_in(lambda: self.credential.get_token(self.scope))
            self._token, self._expires_on = access.token, float(access.expires_on)
        return self._token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.token()}"
        yield request


def choose_auth(settings: Settings, credential: Callable[[Settings], TokenSource] | None = None) -> httpx.Auth:
    """The development headers or a bearer token, as ``settings.auth`` says."""
    if settings.auth == "dev":
        return DevHeaders(settings.user, settings.roles)
    if not settings.scope:
        raise UsageProblem(f"to sign in to {settings.url}, set SIMGATE_CLIENT_ID to the client id of the API's "
                           "app registration (or SIMGATE_SCOPE to the token scope); for a local API in development "
                           "mode, set SIMGATE_AUTH=dev")
    return BearerToken((credential or azure_credential)(settings), settings.scope)


def azure_credential(settings: Settings) -> TokenSource:
    """The Azure CLI's sign-in (``az login``) first, then a device-code sign-in remembered between runs."""
    from azure.identity import AzureCliCredential, ChainedTokenCredential

    # azure-identity logs each failed attempt as a warning; the CLI reports the outcome once, itself
    logging.getLogger("azure").addHandler(logging.NullHandler())
    return ChainedTokenCredential(AzureCliCredential(tenant_id=settings.tenant_id),
                                  DeviceCodeSignIn(settings.tenant_id, settings.login_client_id))


class DeviceCodeSignIn:
    """A device-code sign-in whose account is remembered (the token cache of azure-identity and an
    authentication record), so that one sign-in serves later commands until its refresh token expires."""

    def __init__(self, tenant_id: str | None, client_id: str | None, record_path: Path | None = None) -> None:
        from azure.identity import AuthenticationRecord, DeviceCodeCredential, TokenCachePersistenceOptions

        self.record_path = record_path or config_home() / "simgate" / "authentication-record.json"
        record = (AuthenticationRecord.deserialize(self.record_path.read_text())
                  if self.record_path.is_file() else None)
        options: dict[str, Any] = {"tenant_id": tenant_id, "prompt_callback": _print_device_code,
                                   "authentication_record": record,
                                   # encrypted where the platform can; a user-only file otherwise, as the Azure CLI
                                   "cache_persistence_options": TokenCachePersistenceOptions(
                                       name="simgate", allow_unencrypted_storage=True)}
        if client_id:
            options["client_id"] = client_id
        self.credential = DeviceCodeCredential(**options)
        self.remembered = record is not None

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        if not self.remembered:
            record = self.credential.authenticate(scopes=list(scopes))
            self.record_path.parent.mkdir(parents=True, exist_ok=True)
            self.record_path.write_text(record.serialize())
            os.chmod(self.record_path, 0o600)
            self.remembered = True
        return self.credential.get_token(*scopes, **kwargs)


def config_home() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")


def _print_device_code(verification_uri: str, user_code: str, expires_on: Any) -> None:
    print(f"To sign in to simgate, open {verification_uri} and enter the code {user_code}", file=sys.stderr)


def _signing_in(get: Callable[[], Any]) -> Any:
    try:
        return get()
    except Exception as exc:
        from azure.core.exceptions import AzureError

        if not isinstance(exc, AzureError):
            raise
        lines = str(exc).splitlines()
        attempts = [_plain(line.strip()) for line in lines if line.startswith("\t")]
        raise SignInFailed("could not sign in", [*(attempts or lines[:1]),
                                                 "sign in with `az login` (or answer the device-code prompt)"]
                           ) from None


def _plain(attempt: str) -> str:
    for name, said in (("AzureCliCredential", "Azure CLI"), ("DeviceCodeSignIn", "device-code sign-in")):
        attempt = attempt.replace(f"{name}:", f"{said}:", 1)
    return attempt
