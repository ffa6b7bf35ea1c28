"""Where a webhook may go: a subscriber's URL parsed and checked, and the addresses it may reach.

Pure: no resolution and no sockets here (the sender adapter resolves and connects, checking every
address with ``refusal`` first).
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Sequence
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Literal
from urllib.parse import SplitResult, quote, urlsplit

from pydantic import BaseModel, ConfigDict

from shared.errors import ValidationFailed

ErrorClass = Literal["refused_address", "dns", "connect", "timeout", "tls", "redirect", "http_status", "gone",
                     "rate_limited", "unavailable"]


class AddressRefused(ValidationFailed):
    """A subscriber's URL names an address simgate never sends to."""


class Target(BaseModel):
    """A subscriber's URL, parsed: where to connect and what to ask for."""

    model_config = ConfigDict(frozen=True)

    url: str  # as normalised (scheme and host lowercase)
    scheme: Literal["https", "http"]
    host: str  # a name in its IDNA (ASCII) form, or an address without brackets
    port: int
    path: str  # the path and query, at least "/"


class DeliveryResult(BaseModel):
    """What one POST to a subscriber came to. ``status`` is None when no answer arrived."""

    model_config = ConfigDict(frozen=True)

    status: int | None = None
    latency_ms: float = 0.0
    error_class: ErrorClass | None = None  # None: delivered (a 2xx)
    error: str = ""  # one line, never the receiver's body
    retry_after_seconds: float | None = None  # from a 429 or 503's Retry-After
    address: str | None = None  # the address connected to

    @property
    def delivered(self) -> bool:
        return self.error_class is None


# --- a subscriber's URL ---

MAX_URL_LENGTH = 2000
_DEFAULT_PORTS = {"https": 443, "http": 80}
_HOST_NAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?")
_NUMERIC_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*")
# What may stay as written in a path or query; anything else (non-ASCII, quotes, braces) is percent-encoded.
_PATH_SAFE = "!$%&'()*+,/:;=?@[]~"
_DELTA_SECONDS = re.compile(r"[0-9]+")


def url_refused(message: str) -> AddressRefused:
    """The error for a subscriber's URL that simgate will not send to, naming the ``url`` field."""
    return AddressRefused(message, errors=[{"field": "url", "message": message}])


def parse_target(url: str, *, allow_loopback_http: bool) -> Target:
    """Parse and normalise a subscriber's URL, refusing what simgate never sends to.

    A literal address is checked here; a name can only be checked once resolved (``check_addresses``).
    ``allow_loopback_http`` (local development) also accepts http, and loopback literals."""
    _check_text(url)
    try:
        parts = urlsplit(url)
    except ValueError:
        raise url_refused("the URL cannot be parsed") from None
    scheme = _scheme(parts.scheme, allow_loopback_http=allow_loopback_http)
    if "@" in parts.netloc:
        raise url_refused("the URL must not contain a user name or password")
    if "#" in url:
        raise url_refused("the URL must not contain a fragment (#...)")
    if not parts.hostname:
        raise url_refused("the URL has no host")
    host = _host(parts.hostname, allow_loopback=allow_loopback_http)
    port = _port(parts) or _DEFAULT_PORTS[scheme]
    path = _path(parts)
    netloc = f"[{host}]" if ":" in host else host
    if port != _DEFAULT_PORTS[scheme]:
        netloc += f":{port}"
    return Target(url=f"{scheme}://{netloc}{path}", scheme=scheme, host=host, port=port, path=path)


def _check_text(url: object) -> None:
    if not isinstance(url, str):
        raise url_refused("the URL must be a string")
    if not url:
        raise url_refused("the URL is empty")
    if len(url) > MAX_URL_LENGTH:
        raise url_refused(f"the URL is longer than {MAX_URL_LENGTH} characters")
    # urlsplit silently drops tabs and newlines: refuse them before it can.
    if any(c.isspace() or unicodedata.category(c) == "Cc" for c in url):
        raise url_refused("the URL contains whitespace or control characters")


def _scheme(scheme: str, *, allow_loopback_http: bool) -> Literal["https", "http"]:
    scheme = scheme.lower()
    if scheme == "https":
        return "https"
    if scheme == "http" and allow_loopback_http:
        return "http"
    raise url_refused("the URL must use https")


def _port(parts: SplitResult) -> int | None:
    """The port the URL names, None for the scheme's default."""
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise url_refused("the URL's port must be a number from 1 to 65535")
    return port


def _path(parts: SplitResult) -> str:
    """The path and query as sent in the request line: ASCII only, at least "/"."""
    path = quote(parts.path or "/", safe=_PATH_SAFE)
    return f"{path}?{quote(parts.query, safe=_PATH_SAFE)}" if parts.query else path


