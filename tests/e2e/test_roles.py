"""POST /api/auth/roles (the web app's roles source) over HTTP against the local host serving the real app."""

import pytest
import requests

from tests.e2e.helpers import assert_problem

pytestmark = pytest.mark.e2e


def test_the_roles_source_answers_the_users_app_roles(local_host):
    body = {"identityProvider": "aad", "userId": "72137ad3ae0042b58d54aacb38576d76", "userDetails": "ellen@contoso.com",
            "claims": [{"typ": "name", "val": "Ellen Contoso"}, {"typ": "roles", "val": "simgate.admin"},
                       {"typ": "http://schemas.microsoft.com/identity/claims/objectidentifier",
                        "val": "7da753ff-1c8e-4b5e-affe-d89e5a57fe2f"}],
            "accessToken": "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.e30.c2ln"}
    response = requests.post(f"{local_host.url}/api/auth/roles", json=body, timeout=30)
    assert response.status_code == 200, response.text
    assert response.json() == {"roles": ["simgate.admin"]}
    assert response.headers["Cache-Control"] == "no-store"


def test_no_user_is_needed_and_no_role_is_made_up(local_host):
    response = requests.post(f"{local_host.url}/api/auth/roles", json={"claims": []}, timeout=30)
    assert response.status_code == 200 and response.json() == {"roles": []}


def test_a_body_that_is_not_json_is_refused(local_host):
    response = requests.post(f"{local_host.url}/api/auth/roles", data="roles please",
                             headers={"Content-Type": "text/plain"}, timeout=30)
    assert_problem(response, 415, "unsupported-media-type")
