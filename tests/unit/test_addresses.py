"""Where a webhook may go: subscribers' URLs parsed and refused, addresses judged, Retry-After read."""

from datetime import datetime, timedelta, timezone

import pytest

from shared.domain.addresses import AddressRefused, check_addresses, parse_target, refusal, retry_after
from shared.errors import ValidationFailed

REFUSED = {
    "10.0.0.1": "a private address",
    "172.16.0.1": "a private address",
    "192.168.1.1": "a private address",
    "127.0.0.1": "a loopback address",
    "::1": "a loopback address",
    "169.254.169.254": "link-local (cloud metadata)",
    "fe80::1": "link-local",
    "100.64.0.1": "carrier-grade NAT",
    "fc00::1": "a private address",
    "fd00:ec2::254": "AWS metadata",
    "::ffff:10.0.0.1": "IPv4-mapped address for 10.0.0.1, a private address",
    "::ffff:169.254.169.254": "IPv4-mapped address for 169.254.169.254, link-local (cloud metadata)",
    "2002:a00:1::": "6to4 address for 10.0.0.1, a private address",
    "64:ff9b::a9fe:a9fe": "NAT64 address for 169.254.169.254",
    "::a00:1": "IPv4-compatible address for 10.0.0.1",
    "224.0.0.1": "multicast",
    "ff02::1": "multicast",
    "0.0.0.0": "unspecified",
    "::": "unspecified",
    "168.63.129.16": "Azure platform address",
    "100.100.100.200": "metadata",
    "255.255.255.255": "not a public address",
    "0.1.2.3": "not a public address",
    "192.0.2.1": "not a public address",  # documentation
    "198.18.0.1": "not a public address",  # benchmarking
    "240.0.0.1": "not a public address",  # reserved
    "fec0::1": "site-local",
    "2001:db8::1": "not a public address",
}
ALLOWED = ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "93.184.216.34", "::ffff:8.8.8.8", "64:ff9b::808:808"]


@pytest.mark.parametrize("address, why", REFUSED.items())
def test_an_address_that_is_not_public_is_refused_with_what_it_is(address, why):
    reason = refusal(address, allow_loopback=False)
    assert reason is not None and reason.startswith(f"{address} is ") and why in reason


@pytest.mark.parametrize("address", ALLOWED)
def test_a_public_address_is_allowed(address):
    assert refusal(address, allow_loopback=False) is None


