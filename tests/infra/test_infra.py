"""Offline checks of infra/ (no Bicep CLI or Azure here): parse, structure, settings, checkov."""

from __future__ import annotations

import json
import os
import re
import subprocess
from functools import cache
from pathlib import Path

import pytest
from pycep import BicepParser

from devstack import PROJECT_ROOT
from shared.config import setting_names
from tests.conftest import unavailable

INFRA = PROJECT_ROOT / "infra"
BICEP_FILES = sorted(INFRA.rglob("*.bicep"))
PLATFORM_SETTINGS = {
    "AzureWebJobsStorage__accountName",
    "AzureWebJobsStorage__credential",
    "AzureWebJobsStorage__clientId",
    "ServiceBusConnection__fullyQualifiedNamespace",
    "ServiceBusConnection__credential",
    "ServiceBusConnection__clientId",
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
}
# Role definition ids (built-in roles) the deployment must grant.
REQUIRED_ROLES = {
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor (scripts and outputs containers)",
    "db58b8e5-c6ad-4a2a-8342-4190687cbf4a": "Storage Blob Delegator (user delegation keys)",
    "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor (cases, jobs)",
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner (host storage)",
    "69a216fc-b8fb-44d8-bc22-1f3c2552ae39": "Azure Service Bus Data Sender",
    "4f6d3b08-6bd3-4f48-b1b4-ed19cbcf6d02": "Azure Service Bus Data Receiver",
    "4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
    "3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",
}
SECRET_PATTERNS = re.compile(
    r"AccountKey=|SharedAccessKey|SharedAccessSignature|DefaultEndpointsProtocol|UseDevelopmentStorage"
    r"|listKeys\(|listConnectionStrings\(|InstrumentationKey=",
    re.IGNORECASE,
)


@cache
def parsed(relative: str) -> dict:
    return BicepParser().parse(file_path=INFRA / relative)


def all_text() -> str:
    return "\n".join(p.read_text() for p in BICEP_FILES) + (INFRA / "main.parameters.json").read_text()


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda p: str(p.relative_to(INFRA)))
def test_every_bicep_file_parses(path: Path):
    document = BicepParser().parse(file_path=path)
    assert document.get("resources") or document.get("modules")


def test_main_is_subscription_scoped_with_a_resource_token():
    main = parsed("main.bicep")
    assert main["globals"]["scope"]["value"] == "subscription"
    assert "resourceToken" in main["variables"]
    assert {"environmentName", "location"} <= set(main["parameters"])
    azure_yaml = (PROJECT_ROOT / "azure.yaml").read_text()
    assert re.search(r"language:\s*python", azure_yaml) and re.search(r"host:\s*function", azure_yaml)


def test_storage_accounts_accept_no_shared_keys_and_no_public_blobs():
    properties = parsed("modules/storage.bicep")["resources"]["account"]["config"]["properties"]
    assert properties["allowSharedKeyAccess"] is False
    assert properties["allowBlobPublicAccess"] is False
    assert properties["minimumTlsVersion"] == "TLS1_2"
    assert properties["supportsHttpsTrafficOnly"] is True


def test_storage_deletes_upload_staging_on_its_own_if_the_reconcilers_sweep_stops():
    from shared.adapters.output_store import STAGING

    expiry = parsed("modules/storage.bicep")["resources"]["expiry"]["config"]["config"]  # under its condition
    (rule,) = expiry["properties"]["policy"]["rules"]
    assert rule["enabled"] is True and rule["definition"]["filters"]["prefixMatch"] == "expiringPrefixes"
    assert rule["definition"]["actions"]["baseBlob"]["delete"]["daysAfterModificationGreaterThan"] == "expiryDays"
    main = (INFRA / "main.bicep").read_text()
    assert f"expiringPrefixes: ['${{outputsContainer}}/{STAGING}/']" in main


def test_no_secret_or_connection_string_in_any_setting():
    found = SECRET_PATTERNS.findall(all_text())
    assert not found, f"secrets or keys in infra: {found}"
    settings = app_settings() | platform_settings()
    assert "AzureWebJobsStorage" not in settings and "ServiceBusConnection" not in settings
    for name in settings:
        if name.endswith("__credential"):
            assert literal_setting(name) == "managedidentity", name


def test_local_only_settings_are_never_set_in_azure():
    text = all_text()
    for name in setting_names(local_only=True):
        assert name not in text, f"{name} is local-only and must not appear in infra"


def test_every_required_role_is_assigned():
    text = all_text()
    missing = {role: what for role, what in REQUIRED_ROLES.items() if role not in text}
    assert not missing, f"role assignments missing: {missing}"


