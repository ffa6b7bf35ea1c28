"""Token credentials for Storage: Entra ID in Azure, a locally minted token for Azurite."""

from __future__ import annotations

import base64
import json
import time
import uuid

from azure.core.credentials import AccessToken, TokenCredential

from shared.config import Settings, StorageCredential


class AzuriteTokenCredential:
    """Mints the bearer tokens that Azurite accepts with ``--oauth basic``.

    Azurite checks a token's issuer, audience and lifetime, not its signature, and needs the
    ``oid``/``tid`` claims to issue user delegation keys. With this credential the app runs the same
    code path as with managed identity in Azure: bearer tokens, user-delegation SAS, no account key.
    """

    TENANT_ID = "00000000-0000-0000-0000-00000000a2e7"
    OBJECT_ID = "00000000-0000-0000-0000-00000000a2e8"
    LIFETIME_SECONDS = 3600

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        now = int(time.time())
        expires_on = now + self.LIFETIME_SECONDS
        claims = {
            "iss": f"https://sts.windows.net/{self.TENANT_ID}/",
            "aud": "https://storage.azure.com",
            "iat": now - 60,
            "nbf": now - 60,
            "exp": expires_on,
            "oid": self.OBJECT_ID,
            "tid": self.TENANT_ID,
            "jti": str(uuid.uuid4()),
        }
        token = ".".join(_b64(part) for part in ({"alg": "none", "typ": "JWT"}, claims, {"unsigned": True}))
        return AccessToken(token, expires_on)

    def close(self) -> None:  # the TokenCredential protocol's optional close
        pass


def _b64(part: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()


def storage_credential(settings: Settings) -> TokenCredential:
    if settings.storage_credential is StorageCredential.AZURITE:
        return AzuriteTokenCredential()
    from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

    if settings.storage_credential is StorageCredential.MANAGED_IDENTITY:
        return ManagedIdentityCredential(client_id=settings.storage_client_id)
    return DefaultAzureCredential(managed_identity_client_id=settings.storage_client_id)