@pytest.mark.parametrize("address", ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"])
def test_loopback_is_allowed_only_when_asked(address):
    assert refusal(address, allow_loopback=True) is None
    assert "loopback" in refusal(address, allow_loopback=False)


@pytest.mark.parametrize("address", [a for a in REFUSED if "loopback" not in REFUSED[a]])
def test_allowing_loopback_allows_nothing_else(address):
    assert refusal(address, allow_loopback=True) is not None


@pytest.mark.parametrize("text", ["", "example.com", "10.0.0.256", "::g", "1.2.3.4/32", "[::1]"])
def test_text_that_is_no_address_is_refused_without_raising(text):
    assert refusal(text, allow_loopback=True) == f"{text} is not an IP address"


# --- check_addresses ---


def test_the_checked_addresses_come_back_deduplicated_in_order():
    addresses = ["2606:4700:4700::1111", "8.8.8.8", "2606:4700:4700::1111", "1.1.1.1", "8.8.8.8"]
    assert check_addresses("h.example", addresses, allow_loopback=False) == [
        "2606:4700:4700::1111", "8.8.8.8", "1.1.1.1"]


def test_a_name_that_resolves_to_nothing_is_refused():
    with pytest.raises(AddressRefused) as refused:
        check_addresses("nowhere.example", [], allow_loopback=False)
    assert refused.value.detail == "nowhere.example does not resolve"
    assert refused.value.errors == [{"field": "url", "message": "nowhere.example does not resolve"}]


def test_one_refused_address_among_public_ones_refuses_the_name_and_says_which():
    with pytest.raises(AddressRefused) as refused:
        check_addresses("metadata.example", ["8.8.8.8", "169.254.169.254"], allow_loopback=False)
    message = "metadata.example resolves to 169.254.169.254, which is link-local (cloud metadata)"
    assert refused.value.detail == message
    assert refused.value.errors == [{"field": "url", "message": message}]
    assert isinstance(refused.value, ValidationFailed)  # a 422 at the edge


def test_loopback_names_pass_only_when_loopback_is_allowed():
    assert check_addresses("localhost", ["127.0.0.1", "::1"], allow_loopback=True) == ["127.0.0.1", "::1"]
    with pytest.raises(AddressRefused, match="localhost resolves to 127.0.0.1, which is a loopback address"):
        check_addresses("localhost", ["127.0.0.1"], allow_loopback=False)
    with pytest.raises(AddressRefused, match="10.0.0.1, which is a private address"):
        check_addresses("mixed.test", ["127.0.0.1", "10.0.0.1"], allow_loopback=True)


# --- parse_target ---


@pytest.mark.parametrize("url, expected", [
    ("https://example.com", ("https://example.com/", "example.com", 443, "/")),
    ("HTTPS://Example.COM/Hook", ("https://example.com/Hook", "example.com", 443, "/Hook")),
    ("https://example.com:443/a?b=1&c", ("https://example.com/a?b=1&c", "example.com", 443, "/a?b=1&c")),
    ("https://example.com:8443?x=1", ("https://example.com:8443/?x=1", "example.com", 8443, "/?x=1")),
    ("https://example.com/a?", ("https://example.com/a", "example.com", 443, "/a")),
    ("https://Bücher.Example/ü?q=ä", ("https://xn--bcher-kva.example/%C3%BC?q=%C3%A4", "xn--bcher-kva.example",
                                       443, "/%C3%BC?q=%C3%A4")),
    ("https://example.com/a%20b", ("https://example.com/a%20b", "example.com", 443, "/a%20b")),
    ("https://8.8.8.8/x", ("https://8.8.8.8/x", "8.8.8.8", 443, "/x")),
    ("https://[2606:4700:4700:0::1111]:8443/",
     ("https://[2606:4700:4700::1111]:8443/", "2606:4700:4700::1111", 8443, "/")),
])
def test_a_url_is_normalised(url, expected):
    target = parse_target(url, allow_loopback_http=False)
    assert (target.url, target.host, target.port, target.path) == expected
    assert target.scheme == "https"
    assert parse_target(target.url, allow_loopback_http=False) == target


@pytest.mark.parametrize("url, message", [
    (None, "must be a string"),
    (b"https://example.com/", "must be a string"),
    ("", "is empty"),
    ("https://example.com/" + "a" * 1990, "longer than 2000"),
    ("https://exa mple.com/", "whitespace or control"),
    ("https://example.com/a\tb", "whitespace or control"),
    ("https://example.com/\n", "whitespace or control"),
    ("https://example.com/\x00", "whitespace or control"),
    (" https://example.com/", "whitespace or control"),
    ("https://[::1/", "cannot be parsed"),
    ("http://example.com/", "must use https"),
    ("ftp://example.com/", "must use https"),
    ("example.com/hook", "must use https"),
    ("//example.com/hook", "must use https"),
    ("https:///hook", "has no host"),
    ("https://", "has no host"),
    ("https://user:pw@example.com/", "user name or password"),
    ("https://user@example.com/", "user name or password"),
    ("https://@example.com/", "user name or password"),
    ("https://example.com/#frag", "fragment"),
    ("https://example.com/#", "fragment"),
    ("https://example.com:0/", "port"),
    ("https://example.com:65536/", "port"),
    ("https://example.com:-1/", "port"),
    ("https://example.com:https/", "port"),
    ("https://a..b.example/", "not a valid host name"),
    ("https://" + "a" * 64 + ".example/", "not a valid host name"),
    ("https://exa<mple.com/", "not a valid host name"),
    ("https://%31%30.0.0.1/", "not a valid host name"),
    ("https://127.1/", "not a valid host name"),
    ("https://2130706433/", "not a valid host name"),
    ("https://0x7f.0.0.1/", "not a valid host name"),
    ("https://010.0.0.1/", "not a valid host name"),
    ("https://10.0.0.1/", "10.0.0.1 is a private address"),
    ("https://[::1]/", "::1 is a loopback address"),
    ("https://127.0.0.1:8443/", "127.0.0.1 is a loopback address"),
    ("https://169.254.169.254/latest/meta-data/", "169.254.169.254 is link-local (cloud metadata)"),
    ("https://[::ffff:169.254.169.254]/", "cloud metadata"),
    ("https://[fe80::1%25eth0]/", "link-local"),
    ("https://168.63.129.16/", "Azure platform address"),
])
def test_a_url_simgate_never_sends_to_is_refused_naming_the_url_field(url, message):
    with pytest.raises(AddressRefused) as refused:
        parse_target(url, allow_loopback_http=False)
    assert message in refused.value.detail
    assert "\n" not in refused.value.detail
    assert refused.value.errors == [{"field": "url", "message": refused.value.detail}]


def test_http_and_loopback_are_accepted_for_local_development_only():
    target = parse_target("HTTP://127.0.0.1:7071/hook", allow_loopback_http=True)
    assert (target.url, target.scheme, target.host, target.port) == ("http://127.0.0.1:7071/hook", "http",
                                                                     "127.0.0.1", 7071)
    assert parse_target("http://localhost/", allow_loopback_http=True).port == 80
    assert parse_target("https://[::1]/", allow_loopback_http=True).host == "::1"
    with pytest.raises(AddressRefused, match="private"):
        parse_target("http://10.0.0.1/", allow_loopback_http=True)
    with pytest.raises(AddressRefused, match="must use https"):
        parse_target("http://127.0.0.1:7071/hook", allow_loopback_http=False)


def test_a_name_is_not_resolved_when_parsing():
    # Only literal addresses are judged here: a name's addresses are checked when it is resolved.
    assert parse_target("https://metadata.google.internal/", allow_loopback_http=False).host == \
        "metadata.google.internal"


# --- retry_after ---

NOW = datetime(2026, 5, 1, 12, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("value, seconds", [
    ("7", 7.0),
    (" 120 ", 120.0),
    ("0", 0.0),
    ("Fri, 01 May 2026 12:00:30 GMT", 30.0),
    ("Fri, 01 May 2026 13:00:00 +0100", 0.0),
    ("Fri, 01 May 2026 12:01:00 -0000", 60.0),
    ("Thu, 30 Apr 2026 12:00:00 GMT", 0.0),  # already past: never negative
    (None, None),
    ("", None),
    ("soon", None),
    ("-5", None),
    ("1.5", None),
    ("²", None),
    ("Fri, 41 May 2026 12:00:30 GMT", None),
])
def test_retry_after_reads_seconds_or_an_http_date(value, seconds):
    assert retry_after(value, NOW) == seconds


def test_retry_after_is_relative_to_now():
    later = NOW + timedelta(seconds=10)
    assert retry_after("Fri, 01 May 2026 12:00:30 GMT", later) == 20.0
