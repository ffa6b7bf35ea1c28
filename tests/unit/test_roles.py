"""The web app's roles source: the user's app roles from the claims the Static Web App posts."""

import json

import azure.functions as func
import pytest

from shared.api.requests import SignedIn
from shared.auth import MAX_SITE_ROLES

ROLE = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"


def signed_in(*claims: tuple[str, str], **extra) -> dict:
    return {"identityProvider": "aad", "userId": "72137ad3ae0042b58d54aacb38576d76",
            "userDetails": "ellen@contoso.com", "claims": [{"typ": t, "val": v} for t, v in claims], **extra}


@pytest.fixture(scope="module")
def assign_roles():
    """The function as the app registered it (behind the edge)."""
    from functions import roles

    (route,) = roles.bp.routes
    assert route.template == "auth/roles" and route.methods == ("POST",)
    return roles.assign_roles


def post(handler, body, content_type="application/json") -> func.HttpResponse:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return handler(func.HttpRequest("POST", "http://localhost/api/auth/roles", headers={"Content-Type": content_type},
                                    body=data))


def test_the_app_roles_are_the_role_claims_each_once_sorted():
    user = SignedIn.model_validate(signed_in(("roles", "simgate.admin"), (ROLE, "reviewer"), ("roles", "simgate.admin"),
                                             ("name", "Ellen Contoso"), ("groups", "d7a1c4e0")))
    assert user.app_roles() == ["reviewer", "simgate.admin"]


def test_no_role_claims_no_roles():
    assert SignedIn.model_validate(signed_in(("name", "Ellen Contoso"))).app_roles() == []
    assert SignedIn.model_validate({}).app_roles() == []


def test_the_sites_own_roles_and_names_it_would_drop_are_left_out():
    user = SignedIn.model_validate(signed_in(("roles", "authenticated"), ("roles", "anonymous"),
                                             ("roles", "case authors"), ("roles", "x" * 65), ("roles", ".hidden"),
                                             ("roles", "simgate_admin-2")))
    assert user.app_roles() == ["simgate_admin-2"]


def test_the_answer_is_bounded():
    user = SignedIn.model_validate(signed_in(*[("roles", f"role{i:03}") for i in range(MAX_SITE_ROLES + 10)]))
    assert len(user.app_roles()) == MAX_SITE_ROLES


def test_the_function_answers_the_roles_as_the_site_expects_them(assign_roles):
    response = post(assign_roles, signed_in(("roles", "simgate.admin"), ("name", "Ellen Contoso"),
                                            accessToken="eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.e30.c2ln"))
    assert response.status_code == 200
    assert response.mimetype == "application/json" and response.headers["Cache-Control"] == "no-store"
    assert json.loads(response.get_body()) == {"roles": ["simgate.admin"]}


def test_a_body_that_is_not_json_or_not_claims_is_a_problem(assign_roles):
    assert post(assign_roles, b"roles please", content_type="text/plain").status_code == 415
    assert post(assign_roles, b"{not json").status_code == 400
    assert post(assign_roles, {"claims": "simgate.admin"}).status_code == 422
    assert post(assign_roles, {"claims": [{"typ": "roles"}]}).status_code == 422


def test_it_is_declared_as_an_operation_anyone_may_call():
    from functions.meta import api_document

    described = api_document()
    operation = described["paths"]["/api/auth/roles"]["post"]
    assert operation["operationId"] == "assignRoles" and operation["security"] == []
    assert "401" not in operation["responses"] and "200" in operation["responses"]
