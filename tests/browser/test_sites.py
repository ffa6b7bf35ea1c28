"""Where jobs run, in Chromium against the whole local stack (its one simulator, "local": 4 slots,
2 "solver" licences, 3 jobs per user). A draft heat-rod job's page offers local with its licences;
the user picks it, by mouse and by keyboard, and runs the job there. A job waiting for a licence
shows why, where it went and its place in line. An admin's Sites page shows local with its limits,
what is in use and its line; a user who is not an admin has no Sites link and no Sites page."""

from __future__ import annotations

import json
import re
import time
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ADMIN_ROLE, ARTIFACTS, api, email, sign_in
from tests.browser.test_accessibility import assert_accessible, audited

pytestmark = pytest.mark.browser

USER = "noor"
LINE_USER = "omar"
ADMIN = "sam"
SITE = "local"
DEADLINE_S = 120
WAITING_FOR_A_LICENCE = re.compile(r"waiting for licence solver \(2/2 in use, \d+(st|nd|rd|th) in line\)")


def as_user(stack, user: str, method: str, path: str, **kwargs):
    answer = api(stack, method, path, user, **kwargs)
    assert answer.ok, f"{method} {path}: {answer.status_code} {answer.text}"
    return answer


def new_rod(stack, user: str, title: str, run_seconds: int) -> str:
    body = {"case_id": "heat-rod", "job_title": title, "fields": {"run_seconds": run_seconds}}
    return as_user(stack, user, "POST", "job", json=body).json()["job_id"]


def wait_until(stack, user: str, job_ids: list[str], done, what: str) -> dict:
    """The first of ``job_ids`` (as the API shows it) that ``done`` accepts, asked until the deadline:
    each round waits on the last job's status until it changes (or a few seconds pass)."""
    deadline = time.monotonic() + DEADLINE_S
    etag = None
    while True:
        jobs = [as_user(stack, user, "GET", f"job/{job_id}").json() for job_id in job_ids]
        found = next((job for job in jobs if done(job)), None)
        if found is not None:
            return found
        seen = {job["job_id"]: (job["status"], job["detail"]) for job in jobs}
        assert time.monotonic() < deadline, f"no job is {what}: {seen}"
        headers = {"If-None-Match": etag} if etag else {}
        answer = api(stack, "GET", f"job/{job_ids[-1]}/status", user, params={"wait": 5}, headers=headers)
        etag = answer.headers.get("ETag") or etag


@pytest.fixture(scope="module")
def picked(web_stack, new_page, screenshots):
    """Noor's draft rod, run on local as picked on its page: yields (page, job id, the Run request's body)."""
    job_id = new_rod(web_stack, USER, "Placed rod", run_seconds=0)
    page = audited(new_page())
    sign_in(page, USER, then=f"/jobs/{job_id}")

    choice = page.get_by_role("radiogroup", name="Where it runs")
    soonest = choice.get_by_role("radio", name="Soonest (automatic)")
    local = choice.get_by_role("radio", name=re.compile(rf"^{SITE}\b"))
    local.wait_for()
    expect(soonest).to_be_checked()
    card = page.locator(".offer", has=page.get_by_role("radio", name=re.compile(rf"^{SITE}\b")))
    expect(card).to_contain_text(re.compile(r"solver \d/2"))
    assert_accessible(page, "a draft's offers")

    card.click()
    expect(local).to_be_checked()
    local.focus()
    page.keyboard.press("ArrowUp")
    expect(soonest).to_be_checked()
    expect(soonest).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(local).to_be_checked()
    page.locator(".offer-choice").screenshot(path=ARTIFACTS / "20-offers-panel.png")
    screenshots(page, "20-offers")

    def is_run(request) -> bool:
        return request.method == "POST" and urlsplit(request.url).path == f"/api/job/{job_id}"

    with page.expect_request(is_run) as run:
        page.get_by_role("button", name="Run job").click()
    yield page, job_id, run.value.post_data_json
    assert page.problems == [], page.problems


