import base64
import json

import pytest

from shared.auth import Authenticator, authenticate
from shared.errors import Unauthorized


def behind_the_platform(headers):
    """As the app authenticates with App Service Authentication on and dev mode off (Azure)."""
    return authenticate(headers, dev_mode=False, platform_auth=True)


def principal_header(claims, **extra) -> str:
    payload = {"auth_typ": "aad", "name_typ": "name", "role_typ": "roles", "claims": claims, **extra}
    return base64.b64encode(json.dumps(payload).encode()).decode()


def test_easy_auth_principal_is_known_by_its_sign_in_name_with_roles():
    header = principal_header([
        {"typ": "http://schemas.microsoft.com/identity/claims/objectidentifier", "val": "0f4c-11aa"},
        {"typ": "name", "val": "Martin"},
        {"typ": "preferred_username", "val": "Martin@Example.org"},
        {"typ": "roles", "val": "simgate.admin"},
        {"typ": "roles", "val": "reader"},
    ])
    who = behind_the_platform({"x-ms-client-principal": header, "x-ms-client-principal-id": "0f4c-11aa"})
    assert who.user_id == "martin@example.org" and who.name == "Martin"
    assert who.roles == {"simgate.admin", "reader"}


def test_easy_auth_without_a_sign_in_name_falls_back_to_the_object_id():
    header = principal_header([{"typ": "oid", "val": "from-claim"}])
    assert behind_the_platform({"x-ms-client-principal": header}).user_id == "from-claim"
    who = behind_the_platform({"x-ms-client-principal": header, "x-ms-client-principal-id": "from-header"})
    assert who.user_id == "from-header"
    named = behind_the_platform({"x-ms-client-principal": header, "x-ms-client-principal-name": "Ann@Example.org"})
    assert named.user_id == "ann@example.org"


def test_the_browser_and_the_cli_are_the_same_user():
    """Static Web Apps passes its own user id and the name; the CLI's token the object id and the name."""
    browser = swa_header(identityProvider="aad", userId="d75b260a64504067bfc5b2905e3b8182",
                         userDetails="martin@example.org", userRoles=["authenticated"])
    cli = principal_header([{"typ": "oid", "val": "0f4c-11aa"}, {"typ": "upn", "val": "martin@example.org"}])
    assert (behind_the_platform({"x-ms-client-principal": browser}).user_id
            == behind_the_platform({"x-ms-client-principal": cli}).user_id == "martin@example.org")


@pytest.mark.parametrize("header", ["%%%not-base64", base64.b64encode(b"[1, 2]").decode(),
                                    base64.b64encode(b'{"claims": "nope"}').decode()])
def test_a_malformed_principal_is_401(header):
    with pytest.raises(Unauthorized):
        behind_the_platform({"x-ms-client-principal": header})


def test_no_identity_is_401():
    with pytest.raises(Unauthorized):
        behind_the_platform({})


def test_the_authenticator_decides_admin_once_from_the_roles():
    authenticator = Authenticator(admin_role="simgate.admin", dev_mode=True)
    assert authenticator.caller({"x-simgate-user": "carol", "x-simgate-roles": "simgate.admin"}).is_admin
    assert not authenticator.caller({"x-simgate-user": "alice", "x-simgate-roles": "reader"}).is_admin
    assert not Authenticator(admin_role="other", dev_mode=True).caller(
        {"x-simgate-user": "carol", "x-simgate-roles": "simgate.admin"}).is_admin


def test_the_dev_header_is_ignored_unless_dev_mode_is_on():
    with pytest.raises(Unauthorized):
        behind_the_platform({"x-simgate-user": "martin"})
    who = authenticate({"x-simgate-user": "martin", "x-simgate-roles": "simgate.admin, x"},
                       dev_mode=True, platform_auth=False)
    assert who.user_id == "martin" and who.roles == {"simgate.admin", "x"}


@pytest.mark.parametrize("user", ["a/b", "a#b", "x" * 200, "tab\there"])
def test_user_ids_that_cannot_be_keys_are_refused(user):
    with pytest.raises(Unauthorized):
        authenticate({"x-simgate-user": user}, dev_mode=True, platform_auth=False)


def swa_header(**payload) -> str:
    return base64.b64encode(json.dumps(payload).encode()).decode()


def test_static_web_apps_principal_with_a_custom_role():
    header = swa_header(identityProvider="aad", userId="d75b260a64504067bfc5b2905e3b8182", userDetails="martin@example.org",
                        userRoles=["anonymous", "authenticated", "simgate.admin"])
    who = behind_the_platform({"x-ms-client-principal": header})
    assert who.user_id == "martin@example.org" and who.name == "martin@example.org"
    assert who.roles == {"simgate.admin"}


@pytest.mark.parametrize("payload", [{"userId": ""}, {"userId": "x", "userDetails": "a/b"},
                                     {"userId": "ok", "userRoles": "admin"}])
def test_a_static_web_apps_principal_without_a_usable_id_or_with_bad_roles_is_401(payload):
    with pytest.raises(Unauthorized):
        behind_the_platform({"x-ms-client-principal": swa_header(**payload)})


# --- a principal header counts only where App Service Authentication put it there ---

FORGED_ADMINS = {
    "App Service claims": principal_header([{"typ": "preferred_username", "val": "mallory@example.org"},
                                            {"typ": "roles", "val": "simgate.admin"}]),
    "Static Web Apps": swa_header(identityProvider="aad", userId="1234", userDetails="mallory@example.org",
                                  userRoles=["authenticated", "simgate.admin"]),
}


@pytest.mark.parametrize("dev_mode", [False, True])
@pytest.mark.parametrize("shape", FORGED_ADMINS)
def test_without_platform_authentication_every_principal_header_is_ignored(shape, dev_mode):
    headers = {"x-ms-client-principal": FORGED_ADMINS[shape], "x-ms-client-principal-id": "1234",
               "x-ms-client-principal-name": "mallory@example.org", "x-ms-client-principal-idp": "aad"}
    with pytest.raises(Unauthorized, match="App Service Authentication"):
        authenticate(headers, dev_mode=dev_mode, platform_auth=False)
    with pytest.raises(Unauthorized):
        Authenticator(admin_role="simgate.admin", dev_mode=dev_mode).caller(headers)  # off unless said


@pytest.mark.parametrize("shape", FORGED_ADMINS)
def test_with_platform_authentication_the_principal_is_the_caller(shape):
    who = Authenticator(admin_role="simgate.admin", platform_auth=True).caller(
        {"x-ms-client-principal": FORGED_ADMINS[shape]})
    assert who.user_id == "mallory@example.org" and who.is_admin


def test_dev_mode_takes_the_dev_header_whether_or_not_the_platform_authenticates():
    headers = {"x-simgate-user": "martin", "x-ms-client-principal": FORGED_ADMINS["Static Web Apps"]}
    assert authenticate(headers, dev_mode=True, platform_auth=False).user_id == "martin"
    assert authenticate({"x-simgate-user": "martin"}, dev_mode=True, platform_auth=True).user_id == "martin"
