"""Notifications in Chromium, against the whole local stack (its sample settings allow http receivers on
loopback): a webhook subscription added on the settings page to a loopback receiver shows its secret
once; its test ping shows up in its deliveries by itself, delivered with 204, and reached the receiver
signed with that secret (checked with the Standard Webhooks reference implementation); it is paused
and deleted. A private address is refused beside the URL field and nothing is added. On a job's page
"Notify me in this browser" asks for the permission, is kept over a reload and, when the page sees the
job finish (in a hidden tab too), shows one browser notification; a blocked permission or a browser
without notifications is said beside the button. The pages are audited with axe-core at laptop and phone width."""

from __future__ import annotations

import http.server
import json
import re
import threading

import pytest
from playwright.sync_api import expect
from standardwebhooks.webhooks import Webhook

from tests.browser.conftest import ADMIN_ROLE, PHONE, SLOW_CASE, api, sign_in
from tests.browser.test_accessibility import assert_accessible, audited
from tests.browser.test_live import set_hidden
from tests.loopback import LoopbackServer

pytestmark = pytest.mark.browser

SETTINGS = "/settings/notifications"
DELIVERED_TIMEOUT_MS = 60_000
DONE_TIMEOUT_MS = 180_000

# Records every browser notification the page makes (and still makes it), before the app's code runs.
RECORD_NOTIFICATIONS = """(() => {
  window.__notices = [];
  const Original = window.Notification;
  if (!Original) return;
  function Recording(title, options) {
    window.__notices.push({ title, body: options && options.body, tag: options && options.tag });
    return new Original(title, options);
  }
  Object.defineProperty(Recording, "permission", { get: () => Original.permission });
  Recording.requestPermission = (...args) => Original.requestPermission(...args);
  Recording.prototype = Original.prototype;
  window.Notification = Recording;
})();"""


class Recorder(http.server.BaseHTTPRequestHandler):
    """A webhook receiver: keeps each POST (path, headers, body) and answers 204."""

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.server.lock:
            self.server.received.append({"path": self.path, "body": body,
                                         "headers": {k.lower(): v for k, v in self.headers.items()}})
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture(scope="module")
def receiver():
    server = LoopbackServer(Recorder)
    server.server.lock = threading.Lock()
    server.server.received = []
    yield server
    server.close()


def received(receiver) -> list[dict]:
    with receiver.server.lock:
        return list(receiver.server.received)


def settings_page(new_page, user: str):
    page = audited(new_page())
    sign_in(page, user, then=SETTINGS)
    page.get_by_role("heading", name="Notifications", level=1).wait_for()
    page.get_by_text("No subscriptions yet").wait_for()
    return page


