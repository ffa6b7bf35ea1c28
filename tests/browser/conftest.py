"""The whole local stack with the web app behind the Static Web Apps CLI, and Debian's Chromium
driven by Playwright (its own browser download is not used).

Screenshots of each page, at laptop and phone width, go to ``BROWSER_ARTIFACTS`` (default
``.local/test-artifacts/browser``) for people to look at.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from commands.load_cases import DEFAULT_DIRECTORY
from commands.local_settings import SAMPLE_SETTINGS, read_local_settings
from devstack import LOCAL_DIR
from devstack.stack import LocalStack
from devstack.web import WEB_DIR
from tests.conftest import unavailable

LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
ARTIFACTS = Path(os.environ.get("BROWSER_ARTIFACTS") or LOCAL_DIR / "test-artifacts" / "browser")
ADMIN_ROLE = "simgate.admin"
# A case whose run lasts as long as asked: a job to watch while it runs, and to cancel.
SLOW_CASE = {
    "id": "slow-mixer",
    "title": "Slow mixer",
    "summary": "Mixes for as long as you ask, then writes nothing",
    "tags": ["test"],
    "fields": [{"name": "seconds", "label": "Mixing time", "type": "integer", "unit": "s", "min": 1,
                "max": 600, "default": 300}],
    "scripts": {"run.sh": "#!/bin/sh\nsleep {{ seconds }}\n"},
    "entry_point": "run.sh",
}


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="package")
def web_stack(tmp_path_factory) -> Iterator[LocalStack]:
    if not (WEB_DIR / "node_modules" / ".bin" / "swa").exists():
        unavailable("the web app's packages are not installed (npm ci --ignore-scripts in web/)")
    # As in Azure: no development header; users only as the site signs them in and passes them on.
    values = {**read_local_settings(SAMPLE_SETTINGS)["Values"], "AUTH_DEV_MODE": "false"}
    root = tmp_path_factory.mktemp("web-stack")
    with LocalStack(root=root, values=values, slurm=False, persist=False, web=True, cases=DEFAULT_DIRECTORY) as stack:
        yield stack


@pytest.fixture(scope="package")
def browser():
    executable = chromium_path()
    if executable is None:
        unavailable("chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable,
                                              args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        yield launched
        launched.close()


@pytest.fixture(scope="package")
def new_page(browser, web_stack):
    """A page in a fresh browser profile (its own cookies: its own signed-in user)."""
    contexts = []

    def make():
        context = browser.new_context(viewport=LAPTOP, base_url=web_stack.web_url, accept_downloads=True,
                                      ignore_https_errors=True,  # Azurite's self-signed certificate
                                      locale="en-GB", timezone_id="Europe/Berlin")
        context.set_default_timeout(20_000)
        context.route(_outside, lambda route: route.abort())  # offline, as the tests run
        contexts.append(context)
        page = context.new_page()
        page.problems = []
        page.on("pageerror", lambda error: page.problems.append(str(error)))
        return page

    yield make
    for context in contexts:
        context.close()


def _outside(url: str) -> bool:
    return not url.startswith(("http://localhost", "http://127.0.0.1", "https://127.0.0.1", "https://localhost"))


def email(user: str) -> str:
    """The sign-in name the API knows ``user`` by."""
    return f"{user}@example.com"


def site_principal(user: str, roles: tuple[str, ...] = ()) -> str:
    """``X-MS-CLIENT-PRINCIPAL`` as the site passes a signed-in user on to the API."""
    principal = {"identityProvider": "aad", "userId": email(user), "userDetails": email(user),
                 "userRoles": ["anonymous", "authenticated", *roles]}
    return base64.b64encode(json.dumps(principal).encode()).decode()


def api(stack, method: str, path: str, user: str, *, roles: tuple[str, ...] = (), **kwargs) -> requests.Response:
    """The API as a signed-in user of the site, the way the site reaches it (the local host's port for
    the Static Web Apps proxy, which alone keeps the principal): what the browser shows of it is
    tested through the page."""
    headers = {"X-MS-CLIENT-PRINCIPAL": site_principal(user, roles), **kwargs.pop("headers", {})}
    return requests.request(method, f"{stack.host.proxy_url}/api/{path}", headers=headers, timeout=60, **kwargs)


def sign_in(page, user: str, *, roles: tuple[str, ...] = (), then: str = "/cases") -> None:
    """Through the local sign-in page (/.auth/login/aad), as a person would."""
    page.goto(f"/.auth/login/aad?post_login_redirect_uri={quote(then, safe='')}")
    page.get_by_label("Sign-in name").fill(email(user))
    page.get_by_label("Roles").fill("\n".join(roles))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{then}")


@pytest.fixture(scope="session")
def screenshots():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> None:
        page.mouse.move(0, 0)
        page.evaluate("() => window.scrollTo(0, 0)")  # else the sticky bar is drawn mid-page
        for label, size in (("laptop", LAPTOP), ("phone", PHONE)):
            page.set_viewport_size(size)
            page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
            page.screenshot(path=ARTIFACTS / f"{name}-{label}.png", full_page=True)
        page.set_viewport_size(LAPTOP)

    return take
