import base64
import json
import time

from shared.adapters.credentials import AzuriteTokenCredential


def claims_of(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_azurite_tokens_carry_what_azurite_checks():
    token = AzuriteTokenCredential().get_token("https://storage.azure.com/.default")
    claims = claims_of(token.token)
    assert claims["aud"] == "https://storage.azure.com"
    assert claims["iss"].startswith("https://sts.windows.net/") and claims["iss"].endswith("/")
    assert claims["oid"] and claims["tid"]  # needed for user delegation keys
    assert claims["nbf"] <= time.time() < claims["exp"] == token.expires_on