def test_a_subscription_is_added_tested_paused_and_deleted(web_stack, new_page, receiver, screenshots):
    user = "nora"
    page = settings_page(new_page, user)
    link = page.get_by_role("navigation", name="Main").get_by_role("link", name="Notifications")
    expect(link).to_have_attribute("aria-current", "page")
    hook = f"{receiver.url}/hook"

    # job.finished is asked for unless chosen otherwise; each event says what it is.
    finished = page.get_by_role("checkbox", name="job.finished")
    expect(finished).to_be_checked()
    expect(finished).to_have_accessible_description(re.compile("done, failed or cancelled"))
    expect(page.get_by_role("checkbox", name="job.progress")).not_to_be_checked()
    page.get_by_label("URL", exact=True).fill(hook)
    page.get_by_role("checkbox", name="job.status_changed").check()
    page.get_by_label("Description").fill("The test's receiver")
    page.get_by_role("button", name="Add subscription").click()

    # The secret, once, with how to verify what is signed with it.
    panel = page.get_by_role("region", name=re.compile("signing secret"))
    expect(panel).to_contain_text("shown only now")
    expect(panel).to_contain_text("webhook-signature")
    expect(panel).to_be_focused()
    secret = panel.locator(".secret-value").inner_text().strip()
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]+=*", secret), secret
    card = page.get_by_role("article", name=hook)
    expect(card.locator(".subscription-head .chip")).to_have_text("Active")
    expect(card.locator(".event-list li")).to_have_text(["job.status_changed", "job.finished"])
    expect(page.get_by_label("URL", exact=True)).to_have_value("")
    stored = api(web_stack, "GET", "subscription", user).json()
    assert [(s["url"], s["events"], s["description"]) for s in stored] == [
        (hook, ["job.status_changed", "job.finished"], "The test's receiver")], stored
    assert "secret" not in stored[0]
    screenshots(page, "50-notifications-secret")
    assert_accessible(page, "the notifications page with a new secret")

    # A test ping shows up in the deliveries by itself (they are read every 5 s), delivered with 204.
    page.get_by_role("button", name="I have kept it").click()
    expect(panel).to_have_count(0)
    card.get_by_role("button", name="Send test").click()
    expect(card.get_by_role("status").filter(has_text="Test ping queued")).to_be_visible()
    deliveries = card.get_by_role("region", name="Deliveries")
    ping = deliveries.locator("tbody tr[data-event='ping']").first
    expect(ping).to_have_attribute("data-outcome", "delivered", timeout=DELIVERED_TIMEOUT_MS)
    expect(ping.locator("td[data-label='Status']")).to_have_text("204")
    expect(ping.locator("td[data-label='Outcome']")).to_have_text("Delivered")
    expect(ping.locator("td[data-label='Attempt']")).to_have_text("1")
    expect(ping.get_by_role("button", name=re.compile("^Redeliver"))).to_be_enabled()

    # ... and reached the receiver, signed with the secret shown.
    pings = [r for r in received(receiver) if r["path"] == "/hook" and json.loads(r["body"])["type"] == "ping"]
    assert len(pings) == 1, pings
    verified = Webhook(secret).verify(pings[0]["body"], pings[0]["headers"])
    assert verified["data"]["subscription_id"] == stored[0]["id"]
    screenshots(page, "51-notifications-deliveries")
    assert_accessible(page, "the notifications page with a delivery log")
    # At phone width the page does not scroll sideways (the log's rows become cards).
    page.set_viewport_size(PHONE)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]

    # Pause: shown, and so the API has it.
    card.get_by_role("button", name="Pause").click()
    expect(card.locator(".subscription-head .chip")).to_have_text("Paused")
    expect(card.locator(".subscription-status")).to_have_text("Paused")
    expect(card.get_by_role("button", name="Resume")).to_be_visible()
    expect(card.get_by_role("button", name="Send test")).to_be_disabled()
    assert api(web_stack, "GET", f"subscription/{stored[0]['id']}", user).json()["enabled"] is False

    # Delete, once confirmed.
    card.get_by_role("button", name="Delete").click()
    dialog = page.get_by_role("dialog", name="Delete this subscription?")
    dialog.get_by_role("button", name="Delete subscription").click()
    expect(card).to_have_count(0)
    expect(page.get_by_role("status").filter(has_text="Deleted the subscription")).to_be_visible()
    assert api(web_stack, "GET", "subscription", user).json() == []
    assert page.problems == [], page.problems


def test_a_private_address_is_refused_beside_the_url_and_nothing_is_added(web_stack, new_page, screenshots):
    user = "priya"
    page = settings_page(new_page, user)
    url = page.get_by_label("URL", exact=True)
    url.fill("http://10.0.0.1/hook")
    page.get_by_role("button", name="Add subscription").click()

    error = page.locator("#subscription-url-error")
    expect(error).to_contain_text("10.0.0.1")
    expect(error).to_contain_text("private address")
    expect(url).to_have_attribute("aria-invalid", "true")
    expect(url).to_have_accessible_description(re.compile("10.0.0.1.*private address"))
    expect(page.get_by_role("alert")).to_contain_text("Some values need your attention")
    expect(page.get_by_role("alert")).to_be_focused()
    expect(page.get_by_role("article")).to_have_count(0)
    expect(page.get_by_text("No subscriptions yet")).to_be_visible()
    assert api(web_stack, "GET", "subscription", user).json() == []
    screenshots(page, "52-notifications-refused")
    assert_accessible(page, "the notifications page with a refused URL")
    assert page.problems == [], page.problems


