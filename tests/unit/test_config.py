import json

import pytest

from shared.config import Settings, StorageCredential, setting_names
from shared.errors import ConfigurationError

BASE = {
    "SimgateStorage__tableServiceUri": "https://example.table.core.windows.net",
    "SimgateStorage__blobServiceUri": "https://example.blob.core.windows.net/",
}
SIMULATOR = {"name": "hpc1", "host": "hpc.example", "user": "sim", "host_key": "ssh-ed25519 AAAAC3Nza"}


def test_missing_settings_are_named():
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_environ({})
    assert "SimgateStorage__tableServiceUri is missing" in caught.value.detail
    assert "SimgateStorage__blobServiceUri is missing" in caught.value.detail


def test_invalid_values_name_the_setting_and_the_rule():
    env = {**BASE, "SimgateStorage__tableServiceUri": "http://plain", "JOBS_QUEUE_MAX_DELIVERY_COUNT": "many"}
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_environ(env)
    detail = caught.value.detail
    assert "SimgateStorage__tableServiceUri must be an https:// URL" in detail
    assert "JOBS_QUEUE_MAX_DELIVERY_COUNT" in detail


def test_names_match_case_insensitively_and_empty_means_unset():
    env = {k.lower(): v for k, v in BASE.items()} | {"SimgateStorage__clientId": "", "AUTH_DEV_MODE": "true"}
    settings = Settings.from_environ(env)
    assert settings.blob_service_uri == "https://example.blob.core.windows.net"
    assert settings.storage_client_id is None
    assert settings.storage_credential is StorageCredential.DEFAULT
    assert settings.auth_dev_mode is True


def test_dev_mode_is_off_unless_turned_on():
    assert Settings.from_environ(BASE).auth_dev_mode is False


@pytest.mark.parametrize(("value", "on"), [("True", True), ("true", True), (" TRUE ", True), ("False", False),
                                           ("1", False), ("yes", False), ("", False), ("anything", False)])
def test_platform_authentication_is_on_only_when_the_platform_says_true(value, on):
    assert Settings.from_environ({**BASE, "WEBSITE_AUTH_ENABLED": value}).platform_auth is on
    assert Settings.from_environ({**BASE, "website_auth_enabled": value}).platform_auth is on


def test_platform_authentication_is_off_unless_set():
    assert Settings.from_environ(BASE).platform_auth is False
    assert setting_names(set_by_platform=True) == {"WEBSITE_AUTH_ENABLED"}


def test_simulators_parse_from_json_with_a_pinned_host_key():
    env = {**BASE, "SIMULATORS": json.dumps([{**SIMULATOR, "private_key_path": "/keys/id"}])}
    (spec,) = Settings.from_environ(env).simulators
    assert spec.port == 22 and spec.scheduler == "direct" and spec.host_key == "ssh-ed25519 AAAAC3Nza"


@pytest.mark.parametrize(
    ("simulators", "expected"),
    [
        ("not json", "setting SIMULATORS is not valid JSON"),
        (json.dumps([{**SIMULATOR, "host_key": "AAAA"}]), "SIMULATORS[0].host_key"),
        (json.dumps([SIMULATOR]), "exactly one of private_key_path"),
        (json.dumps([{**SIMULATOR, "private_key_path": "/k", "scheduler": "pbs"}]), "SIMULATORS[0].scheduler"),
        (json.dumps([{**SIMULATOR, "private_key_path": "/k"}] * 2), "names must be unique, repeated: hpc1"),
    ],
)
def test_bad_simulator_settings_say_what_is_wrong(simulators, expected):
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_environ({**BASE, "SIMULATORS": simulators})
    assert expected in caught.value.detail


def test_private_key_from_a_named_setting():
    spec = {**SIMULATOR, "private_key_setting": "HPC1_SSH_KEY"}
    env = {**BASE, "SIMULATORS": json.dumps([spec])}
    with pytest.raises(ConfigurationError, match="setting HPC1_SSH_KEY .* is missing"):
        Settings.from_environ(env)
    settings = Settings.from_environ({**env, "HPC1_SSH_KEY": "-----BEGIN OPENSSH PRIVATE KEY-----"})
    assert settings.simulator_keys["hpc1"].get_secret_value().startswith("-----BEGIN")
    assert "BEGIN" not in repr(settings)


@pytest.mark.parametrize("url, expected", [
    ("https://simgate.azurewebsites.net/api/", "https://simgate.azurewebsites.net/api"),
    ("http://127.0.0.1:7071/api", "http://127.0.0.1:7071/api"),
    ("http://localhost:7071/api", "http://localhost:7071/api"),
])
def test_the_agent_callback_url_is_https_or_loopback(url, expected):
    assert Settings.from_environ({**BASE, "AGENT_CALLBACK_URL": url}).agent_callback_url == expected


@pytest.mark.parametrize("url", ["http://simgate.example.org/api", "ftp://x/api", "not a url"])
def test_a_callback_url_that_would_send_tokens_in_clear_is_refused(url):
    with pytest.raises(ConfigurationError, match="AGENT_CALLBACK_URL must be an https:// URL"):
        Settings.from_environ({**BASE, "AGENT_CALLBACK_URL": url})
