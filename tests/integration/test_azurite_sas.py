"""Azurite (HTTPS + OAuth) issues user delegation keys and enforces the SAS made from them."""

from datetime import datetime, timedelta, timezone

import pytest
import requests
from azure.storage.blob import BlobSasPermissions, generate_blob_sas

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def read_url(storage, settings, azurite):
    blob = storage.container(settings.outputs_container).get_blob_client("job-1/result.csv")
    blob.upload_blob(b"t,homogeneity\n0,0.1\n", overwrite=True)
    now = datetime.now(timezone.utc)
    key = storage.blob_service.get_user_delegation_key(now - timedelta(minutes=5), now + timedelta(hours=1))
    sas = generate_blob_sas(storage.account_name, blob.container_name, blob.blob_name, user_delegation_key=key,
                            permission=BlobSasPermissions(read=True), start=now - timedelta(minutes=5),
                            expiry=now + timedelta(minutes=15), protocol="https")
    return f"{blob.url}?{sas}"


def test_a_read_sas_downloads_the_blob(read_url, azurite):
    response = requests.get(read_url, verify=str(azurite.ca_bundle), timeout=10)
    assert response.status_code == 200 and response.content == b"t,homogeneity\n0,0.1\n"


def test_a_write_with_the_read_sas_is_refused(read_url, azurite):
    response = requests.put(read_url, data=b"tampered", headers={"x-ms-blob-type": "BlockBlob"},
                            verify=str(azurite.ca_bundle), timeout=10)
    assert response.status_code == 403


def test_a_tampered_signature_is_refused(read_url, azurite):
    tampered = read_url.replace("sig=", "sig=AA")
    assert requests.get(tampered, verify=str(azurite.ca_bundle), timeout=10).status_code == 403


def test_without_a_sas_the_blob_is_private(read_url, azurite):
    assert requests.get(read_url.split("?")[0], verify=str(azurite.ca_bundle), timeout=10).status_code in (401, 403, 404)