def test_the_job_page_notifies_in_the_browser_when_the_job_finishes(web_stack, new_page, screenshots):
    user = "noah"
    published = api(web_stack, "PUT", f"case/{SLOW_CASE['id']}", "carol", roles=(ADMIN_ROLE,), json=SLOW_CASE)
    assert published.status_code in (200, 201), published.text
    created = api(web_stack, "POST", "job", user, json={"case_id": SLOW_CASE["id"], "job_title": "Short mix",
                                                         "fields": {"seconds": 3}})
    assert created.status_code == 201, created.text
    job_id = created.json()["job_id"]

    page = audited(new_page())
    page.context.grant_permissions(["notifications"])
    page.add_init_script(RECORD_NOTIFICATIONS)
    sign_in(page, user, then=f"/jobs/{job_id}")
    page.get_by_role("heading", name="Short mix").wait_for()

    notify = page.get_by_role("button", name="Notify me in this browser")
    expect(notify).to_have_attribute("aria-pressed", "false")
    notify.click()
    expect(notify).to_have_attribute("aria-pressed", "true")
    expect(notify).to_have_accessible_description(re.compile("You will get a notification"))
    screenshots(page, "53-job-notify-me")
    assert_accessible(page, "a draft's page with the notify toggle")

    # A reload keeps the choice (sessionStorage, per job).
    page.reload()
    notify = page.get_by_role("button", name="Notify me in this browser")
    expect(notify).to_have_attribute("aria-pressed", "true")

    # Run it, and look away: the page of a hidden tab stops its live looks, but asks for the status
    # while a notification is wanted, so the notification comes while the tab is still hidden.
    chip = page.locator(".page-header .chip")
    page.get_by_role("button", name="Run job").click()
    expect(chip).not_to_have_text("Draft")
    set_hidden(page, True)
    page.wait_for_function("() => window.__notices.length > 0", timeout=DONE_TIMEOUT_MS, polling=250)
    set_hidden(page, False)
    expect(chip).to_have_text("Done")
    notices = page.evaluate("() => window.__notices")
    assert len(notices) == 1, notices
    assert notices[0]["title"] == "Job “Short mix” done", notices
    assert notices[0]["body"].startswith("Short mix"), notices
    assert notices[0]["tag"] == f"simgate-job-{job_id}", notices
    # Finished: the toggle is gone, and so is the choice (a reload does not notify again).
    expect(notify).to_have_count(0)
    assert page.evaluate(f"() => sessionStorage.getItem('simgate:notify-when-finished:{job_id}')") is None
    assert page.problems == [], page.problems


def test_a_blocked_permission_is_said_beside_the_button(web_stack, new_page):
    user = "nils"
    created = api(web_stack, "POST", "job", user, json={"case_id": "smoothie", "job_title": "Unheard"})
    assert created.status_code == 201, created.text
    page = new_page()
    page.add_init_script("Object.defineProperty(Notification, 'permission', {get: () => 'denied'});"
                         "Notification.requestPermission = async () => 'denied';")
    sign_in(page, user, then=f"/jobs/{created.json()['job_id']}")
    notify = page.get_by_role("button", name="Notify me in this browser")
    notify.click()
    expect(notify).to_have_attribute("aria-pressed", "false")
    expect(notify).to_have_accessible_description(re.compile("blocked for this site"))

    unsupported = new_page()
    unsupported.add_init_script("delete window.Notification;")
    sign_in(unsupported, user, then=f"/jobs/{created.json()['job_id']}")
    button = unsupported.get_by_role("button", name="Notify me in this browser")
    expect(button).to_be_disabled()
    expect(button).to_have_accessible_description("This browser cannot show notifications.")