def test_the_jobs_queue_detects_duplicates_and_dead_letters():
    queue = parsed("modules/servicebus.bicep")["resources"]["queue"]["config"]["properties"]
    assert queue["requiresDuplicateDetection"] is True
    assert queue["deadLetteringOnMessageExpiration"] is True
    assert queue["maxDeliveryCount"] == "maxDeliveryCount"
    namespace = parsed("modules/servicebus.bicep")["resources"]["namespace"]["config"]
    assert namespace["properties"]["disableLocalAuth"] is True and namespace["sku"]["name"] == "Standard"


def test_key_vault_uses_rbac_and_monitoring_has_local_auth_off():
    vault = parsed("modules/keyvault.bicep")["resources"]["vault"]["config"]["properties"]
    assert vault["enableRbacAuthorization"] is True and vault["enablePurgeProtection"] is True
    insights = parsed("modules/monitoring.bicep")["resources"]["insights"]["config"]["properties"]
    assert insights["DisableLocalAuth"] is True


def test_the_app_runs_python_on_flex_consumption_with_sign_in():
    function = parsed("modules/function.bicep")["resources"]
    assert function["plan"]["config"]["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
    config = function["app"]["config"]["properties"]
    assert config["functionAppConfig"]["runtime"]["name"] == "python"
    assert float(config["functionAppConfig"]["runtime"]["version"]) >= 3.11
    assert config["functionAppConfig"]["deployment"]["storage"]["authentication"]["type"] == "UserAssignedIdentity"
    assert config["httpsOnly"] is True
    auth = function["auth"]["config"]["properties"]
    assert auth["platform"]["enabled"] is True
    assert auth["identityProviders"]["azureActiveDirectory"]["enabled"] is True


def test_the_function_app_keeps_app_service_authentication_on():
    """The app trusts X-MS-CLIENT-PRINCIPAL* only while App Service Authentication runs in front of it
    (WEBSITE_AUTH_ENABLED): it is what strips those headers from callers and sets them for validated
    tokens and the linked site. Off, every signed-in user would be a 401; anonymous callers must still
    get through (the agents' webhook with its job token, health), or the agents would be locked out."""
    auth = parsed("modules/function.bicep")["resources"]["auth"]
    assert auth["type"] == "Microsoft.Web/sites/config" and auth["config"]["name"] == "authsettingsV2"
    properties = auth["config"]["properties"]
    assert properties["platform"]["enabled"] is True
    assert properties["globalValidation"]["requireAuthentication"] is False
    assert properties["globalValidation"]["unauthenticatedClientAction"] == "AllowAnonymous"


SETTING_KEY = r"(?im)^\s*'?{name}'?\s*:|\bname\s*:\s*'{name}'"


def test_nobody_sets_platform_authentication_or_dev_mode_by_hand():
    """WEBSITE_AUTH_ENABLED is the platform's to set (a hand-set value would claim authentication that may
    be off); development mode is never on in Azure."""
    site_settings = set(parsed("modules/web.bicep")["resources"]["appSettings"]["config"]["properties"])
    every_setting = {name.lower() for name in app_settings() | platform_settings() | site_settings}
    text = all_text()
    for name in setting_names(set_by_platform=True) | {"AUTH_DEV_MODE"}:
        assert name.lower() not in every_setting, name
        assert not re.search(SETTING_KEY.format(name=re.escape(name)), text), f"{name} is set in infra"


def app_settings() -> set[str]:
    return set(parsed("main.bicep")["modules"]["api"]["config"]["params"]["appSettings"])


def platform_settings() -> set[str]:
    return set(parsed("modules/function.bicep")["variables"]["platformSettings"]["value"])


def literal_setting(name: str):
    merged = {**parsed("main.bicep")["modules"]["api"]["config"]["params"]["appSettings"],
              **parsed("modules/function.bicep")["variables"]["platformSettings"]["value"]}
    return merged[name]


def test_bicep_sets_exactly_the_settings_the_code_reads():
    expected = setting_names(local_only=False, binding=False, set_by_platform=False)
    assert app_settings() == expected, {
        "read by the code but not set": expected - app_settings(),
        "set but not read by the code": app_settings() - expected,
    }
    assert platform_settings() == PLATFORM_SETTINGS
    assert setting_names(binding=True) <= PLATFORM_SETTINGS


def test_the_local_sample_lists_the_same_settings():
    sample = json.loads((PROJECT_ROOT / "local.settings.sample.json").read_text())["Values"]
    assert set(sample) - {"FUNCTIONS_WORKER_RUNTIME", "AzureWebJobsStorage"} == setting_names(set_by_platform=False)


def checkov_executable() -> Path:
    configured = os.environ.get("CHECKOV")
    candidate = Path(configured) if configured else PROJECT_ROOT / ".venv-checkov" / "bin" / "checkov"
    if not candidate.exists():
        unavailable(f"checkov not installed at {candidate} (make bootstrap installs it)")
    return candidate


def test_checkov_finds_nothing_but_the_accepted_findings():
    result = subprocess.run(
        [str(checkov_executable()), "-d", str(INFRA), "--framework", "bicep", "--skip-download",
         "--compact", "--quiet", "-o", "json"],
        capture_output=True, text=True, timeout=300, env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
    )
    report = json.loads(result.stdout)
    report = report[0] if isinstance(report, list) else report
    assert report["summary"]["parsing_errors"] == 0
    failed = {(c["check_id"], c["resource"]) for c in report["results"]["failed_checks"]}
    accepted_entries = json.loads((INFRA / "checkov-accepted.json").read_text())["accepted"]
    assert all(entry["reason"].strip() for entry in accepted_entries)
    accepted = {(e["check"], e["resource"]) for e in accepted_entries}
    assert failed - accepted == set(), "new checkov findings: fix them or accept them with a reason"
    assert accepted - failed == set(), "accepted findings that no longer occur: remove them"


def test_the_ssh_budget_per_simulator_holds_across_instances():
    main = parsed("main.bicep")
    variables = {name: str(v) for name, v in main["variables"].items()}
    assert "min" in variables["instances"] and "maximumInstanceCount" in variables["instances"]
    assert "simulatorConnectionBudget" in variables["connectionsPerInstance"]
    settings = parsed("main.bicep")["modules"]["api"]["config"]["params"]
    assert "connectionsPerInstance" in str(settings["appSettings"]["SIMULATOR_MAX_CONNECTIONS"])
    assert "instances" in str(settings["maximumInstanceCount"])
    channels = int(literal_setting("SIMULATOR_MAX_CHANNELS"))
    assert 1 <= channels < 10  # below OpenSSH's MaxSessions default on every site
    host = json.loads((PROJECT_ROOT / "host.json").read_text())
    assert host["extensions"]["serviceBus"]["maxConcurrentCalls"] <= channels  # one instance's starts fit a connection


# --- the web app: a Static Web App with the Function app as its linked backend ---

WEB = PROJECT_ROOT / "web"


def reference(node) -> str:
    """A Bicep reference as written, e.g. web.outputs.uri (pycep nests each property access)."""
    if isinstance(node, dict) and node.get("operator", {}).get("type") == "property_accessor":
        operands = node["operator"]["operands"]
        return f"{reference(operands['operand_1'])}.{reference(operands['operand_2'])}"
    return str(node)


def azure_yaml() -> dict:
    import yaml

    return yaml.safe_load((PROJECT_ROOT / "azure.yaml").read_text())


def test_the_web_app_is_a_standard_static_site_that_azd_deploys():
    resources = parsed("modules/web.bicep")["resources"]
    site = resources["site"]
    assert site["type"] == "Microsoft.Web/staticSites" and not site["existing"]
    assert site["config"]["sku"] == {"name": "Standard", "tier": "Standard"}  # linked backends, custom sign-in
    module = parsed("main.bicep")["modules"]["web"]
    assert module["detail"]["path"] == "modules/web.bicep"
    assert module["config"]["params"]["tags"]["function"]["parameters"]["arg_2"] == {"'azd-service-name'": "web"}
    web = azure_yaml()["services"]["web"]
    assert web == {"project": "web", "language": "js", "host": "staticwebapp", "dist": "dist"}
    assert (WEB / "package.json").is_file()
    outputs = parsed("main.bicep")["outputs"]
    assert {"SERVICE_WEB_NAME", "SERVICE_WEB_URI"} <= set(outputs)
    # azd deploys the configuration the build wrote into dist/, not the template in public/
    assert outputs["SWA_RUNTIME_CONFIG_LOCATION"]["value"] == f"{web['project']}/{web['dist']}"


def test_the_site_links_the_function_app_after_its_authentication_settings():
    backend = parsed("modules/web-backend.bicep")["resources"]["backend"]
    assert backend["type"] == "Microsoft.Web/staticSites/linkedBackends" and backend["config"]["parent"] == "site"
    assert parsed("modules/web-backend.bicep")["resources"]["site"]["existing"] is True
    assert backend["config"]["properties"] == {"backendResourceId": "backendResourceId", "region": "backendLocation"}
    params = parsed("main.bicep")["modules"]["webBackend"]["config"]["params"]
    assert reference(params["staticSiteName"]) == "web.outputs.name"
    # the api module's own outputs: the link waits for that module, authsettingsV2 included
    assert reference(params["backendResourceId"]) == "api.outputs.id"
    assert reference(params["backendLocation"]) == "api.outputs.location"
    function = parsed("modules/function.bicep")
    assert reference(function["outputs"]["id"]["value"]) == "app.id"
    assert function["resources"]["auth"]["config"]["parent"] == "app"


def test_agents_and_the_cli_still_reach_the_function_app():
    auth = parsed("modules/function.bicep")["resources"]["auth"]["config"]["properties"]
    # anonymous callers (the agents' webhook, the health probe) reach the app, which checks them itself
    assert auth["globalValidation"] == {"requireAuthentication": False, "unauthenticatedClientAction": "AllowAnonymous"}
    providers = auth["identityProviders"]
    # the CLI's Entra ID tokens for api://<client id>
    assert providers["azureActiveDirectory"]["enabled"] is True
    assert "api://${authClientId}" in providers["azureActiveDirectory"]["validation"]["allowedAudiences"]
    # and the site's proxied requests, whose user the platform passes on
    assert providers["azureStaticWebApps"] == {"enabled": True, "registration": {"clientId": "staticWebAppHostname"}}
    api = parsed("main.bicep")["modules"]["api"]["config"]["params"]
    assert reference(api["staticWebAppHostname"]) == "web.outputs.defaultHostname"
    # agents post their webhooks to the app's own host name, not through the site
    assert api["appSettings"]["AGENT_CALLBACK_URL"].endswith(".azurewebsites.net/api")


def test_browsers_may_fetch_outputs_from_blob_storage_on_the_sites_origin():
    cors = parsed("main.bicep")["modules"]["dataStorage"]["config"]["params"]["corsOrigins"]
    assert cors["function"]["type"] == "concat"
    assert [reference(origin) for origin in cors["function"]["parameters"]["arg_1"]] == ["web.outputs.uri"]
    assert "frontendOrigin" in str(cors["function"]["parameters"]["arg_2"])
    assert parsed("modules/web.bicep")["outputs"]["uri"]["value"] == "https://${site.properties.defaultHostname}"
    rule = parsed("modules/storage.bicep")["resources"]["blobService"]["config"]["properties"]["cors"]
    rule = rule["corsRules"]["operator"]["operands"]["false_value"][0]
    assert rule["allowedOrigins"] == "corsOrigins" and rule["allowedMethods"] == ["GET", "HEAD"]


def test_sign_in_is_limited_to_the_tenant_and_its_secret_comes_from_the_environment():
    main = parsed("main.bicep")
    assert {"type": "secure"} in main["parameters"]["authClientSecret"]["decorators"]
    assert main["parameters"]["authClientSecret"]["default"] is None
    mapped = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    assert mapped["authClientSecret"]["value"] == "${SIMGATE_AUTH_CLIENT_SECRET}"
    assert "authTenantId" in str(main["outputs"]["SIMGATE_AUTH_OPENID_ISSUER"]["value"])
    settings = parsed("modules/web.bicep")["resources"]["appSettings"]["config"]
    assert settings["name"] == "appsettings"
    # the settings the deployed staticwebapp.config.json names are the ones Bicep sets
    script = (WEB / "scripts" / "swa-config.mjs").read_text()
    named = set(re.findall(r'(?:clientIdSettingName|clientSecretSettingName): "(\w+)"', script))
    assert named == set(settings["properties"]) == {"SIMGATE_AUTH_CLIENT_ID", "SIMGATE_AUTH_CLIENT_SECRET"}
    assert "SIMGATE_AUTH_OPENID_ISSUER" in script and "openIdIssuer: issuer" in script


def test_the_roles_source_is_a_route_of_the_api_and_the_local_config_has_no_sign_in_settings():
    from functions import http_routes

    (source,) = re.findall(r'rolesSource: "([^"]+)"', (WEB / "scripts" / "swa-config.mjs").read_text())
    assert ("POST", source) in {pair for route in http_routes() for pair in route.paths("api")}
    # the Static Web Apps CLI emulates sign-in only for a configuration without an auth section
    local = json.loads((WEB / "public" / "staticwebapp.config.json").read_text())
    assert "auth" not in local
    assert {"route": "/api/*", "allowedRoles": ["authenticated"]} in local["routes"]


def test_the_static_site_region_is_one_static_web_apps_offers():
    main = parsed("main.bicep")
    allowed = next(d["argument"] for d in main["parameters"]["webLocation"]["decorators"] if d["type"] == "allowed")
    regions = main["variables"]["staticWebAppRegions"]["value"]
    assert set(allowed) == {""} | set(regions)
    assert set(regions) <= {"westus2", "centralus", "eastus2", "westeurope", "eastasia"}
    assert main["modules"]["web"]["config"]["params"]["location"] == "staticWebAppLocation"
