"""Logs reach Application Insights with their fields only where the platform says where to send them."""

import azure.monitor.opentelemetry

from shared import telemetry
from shared.config import Settings
from tests.fakes import TEST_SETTINGS


def test_nothing_is_configured_without_a_connection_string(monkeypatch):
    calls = []
    monkeypatch.setattr(azure.monitor.opentelemetry, "configure_azure_monitor", lambda **kw: calls.append(kw))
    assert telemetry.configure(Settings.from_environ(TEST_SETTINGS)) is False and calls == []


def test_simgates_loggers_are_exported_once_with_the_apps_identity(monkeypatch):
    calls = []
    monkeypatch.setattr(azure.monitor.opentelemetry, "configure_azure_monitor", lambda **kw: calls.append(kw))
    monkeypatch.setattr(telemetry, "_configured", False)
    settings = Settings.from_environ({**TEST_SETTINGS, "SimgateStorage__clientId": "11111111-2222",
                                      "APPLICATIONINSIGHTS_CONNECTION_STRING": "InstrumentationKey=abc"})
    assert telemetry.configure(settings) and telemetry.configure(settings)
    (call,) = calls
    assert call["logger_name"] == "simgate" and call["connection_string"] == "InstrumentationKey=abc"
    assert type(call["credential"]).__name__ == "ManagedIdentityCredential"