def _host(hostname: str, *, allow_loopback: bool) -> str:
    """The host as connected to: an address (checked now) or a name in its IDNA form."""
    try:
        address = ipaddress.ip_address(hostname)
    except ValueError:
        return _host_name(hostname)
    if reason := refusal(hostname, allow_loopback=allow_loopback):
        raise url_refused(reason)
    return str(address)


def _host_name(hostname: str) -> str:
    try:  # a trailing dot ("example.org.") names the same host, but TLS would match it against no name
        name = hostname.rstrip(".").encode("idna").decode("ascii")
    except UnicodeError:
        raise url_refused(f"the URL's host {hostname!r} is not a valid host name") from None
    # A numeric last label would be read as an address by the resolver ("127.1", "2130706433").
    if not _HOST_NAME.fullmatch(name) or _NUMERIC_LABEL.fullmatch(name.rstrip(".").rsplit(".", 1)[-1]):
        raise url_refused(f"the URL's host {hostname!r} is not a valid host name or address")
    return name


# --- the addresses it may reach ---

# Platform endpoints on every cloud VM; 168.63.129.16 is even globally routable, so it must be named.
_PLATFORM = {
    ipaddress.ip_address("169.254.169.254"): "link-local (cloud metadata)",
    ipaddress.ip_address("fd00:ec2::254"): "the AWS metadata address",
    ipaddress.ip_address("168.63.129.16"): "the Azure platform address (wire server)",
    ipaddress.ip_address("100.100.100.200"): "the Alibaba Cloud metadata address",
}
_PRIVATE = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")]
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Special-purpose ranges some Python versions call global (192.0.0.8 and 6to4 relays on 3.11)
_SPECIAL = [ipaddress.ip_network(n) for n in ("192.0.0.0/24", "192.88.99.0/24")]

_Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def refusal(address: str, *, allow_loopback: bool) -> str | None:
    """None when simgate may connect to ``address``, else why not ("10.0.0.1 is a private address")."""
    why = _why_refused(address, allow_loopback=allow_loopback)
    return f"{address} {why}" if why else None


def check_addresses(host: str, addresses: Sequence[str], *, allow_loopback: bool) -> list[str]:
    """The addresses ``host`` resolved to, deduplicated in order; AddressRefused if there are none or any
    one is refused (a name with one private address among public ones is refused whole)."""
    if not addresses:
        raise url_refused(f"{host} does not resolve")
    for address in addresses:
        if why := _why_refused(address, allow_loopback=allow_loopback):
            raise url_refused(f"{host} resolves to {address}, which {why}")
    return list(dict.fromkeys(addresses))


def _why_refused(address: str, *, allow_loopback: bool) -> str | None:
    """Why simgate must not connect to ``address`` ("is a private address"); None when it may."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "is not an IP address"
    what = _refused_as(ip, allow_loopback=allow_loopback)
    return f"is {what}" if what else None


def _refused_as(ip: _Address, *, allow_loopback: bool) -> str | None:
    """What ``ip`` is, as a noun phrase, when simgate must not connect to it; None when it may."""
    if ip in _PLATFORM:
        return _PLATFORM[ip]
    if isinstance(ip, ipaddress.IPv6Address):
        for kind, embedded in _embedded_ipv4(ip):
            if why := _refused_as(embedded, allow_loopback=allow_loopback):
                return f"{kind} address for {embedded}, {why}"
        if ip.ipv4_mapped or ip in _NAT64:
            return None  # the IPv4 address checked above is where it goes
    if ip.is_unspecified:
        return "the unspecified address"
    if ip.is_loopback:
        return None if allow_loopback else "a loopback address"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return "site-local"
    if ip in _SHARED:
        return "shared address space (carrier-grade NAT)"
    if any(ip in network for network in _PRIVATE):
        return "a private address"
    if ip.is_reserved or not ip.is_global or any(ip in network for network in _SPECIAL):
        return "not a public address"
    return None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[tuple[str, ipaddress.IPv4Address]]:
    """The IPv4 addresses an IPv6 address carries, each with how it carries it: a connection to it may end
    at that IPv4 address (a mapped address on a dual-stack socket, a NAT64 gateway, a tunnel relay)."""
    if ip.ipv4_mapped:
        return [("an IPv4-mapped", ip.ipv4_mapped)]
    if ip in _NAT64:
        return [("a NAT64", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))]
    if ip.sixtofour:
        return [("a 6to4", ip.sixtofour)]
    if ip.teredo:
        server, client = ip.teredo
        return [("a Teredo", server), ("a Teredo", client)]
    if 1 < int(ip) <= 0xFFFFFFFF:
        return [("an IPv4-compatible", ipaddress.IPv4Address(int(ip)))]
    return []


# --- the receiver's answer ---


def retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP-date); None when absent or
    unparseable, 0 for a date already past."""
    if value is None:
        return None
    value = value.strip()
    if _DELTA_SECONDS.fullmatch(value):
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000": UTC with no claim about local time
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - now).total_seconds())
