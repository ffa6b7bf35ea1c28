"""The one reader of the environment: typed, validated app settings.

Names follow Azure's identity-based connection convention where one exists
(``<Connection>__tableServiceUri``, ``__credential``, ``__clientId``), so the same names work with
managed identity in Azure and with Azurite locally. Every name read here is listed in
``local.settings.sample.json``, except those the platform itself sets (``SET_BY_PLATFORM``).
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping, Sequence
from enum import Enum
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator

from shared.domain.notifications import DEFAULT_SCHEDULE, parse_schedule
from shared.domain.sites import SiteLimits, checked_licences
from shared.domain.sweeps import DEFAULT_MAX_MEMBERS, MAX_MEMBERS_LIMIT
from shared.errors import ConfigurationError, error_location, error_message

STORAGE = "SimgateStorage"
# Marks settings that exist only for the local stack: infra never sets them.
LOCAL_ONLY = {"local_only": True}
# Marks settings the Functions host reads too (its Service Bus trigger connection): infra sets them
# with the platform's settings.
BINDING = {"binding": True}
SERVICE_BUS = "ServiceBusConnection"
# Marks settings that App Service sets itself, never a person, infra or local.settings.json (the local
# host sets them as the platform would).
SET_BY_PLATFORM = {"set_by_platform": True}


class StorageCredential(str, Enum):
    """How the app authenticates to Storage. All three use Entra ID tokens, never account keys."""

    DEFAULT = "default"  # DefaultAzureCredential: az login, environment, workload identity, ...
    MANAGED_IDENTITY = "managedidentity"  # the Function app's user-assigned identity
    AZURITE = "azurite"  # the local emulator: a locally minted token Azurite accepts


_HOST_KEY_TYPES = {
    "ssh-ed25519",
    "ssh-rsa",
    "rsa-sha2-256",
    "rsa-sha2-512",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
}


class SimulatorSpec(BaseModel):
    """One SSH-reachable simulator. Its host key is pinned: no key, no connection."""

    model_config = {"extra": "forbid", "frozen": True}

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")
    host: str = Field(min_length=1)
    port: int = Field(default=22, ge=1, le=65535)
    user: str = Field(min_length=1)
    host_key: str = Field(description='The server\'s public host key, "<type> <base64>"')
    private_key_path: Path | None = None
    # The name of an app setting that holds the PEM key; in Azure that setting is a Key Vault
    # reference (@Microsoft.KeyVault(...)), resolved by the platform with the app's identity.
    private_key_setting: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    scheduler: Literal["direct", "slurm"] = "direct"
    workdir: str = "simgate-jobs"
    python: str = "python3"
    slurm_partition: str | None = None
    slurm_account: str | None = None
    # The governor's limits (shared/domain/sites.py): jobs on the site from their start until they leave
    # it, solver licences by name, and jobs of one user at once.
    max_parallel_jobs: int = Field(default=4, ge=1, le=1000)
    licences: dict[str, int] = Field(default_factory=dict, max_length=50)
    max_jobs_per_user: int | None = Field(default=None, ge=1, le=10_000)
    # False for a site whose compute nodes cannot reach simgate: its agents keep their live channel in
    # the job's directory, and the app pulls it over SSH for jobs someone follows.
    nodes_call_out: bool = True

    @field_validator("host_key")
    @classmethod
    def _host_key_shape(cls, value: str) -> str:
        parts = value.split()
        if len(parts) < 2 or parts[0] not in _HOST_KEY_TYPES:
            raise ValueError('must be "<key type> <base64 key>", e.g. a line of ssh-keyscan output without the host')
        return " ".join(parts[:2])

    @field_validator("licences")
    @classmethod
    def _licence_names_and_counts(cls, value: dict[str, int]) -> dict[str, int]:
        return checked_licences(value)

    @property
    def limits(self) -> SiteLimits:
        return SiteLimits(max_parallel_jobs=self.max_parallel_jobs, licences=dict(self.licences),
                          max_jobs_per_user=self.max_jobs_per_user)

    @model_validator(mode="after")
    def _one_private_key_source(self) -> "SimulatorSpec":
        if (self.private_key_path is None) == (self.private_key_setting is None):
            raise ValueError("set exactly one of private_key_path (a file) or private_key_setting (an app setting)")
        return self


def simulator_named(specs: Sequence[SimulatorSpec], name: str | None) -> SimulatorSpec | None:
    """The configured simulator of that name, or None where none is (any more)."""
    return next((spec for spec in specs if spec.name == name), None)


class Settings(BaseModel):
    """Built only by ``from_environ``: field names are the app settings' own names (the aliases)."""

    model_config = {"extra": "ignore", "frozen": True}

    table_service_uri: str = Field(validation_alias=f"{STORAGE}__tableServiceUri")
    blob_service_uri: str = Field(validation_alias=f"{STORAGE}__blobServiceUri")
    # The local stand-in for the Service Bus job queue (an Azure Storage queue in Azurite).
    queue_service_uri: str | None = Field(
        default=None, validation_alias=f"{STORAGE}__queueServiceUri", json_schema_extra=LOCAL_ONLY
    )
    storage_credential: StorageCredential = Field(
        default=StorageCredential.DEFAULT, validation_alias=f"{STORAGE}__credential"
    )
    storage_client_id: str | None = Field(default=None, validation_alias=f"{STORAGE}__clientId")
    # Local only: an extra CA certificate to trust (Azurite's self-signed one). Never set in Azure.
    storage_ca_bundle: Path | None = Field(
        default=None, validation_alias=f"{STORAGE}__caBundle", json_schema_extra=LOCAL_ONLY
    )

    cases_table: str = Field(default="cases", validation_alias="CASES_TABLE", pattern=r"^[A-Za-z][A-Za-z0-9]{2,62}$")
    jobs_table: str = Field(default="jobs", validation_alias="JOBS_TABLE", pattern=r"^[A-Za-z][A-Za-z0-9]{2,62}$")
    scripts_container: str = Field(
        default="case-scripts", validation_alias="SCRIPTS_CONTAINER", pattern=r"^[a-z0-9](-?[a-z0-9]){2,62}$"
    )
    outputs_container: str = Field(
        default="job-outputs", validation_alias="OUTPUTS_CONTAINER", pattern=r"^[a-z0-9](-?[a-z0-9]){2,62}$"
    )

    # Set in Azure: the job queue is Service Bus. Unset locally: the Storage queue stands in for it.
    service_bus_namespace: str | None = Field(
        default=None, validation_alias=f"{SERVICE_BUS}__fullyQualifiedNamespace", json_schema_extra=BINDING
    )
    service_bus_client_id: str | None = Field(
        default=None, validation_alias=f"{SERVICE_BUS}__clientId", json_schema_extra=BINDING
    )
    jobs_queue: str = Field(default="jobs", validation_alias="JOBS_QUEUE", pattern=r"^[a-z0-9](-?[a-z0-9]){2,50}$")
    jobs_queue_max_delivery_count: int = Field(default=5, ge=1, le=100, validation_alias="JOBS_QUEUE_MAX_DELIVERY_COUNT")

    auth_dev_mode: bool = Field(default=False, validation_alias="AUTH_DEV_MODE", json_schema_extra=LOCAL_ONLY)
    admin_role: str = Field(default="simgate.admin", min_length=1, validation_alias="ADMIN_ROLE")
    # Whether App Service Authentication runs in front of the app: only then are client principal
    # headers the platform's (it strips those callers send). "True" in any case means on, as
    # Microsoft.Identity.Web reads it; anything else, or unset, means off.
    platform_auth: bool = Field(default=False, validation_alias="WEBSITE_AUTH_ENABLED",
                                json_schema_extra=SET_BY_PLATFORM)

    simulators: list[SimulatorSpec] = Field(default_factory=list, validation_alias="SIMULATORS")
    # The API's base URL as simulators reach it ("https://<app>.azurewebsites.net/api"): agents post
    # their status webhooks under it.
    agent_callback_url: str | None = Field(default=None, validation_alias="AGENT_CALLBACK_URL")
    # How long the agent retries one request (a webhook, an upload) before it gives up and leaves the
    # job to the reconciler.
    agent_retry_seconds: int = Field(default=300, ge=1, le=86400, validation_alias="AGENT_RETRY_SECONDS")
    # A start whose simulator cannot be reached waits (the job stays submitted, retried with back-off
    # of at most SIMULATOR_RETRY_MAX_SECONDS) for this long before the job fails.
    simulator_wait_hours: float = Field(default=24, gt=0, le=24 * 14, validation_alias="SIMULATOR_WAIT_HOURS")
    simulator_retry_max_seconds: int = Field(default=300, ge=1, le=3600, validation_alias="SIMULATOR_RETRY_MAX_SECONDS")
    # Each app instance holds at most this many SSH connections per simulator, each carrying at most
    # SIMULATOR_MAX_CHANNELS commands at once (OpenSSH's MaxSessions is 10 by default). In Azure the
    # budget per site is this times the app's maximum instance count (infra derives one from the other).
    simulator_max_connections: int = Field(default=2, ge=1, le=50, validation_alias="SIMULATOR_MAX_CONNECTIONS")
    simulator_max_channels: int = Field(default=8, ge=1, le=64, validation_alias="SIMULATOR_MAX_CHANNELS")
    # The reconciler's timer (NCRONTAB, six fields; the Functions host reads it as %RECONCILE_SCHEDULE%)
    # and how long an active job may go unchanged before the reconciler asks its simulator about it.
    reconcile_schedule: str = Field(default="0 */5 * * * *", validation_alias="RECONCILE_SCHEDULE")
    # How often the live channels of followed jobs on sites whose nodes cannot call out are pulled
    # (NCRONTAB; the Functions host reads it as %LIVE_PULL_SCHEDULE%)
    live_pull_schedule: str = Field(default="*/10 * * * * *", validation_alias="LIVE_PULL_SCHEDULE")
    reconcile_stale_after_seconds: int = Field(default=600, ge=1, le=7 * 86400,
                                               validation_alias="RECONCILE_STALE_AFTER_SECONDS")
    # A conditional answer (If-None-Match) may come from this instance's memory of the job for this long;
    # changes made through this instance show at once, those made through another within this time.
    sweep_max_members: int = Field(default=DEFAULT_MAX_MEMBERS, ge=1, le=MAX_MEMBERS_LIMIT,
                                   validation_alias="SWEEP_MAX_MEMBERS")
    # Notifications (signed webhooks to users' own systems): their Service Bus queue, how many
    # subscriptions a user may have, the retry schedule (seconds before each attempt; Standard Webhooks'
    # by default), how long an endpoint may fail before it is disabled, and the catch-up timer (NCRONTAB,
    # %NOTIFY_SCAN_SCHEDULE%) that finds job changes whose wake was lost.
    notify_queue: str = Field(default="notifications", validation_alias="NOTIFY_QUEUE",
                              pattern=r"^[a-z0-9](-?[a-z0-9]){2,50}$")
    notify_max_subscriptions: int = Field(default=20, ge=1, le=1000, validation_alias="NOTIFY_MAX_SUBSCRIPTIONS")
    notify_retry_schedule: str = Field(default=",".join(f"{d:g}" for d in DEFAULT_SCHEDULE),
                                       validation_alias="NOTIFY_RETRY_SCHEDULE")
    notify_disable_after_hours: float = Field(default=120, gt=0, le=24 * 30,
                                              validation_alias="NOTIFY_DISABLE_AFTER_HOURS")
    notify_scan_schedule: str = Field(default="30 * * * * *", validation_alias="NOTIFY_SCAN_SCHEDULE")
    # Local only, never in Azure: webhooks may go to http://127.0.0.1 (test receivers). Everything else
    # stays refused: https only, public addresses only.
    notify_allow_loopback_http: bool = Field(default=False, validation_alias="NOTIFY_ALLOW_LOOPBACK_HTTP",
                                             json_schema_extra=LOCAL_ONLY)
    follow_fresh_seconds: float = Field(default=10, ge=0, le=60, validation_alias="FOLLOW_FRESH_SECONDS")
    # Set by the platform in Azure: where the worker exports its logs (see shared/telemetry.py).
    insights_connection_string: str | None = Field(
        default=None, validation_alias="APPLICATIONINSIGHTS_CONNECTION_STRING", json_schema_extra=BINDING
    )
    # PEM private keys read from the settings that simulators name in ``private_key_setting``.
    simulator_keys: dict[str, SecretStr] = Field(default_factory=dict, exclude=True)

    @field_validator("table_service_uri", "blob_service_uri", "queue_service_uri")
    @classmethod
    def _https_only(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("https://"):
            raise ValueError("must be an https:// URL (tokens are never sent over plain http)")
        return value.rstrip("/") if value else value

    @field_validator("agent_callback_url")
    @classmethod
    def _callback_https(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
        if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
            raise ValueError("must be an https:// URL (plain http only for a loopback address)")
        return value.rstrip("/")

    @field_validator("platform_auth", mode="before")
    @classmethod
    def _true_only_when_true(cls, value: object) -> object:
        return value.strip().lower() == "true" if isinstance(value, str) else value

    @field_validator("reconcile_schedule", "live_pull_schedule", "notify_scan_schedule")
    @classmethod
    def _ncrontab(cls, value: str) -> str:
        if len(value.split()) != 6:
            raise ValueError('must be a six-field NCRONTAB expression, e.g. "0 */5 * * * *" (every 5 minutes)')
        return value

    @field_validator("notify_retry_schedule")
    @classmethod
    def _a_retry_schedule(cls, value: str) -> str:
        parse_schedule(value)
        return value

    @property
    def notify_schedule(self) -> tuple[float, ...]:
        return parse_schedule(self.notify_retry_schedule)

    @field_validator("simulators", mode="before")
    @classmethod
    def _parse_simulators(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                return json.loads(value) if value.strip() else []
            except json.JSONDecodeError as exc:
                raise ValueError(f"is not valid JSON ({exc.msg} at position {exc.pos})") from None
        return value

    @model_validator(mode="after")
    def _unique_simulator_names(self) -> "Settings":
        names = [s.name for s in self.simulators]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"setting SIMULATORS: names must be unique, repeated: {', '.join(duplicates)}")
        return self

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        """Read and validate settings; raise ConfigurationError naming every bad setting."""
        source = dict(os.environ if environ is None else environ)
        try:
            settings = cls(**_aliased(source))
        except ValidationError as exc:
            names = sorted({_setting_name(error["loc"]) for error in exc.errors()} - {""})
            raise ConfigurationError(_describe(exc), errors=[{"field": name, "message": "invalid setting"}
                                                             for name in names]) from None
        keys, missing = {}, []
        for spec in settings.simulators:
            if spec.private_key_setting:
                value = _lookup(source, spec.private_key_setting)
                if value:
                    keys[spec.name] = SecretStr(value)
                else:
                    missing.append(f"setting {spec.private_key_setting} (the key of simulator {spec.name}) is missing")
        if missing:
            raise ConfigurationError("invalid configuration: " + "; ".join(missing))
        return settings.model_copy(update={"simulator_keys": keys})


def _lookup(environ: Mapping[str, str], name: str) -> str | None:
    return next((v for k, v in environ.items() if k.lower() == name.lower()), None)


def setting_names(*, local_only: bool | None = None, binding: bool | None = None,
                  set_by_platform: bool | None = None) -> set[str]:
    """The app setting names this module reads, filtered on the local-only, binding and set-by-platform
    marks."""
    names = set()
    for field in Settings.model_fields.values():
        if not field.validation_alias:
            continue
        marks = field.json_schema_extra or {}
        if local_only is not None and local_only != bool(marks.get("local_only")):
            continue
        if binding is not None and binding != bool(marks.get("binding")):
            continue
        if set_by_platform is not None and set_by_platform != bool(marks.get("set_by_platform")):
            continue
        names.add(_alias_of(field))
    return names


def _aliased(environ: Mapping[str, str]) -> dict[str, str]:
    """Pick the settings' own names out of the environment, matching names case-insensitively."""
    wanted = {name.lower(): name for name in setting_names()}
    # An empty value counts as unset, as in App Service, where a setting cannot be removed per slot.
    return {wanted[k.lower()]: v for k, v in environ.items() if k.lower() in wanted and v.strip()}


def _alias_of(field) -> str:
    alias = field.validation_alias
    return alias.choices[0] if isinstance(alias, AliasChoices) else alias


def _setting_name(loc) -> str:
    """The app setting a pydantic error location is in: ("SIMULATORS", 0, "licences") -> SIMULATORS."""
    return str(loc[0]) if loc else ""


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        loc, message = error["loc"], error_message(error, missing="is missing")
        if not loc:  # a rule across settings; its message names them
            problems.append(message)
            continue
        problems.append(f"setting {error_location(loc)} {message}")
    return "invalid configuration: " + "; ".join(problems)


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once on first use (never at import)."""
    return Settings.from_environ()
