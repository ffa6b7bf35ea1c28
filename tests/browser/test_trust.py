"""The web stack runs as in Azure (no development header): users reach the API only as the site signs
them in and passes them on; a principal sent to the API's public port is nobody."""

from __future__ import annotations

import pytest
import requests

from tests.browser.conftest import ADMIN_ROLE, sign_in, site_principal

pytestmark = pytest.mark.browser


def test_a_signed_in_user_reaches_the_api_through_the_site(new_page):
    page = new_page()
    sign_in(page, "grace", then="/jobs")
    with page.expect_response(lambda r: "/api/job" in r.url and r.request.method == "GET") as listed:
        page.reload()
    assert listed.value.status == 200, listed.value.url
    page.get_by_role("heading", name="My jobs").wait_for()
    assert page.get_by_role("banner").get_by_text("grace@example.com").is_visible()


def test_a_principal_sent_to_the_public_port_or_the_development_header_is_nobody(web_stack):
    forged = {"X-MS-CLIENT-PRINCIPAL": site_principal("mallory", (ADMIN_ROLE,))}
    for headers in (forged, {"X-Simgate-User": "mallory", "X-Simgate-Roles": ADMIN_ROLE}):
        answer = requests.get(f"{web_stack.host.url}/api/job", params={"all": "true"}, headers=headers, timeout=30)
        assert answer.status_code == 401, headers
        assert answer.headers["Content-Type"].startswith("application/problem+json")
    through_the_proxy = requests.get(f"{web_stack.host.proxy_url}/api/job", params={"all": "true"}, headers=forged,
                                     timeout=30)
    assert through_the_proxy.status_code == 200  # the port only the Static Web Apps CLI is given
