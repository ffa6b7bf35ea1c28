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

import azure.functions as func

from shared.api.models import AssignedRoles
from shared.api.openapi import Security
from shared.api.requests import SignedIn
from shared.http import ApiBlueprint, json_response, read_json

bp = ApiBlueprint()


@bp.endpoint("auth/roles", "POST", security=Security.NONE, operation_id="assignRoles",
             summary="The roles the web app gives a user who signs in", tag="sign-in",
             body=SignedIn, answers={200: AssignedRoles},
             description="Called by the Static Web App after each sign-in (its rolesSource), with the identity "
                         "provider's claims: answers the user's app roles. Grants nothing by itself; the API "
                         "decides what a role allows.")
def assign_roles(req: func.HttpRequest) -> func.HttpResponse:
    signed_in = read_json(req, SignedIn)
    return json_response(AssignedRoles(roles=signed_in.app_roles()), headers={"Cache-Control": "no-store"})