@pytest.fixture(scope="module")
def line(web_stack):
    """Omar's three slow rods on local, which has two solver licences: yields the one that waits."""
    rods = [new_rod(web_stack, LINE_USER, f"Queued rod {n}", run_seconds=300) for n in (1, 2, 3)]
    for job_id in rods:
        as_user(web_stack, LINE_USER, "POST", f"job/{job_id}")
    try:
        yield wait_until(web_stack, LINE_USER, rods, lambda job: job["status"] == "submitted"
                         and WAITING_FOR_A_LICENCE.search(job["detail"] or ""), "waiting for a solver licence")
    finally:
        for job_id in rods:
            api(web_stack, "POST", f"job/{job_id}/cancel", LINE_USER)


def test_a_draft_offers_local_with_its_licences(picked):
    page, _, _ = picked
    card = page.locator(".offer").filter(has=page.get_by_role("radio", name=re.compile(rf"^{SITE}\b")))
    expect(page.get_by_role("region", name="Where it runs")).to_contain_text("Each run holds 1 solver licence")
    for fact in ("Starts", "Takes", "Slots", "Licences in use", "Line"):
        expect(card.locator("dt", has_text=fact)).to_be_visible()
    expect(card).to_contain_text(re.compile(r"\d/4 in use"))
    expect(card).to_contain_text("up to 3 per user")


def test_the_job_runs_where_it_was_picked(picked, web_stack, screenshots):
    page, job_id, body = picked
    assert body == {"simulator": SITE}
    job = wait_until(web_stack, USER, [job_id], lambda job: job["simulator"] is not None, "placed")
    assert job["simulator"] == SITE and job["placement"] == f"{SITE}: chosen by {email(USER)}"
    expect(page.locator(".status-panel")).to_contain_text(f"{SITE}: chosen by {email(USER)}", timeout=DEADLINE_S * 1000)

    wait_until(web_stack, USER, [job_id], lambda job: job["status"] in ("done", "failed", "cancelled"), "finished")
    expect(page.locator(".status-panel .status-line .chip", has_text="Done")).to_be_visible(timeout=DEADLINE_S * 1000)
    placed = page.locator(".status-panel .facts dt", has_text="Placed")
    expect(placed).to_be_visible()
    expect(page.locator(".status-panel .facts dt:has-text('Placed') + dd")).to_have_text(f"{SITE}: chosen by {email(USER)}")
    screenshots(page, "23-placed-job")


def test_the_apis_objection_to_a_choice_is_shown_beside_it(web_stack, new_page, screenshots):
    """The API refuses the site (as it would one that lacks the case's licence): its message is shown
    beside the choice, which keeps the user's pick."""
    job_id = new_rod(web_stack, USER, "Refused rod", run_seconds=0)
    message = f"{SITE} cannot run case heat-rod: it has no solver licence"
    problem = {"type": "urn:simgate:problem:validation-failed", "title": "Validation failed", "status": 422,
               "detail": message, "errors": [{"field": "simulator", "message": message}]}

    def refuse_the_run(route) -> None:
        if route.request.method == "POST":
            route.fulfill(status=422, content_type="application/problem+json", body=json.dumps(problem))
        else:
            route.fallback()

    page = audited(new_page())
    sign_in(page, USER, then=f"/jobs/{job_id}")
    local = page.get_by_role("radio", name=re.compile(rf"^{SITE}\b"))
    page.locator(".offer", has=local).click()
    page.route(f"**/api/job/{job_id}", refuse_the_run)
    page.get_by_role("button", name="Run job").click()

    error = page.locator("#field-simulator-error")
    expect(error).to_have_text(f"{message[0].upper()}{message[1:]}.")
    choice = page.get_by_role("radiogroup", name="Where it runs")
    expect(choice).to_have_attribute("aria-invalid", "true")
    expect(choice).to_have_attribute("aria-describedby", "field-simulator-error")
    expect(page.get_by_role("alert").first).to_contain_text("Some values need your attention")
    expect(local).to_be_checked()
    assert as_user(web_stack, USER, "GET", f"job/{job_id}").json()["status"] == "draft"
    page.locator(".offer-choice").screenshot(path=ARTIFACTS / "20-offers-refused.png")
    assert_accessible(page, "a draft whose choice of site was refused")
    assert page.problems == [], page.problems


