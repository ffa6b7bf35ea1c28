"""Logs to Application Insights with their structured fields (``shared.logs``) as custom dimensions.

In Azure the platform sets APPLICATIONINSIGHTS_CONNECTION_STRING; the worker then exports the
``simgate.*`` loggers through the Azure Monitor OpenTelemetry distro, authenticated with the app's
identity (the resource accepts Entra ID only). Without the setting (locally, in tests) nothing is
configured and logs go where the host sends them.
"""

from __future__ import annotations

import logging
import threading

from shared.config import Settings

LOGGER_NAMESPACE = "simgate"
_configured = False
_lock = threading.Lock()
log = logging.getLogger("simgate.telemetry")


def configure(settings: Settings) -> bool:
    """Export simgate's logs to Application Insights once per process; whether it is on."""
    global _configured
    if not settings.insights_connection_string:
        return False
    with _lock:
        if _configured:
            return True
        try:
            from azure.identity import ManagedIdentityCredential
            from azure.monitor.opentelemetry import configure_azure_monitor
        except ImportError:  # the distro is a deployment dependency; a missing one must not stop the app
            log.warning("azure-monitor-opentelemetry is not installed: logs carry no custom dimensions")
            return False
        credential = ManagedIdentityCredential(client_id=settings.storage_client_id) \
            if settings.storage_client_id else None
        configure_azure_monitor(connection_string=settings.insights_connection_string, credential=credential,
                                logger_name=LOGGER_NAMESPACE)
        _configured = True
        return True
