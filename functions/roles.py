"""The Static Web App's roles source (``auth.rolesSource`` in its staticwebapp.config.json): after a
user signs in, the site posts the identity provider's claims here and gives the user the roles this
answers.

The site passes a signed-in user on to the API with the site's roles only, never the token's claims;
this is how a user's app roles (the admin role) reach the API from the browser. The answer is the
user's app-role claims as posted: Entra ID puts into a token only the app roles of the application it
is issued for, simgate's own registration, and what a role allows is decided by the API alone.

Anyone may call it, and it grants nothing: it answers roles computed from what the caller posted. Only
the site acts on the answer, for the claims of a token it validated itself; the API trusts the user
the site forwards (a header only the platform sets), never this answer. Through the site the roles
source cannot be called from outside at all.
"""

import re

import azure.functions as func
from pydantic import BaseModel, ConfigDict, Field

from shared.api.openapi import operation
from shared.http import endpoint, json_response, read_json

bp = func.Blueprint()

# The claim types of app roles: as in the token (v2.0), and as mapped for v1.0 tokens.
ROLE_CLAIMS = frozenset({"roles", "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"})
# Role names the site keeps (it drops one with a space); its built-in roles are its own to give.
ROLE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
SITE_ROLES = frozenset({"anonymous", "authenticated"})
MAX_ROLES = 50


class SignInClaim(BaseModel):
    model_config = ConfigDict(extra="ignore")

    typ: str
    val: str


class SignedIn(BaseModel):
    """What the site posts after a sign-in. Only the claims are read: the rest (the provider's access
    token among it) is ignored, never kept or logged."""

    model_config = ConfigDict(extra="ignore", json_schema_extra={"examples": [{
        "identityProvider": "aad", "userId": "72137ad3ae0042b58d54aacb38576d76", "userDetails": "ellen@contoso.com",
        "claims": [{"typ": "name", "val": "Ellen Contoso"}, {"typ": "roles", "val": "simgate.admin"}]}]})

    claims: list[SignInClaim] = Field(default_factory=list, description="the identity provider's claims")

    def app_roles(self) -> list[str]:
        """The app roles among the claims, each once, sorted; names the site would not keep are left out."""
        roles = {c.val for c in self.claims if c.typ in ROLE_CLAIMS and ROLE_NAME.match(c.val)} - SITE_ROLES
        return sorted(roles)[:MAX_ROLES]


class AssignedRoles(BaseModel):
    roles: list[str] = Field(description="the roles the site gives the user, besides anonymous and authenticated")


@bp.route(route="auth/roles", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@operation(operation_id="assignRoles", summary="The roles the web app gives a user who signs in", tag="sign-in",
           security="none", body=SignedIn, answers={200: AssignedRoles},
           description="Called by the Static Web App after each sign-in (its rolesSource), with the identity "
                       "provider's claims: answers the user's app roles. Grants nothing by itself; the API "
                       "decides what a role allows.")
@endpoint
def assign_roles(req: func.HttpRequest) -> func.HttpResponse:
    signed_in = read_json(req, SignedIn)
    return json_response(AssignedRoles(roles=signed_in.app_roles()), headers={"Cache-Control": "no-store"})
