"""Who is calling: the user signed in through App Service Authentication (Easy Auth) or through the
Static Web App that fronts the API.

Both forward the identity in ``X-MS-CLIENT-PRINCIPAL`` (base64 JSON). App Service Authentication
strips such headers from what callers send, but only while it is on, and the app is reachable
without it; so the header is trusted only where the platform says authentication is on
(``WEBSITE_AUTH_ENABLED``, ``Settings.platform_auth``) and ignored everywhere else. App Service sends
``{auth_typ, name_typ, role_typ, claims: [{typ, val}]}`` (plus ``X-MS-CLIENT-PRINCIPAL-ID``/``-NAME``);
Static Web Apps (and its CLI's sign-in emulator) send ``{identityProvider, userId, userDetails,
userRoles}``.
For local development only, ``AUTH_DEV_MODE=true`` trusts a plain ``X-Simgate-User`` header
(and ``X-Simgate-Roles``). Infra never turns that mode on.

A user is known by their sign-in name (the UPN, lower-cased), because it is the one id both paths
carry: Static Web Apps passes its own per-site user id and the name, never the Entra object id, and
a token the CLI presents to App Service carries the name and the object id. So jobs made in the
browser and from the CLI are the same user's. The object id is used only when a token has no name.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from shared.errors import Unauthorized

PRINCIPAL_HEADER = "x-ms-client-principal"
PRINCIPAL_ID_HEADER = "x-ms-client-principal-id"
PRINCIPAL_NAME_HEADER = "x-ms-client-principal-name"
DEV_USER_HEADER = "x-simgate-user"
DEV_ROLES_HEADER = "x-simgate-roles"

_OBJECT_ID_CLAIMS = ("http://schemas.microsoft.com/identity/claims/objectidentifier", "oid")
_ROLE_CLAIMS = ("roles", "http://schemas.microsoft.com/ws/2008/06/identity/claims/role")
_NAME_CLAIMS = ("name", "preferred_username", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name")
_SIGN_IN_NAME_CLAIMS = ("preferred_username", "upn", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn",
                        "email", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress")
# Every Static Web Apps user has these; they say nothing about what the user may do here.
SWA_BUILT_IN_ROLES = frozenset({"anonymous", "authenticated"})
# User ids become Table partition keys: no '/', '\', '#', '?' and no control characters.
USER_ID = re.compile(r"^[A-Za-z0-9@._+-]{1,128}$")
# Role names Static Web Apps keeps from a roles source (it drops one with a space, for instance).
SITE_ROLE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MAX_SITE_ROLES = 50


@dataclass(frozen=True)
class Principal:
    """The caller. ``is_admin`` is decided once, where the request comes in (see ``Authenticator``)."""

    user_id: str
    name: str
    roles: frozenset[str] = field(default_factory=frozenset)
    is_admin: bool = False


@dataclass(frozen=True)
class Authenticator:
    """Turns a request's headers into a Principal, with the app's admin role, dev mode and platform
    authentication applied."""

    admin_role: str
    dev_mode: bool = False
    platform_auth: bool = False  # App Service Authentication is on: principal headers are the platform's

    def caller(self, headers: Mapping[str, str]) -> Principal:
        principal = authenticate(headers, dev_mode=self.dev_mode, platform_auth=self.platform_auth)
        return replace(principal, is_admin=self.admin_role in principal.roles)


def authenticate(headers: Mapping[str, str], *, dev_mode: bool, platform_auth: bool) -> Principal:
    """The caller's identity, or Unauthorized. ``headers`` must be case-insensitive. The principal
    headers count only with ``platform_auth``: without it, anyone could have sent them."""
    if platform_auth and headers.get(PRINCIPAL_HEADER):
        return _from_easy_auth(headers)
    if dev_mode and headers.get(DEV_USER_HEADER):
        return _from_dev_headers(headers)
    if headers.get(PRINCIPAL_HEADER):
        raise Unauthorized("sign in first: a client principal is trusted only from App Service Authentication, "
                           "which is off for this app")
    raise Unauthorized("sign in first: no authenticated user on this request")


def _from_easy_auth(headers: Mapping[str, str]) -> Principal:
    try:
        payload = json.loads(base64.b64decode(headers[PRINCIPAL_HEADER], validate=False))
        claims = [(str(c["typ"]), str(c["val"])) for c in payload.get("claims") or []]
        if "userId" in payload:
            return _from_static_web_apps(payload, claims)
    except (binascii.Error, ValueError, TypeError, KeyError, AttributeError):
        raise Unauthorized("the client principal header is not valid") from None
    role_types = {payload.get("role_typ"), *_ROLE_CLAIMS} - {None}
    name_types = {payload.get("name_typ"), *_NAME_CLAIMS} - {None}
    header_name = headers.get(PRINCIPAL_NAME_HEADER) or ""
    sign_in_name = _first(claims, _SIGN_IN_NAME_CLAIMS) or (header_name if "@" in header_name else None)
    user_id = (sign_in_name.lower() if sign_in_name
               else headers.get(PRINCIPAL_ID_HEADER) or _first(claims, _OBJECT_ID_CLAIMS))
    name = _first(claims, name_types) or header_name or user_id
    roles = frozenset(v for t, v in claims if t in role_types)
    return _principal(user_id, name, roles)


def _from_static_web_apps(payload: dict, claims: list[tuple[str, str]]) -> Principal:
    listed = payload.get("userRoles") or []
    if not isinstance(listed, list):
        raise TypeError("userRoles must be a list")
    roles = frozenset(str(r) for r in listed) - SWA_BUILT_IN_ROLES
    name = str(payload.get("userDetails") or "") or _first(claims, _NAME_CLAIMS)
    return _principal(name.lower() if name else str(payload["userId"]), name, roles)


def _from_dev_headers(headers: Mapping[str, str]) -> Principal:
    user = headers[DEV_USER_HEADER].strip()
    roles = frozenset(r.strip() for r in headers.get(DEV_ROLES_HEADER, "").split(",") if r.strip())
    return _principal(user, user, roles)


def _principal(user_id: str | None, name: str | None, roles: frozenset[str]) -> Principal:
    if not user_id or not USER_ID.match(user_id):
        raise Unauthorized("the signed-in user has no usable identifier")
    return Principal(user_id=user_id, name=name or user_id, roles=roles)


def app_roles(claims: Iterable[tuple[str, str]]) -> list[str]:
    """The app roles among a sign-in's claims (type, value), each once, sorted, bounded: what the web
    app's roles source answers. Names the site would not keep and its built-in roles are left out."""
    roles = {v for t, v in claims if t in _ROLE_CLAIMS and SITE_ROLE_NAME.match(v)} - SWA_BUILT_IN_ROLES
    return sorted(roles)[:MAX_SITE_ROLES]


def _first(claims: list[tuple[str, str]], types) -> str | None:
    return next((v for t, v in claims if t in types), None)