def test_the_case_says_which_licences_a_run_holds(picked, screenshots):
    page, _, _ = picked
    page.goto("/cases/heat-rod")
    expect(page.get_by_role("region", name="Facts")).to_contain_text("Each run holds 1 solver licence")
    screenshots(page, "24-case-licences")
    page.goto("/cases/smoothie")
    page.get_by_role("heading", name="Values you can set").wait_for()
    expect(page.get_by_role("region", name="Facts")).not_to_contain_text("licence")


def test_a_job_waiting_for_a_licence_shows_why_where_and_its_place(line, new_page, screenshots):
    page = audited(new_page())
    sign_in(page, LINE_USER, then=f"/jobs/{line['job_id']}")
    status = page.locator(".status-panel")
    expect(status.locator(".status-line .chip", has_text="Submitted")).to_be_visible()
    expect(status.locator(".status-detail-waiting")).to_have_text(WAITING_FOR_A_LICENCE)
    expect(status).to_contain_text(f"Placed: {SITE}: the only simulator case heat-rod may run on")
    expect(status).to_contain_text(re.compile(rf"Line at {SITE}: \d/4 slots in use"))
    screenshots(page, "21-waiting-job")
    assert_accessible(page, "a job waiting for a licence")
    assert page.problems == [], page.problems


def test_an_admin_sees_each_site_with_its_limits_use_and_line(line, new_page, screenshots):
    page = audited(new_page())
    sign_in(page, ADMIN, roles=(ADMIN_ROLE,))
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sites").click()
    page.wait_for_url("**/sites")
    site = page.get_by_role("region", name=SITE, exact=True)
    expect(site).to_contain_text("Reachable")
    expect(site.locator(".scheduler")).to_have_text("direct")
    facts = {dt.inner_text(): dd.inner_text() for dt, dd in zip(site.locator(".site-facts dt").all(),
                                                                 site.locator(".site-facts dd").all())}
    assert re.fullmatch(r"[2-4]/4 in use", facts["Slots"]), facts
    assert facts["Licences in use"] == "solver 2/2", facts
    assert re.search(rf"{re.escape(email(LINE_USER))} 2\b", facts["Per user"]), facts
    assert "(up to 3 each)" in facts["Per user"], facts

    waiting = site.get_by_role("row").filter(has=page.get_by_role("link", name=line["job_id"]))
    expect(waiting).to_contain_text(email(LINE_USER))
    expect(waiting).to_contain_text(WAITING_FOR_A_LICENCE)
    screenshots(page, "22-sites")
    assert_accessible(page, "the sites page")

    waiting.get_by_role("link", name=line["job_id"]).click()
    page.wait_for_url(f"**/jobs/{line['job_id']}")
    page.get_by_role("heading", name=line["title"]).wait_for()
    assert page.problems == [], page.problems


def test_a_user_who_is_not_an_admin_has_no_sites_page(new_page):
    page = new_page()
    asked = []
    page.on("request", lambda request: "/api/simulators" in request.url and asked.append(request.url))
    sign_in(page, USER, then="/jobs")
    menu = page.get_by_role("navigation", name="Main")
    expect(menu.get_by_role("link", name="Jobs")).to_be_visible()
    expect(menu.get_by_role("link", name="Sites")).to_have_count(0)
    page.goto("/sites")
    page.get_by_role("heading", name="Page not found").wait_for()
    assert asked == []
    assert page.problems == [], page.problems
