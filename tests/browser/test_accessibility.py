"""Every page of the web app audited with axe-core (web/node_modules/axe-core, pinned in
web/package.json) in Chromium, at laptop and phone width: no serious or critical violation. The jobs
the pages show are made through the API as the signed-in user: a finished one with outputs, a draft,
and one that keeps running while its page is audited."""

from __future__ import annotations

import time

import pytest
import requests

from devstack.web import WEB_DIR
from tests.browser.conftest import ADMIN_ROLE, LAPTOP, PHONE, SLOW_CASE, api, sign_in

pytestmark = pytest.mark.browser

AXE = WEB_DIR / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING_IMPACTS = ("serious", "critical")
USER = "ada"
DONE_TIMEOUT_S = 120


def as_user(stack, method: str, path: str, **kwargs) -> requests.Response:
    answer = api(stack, method, path, USER, **kwargs)
    answer.raise_for_status()
    return answer


def new_job(stack, case_id: str, title: str, *, run: bool) -> str:
    job_id = as_user(stack, "POST", "job", json={"case_id": case_id, "job_title": title}).json()["job_id"]
    if run:
        as_user(stack, "POST", f"job/{job_id}")
    return job_id


def wait_for_status(stack, job_id: str, wanted: str) -> None:
    deadline = time.monotonic() + DONE_TIMEOUT_S
    status = as_user(stack, "GET", f"job/{job_id}/status").json()["status"]
    while status != wanted:
        assert status not in ("done", "failed", "cancelled"), f"job {job_id} ended {status}, not {wanted}"
        assert time.monotonic() < deadline, f"job {job_id} is still {status}, not {wanted}"
        status = as_user(stack, "GET", f"job/{job_id}/status", params={"wait": 10, "since": status}).json()["status"]


@pytest.fixture(scope="module")
def jobs(web_stack):
    """Ada's jobs: a finished smoothie job with outputs, a draft, and a job that runs for minutes."""
    api(web_stack, "PUT", f"case/{SLOW_CASE['id']}", "carol", roles=(ADMIN_ROLE,), json=SLOW_CASE).raise_for_status()
    done = new_job(web_stack, "smoothie", "Audited smoothie", run=True)
    running = new_job(web_stack, SLOW_CASE["id"], "Audited wait", run=True)
    draft = new_job(web_stack, "heat-rod", "Audited draft", run=False)
    wait_for_status(web_stack, done, "done")
    wait_for_status(web_stack, running, "running")
    yield {"done": done, "running": running, "draft": draft}
    api(web_stack, "POST", f"job/{running}/cancel", USER)


def audited(page):
    """``page`` with axe-core in every document it shows (an init script, which the app's Content
    Security Policy does not apply to)."""
    page.add_init_script(path=str(AXE))
    return page


@pytest.fixture(scope="module")
def page(new_page, jobs):
    """Ada, signed in."""
    signed_in = audited(new_page())
    sign_in(signed_in, USER)
    return signed_in


def violations(page, rules: tuple[str, ...] = ()) -> list[dict]:
    """The serious and critical violations on the page, of every rule or of ``rules``."""
    options = {"resultTypes": ["violations"], **({"runOnly": {"type": "rule", "values": list(rules)}} if rules else {})}
    results = page.evaluate("options => axe.run(document, options)", options)
    return [v for v in results["violations"] if v["impact"] in BLOCKING_IMPACTS]


def describe(violation: dict) -> str:
    lines = [f"{violation['impact']}: {violation['id']}: {violation['help']} ({violation['helpUrl']})"]
    for node in violation["nodes"]:
        lines.append(f"  {' > '.join(map(str, node['target']))}")
        lines.append(f"    {node['html'][:200]}")
        for check in node.get("any", []) + node.get("all", []) + node.get("none", []):
            data = check.get("data")
            if isinstance(data, dict) and "contrastRatio" in data:
                lines.append(f"    {data.get('fgColor')} on {data.get('bgColor')}: {data['contrastRatio']}:1, "
                             f"needs {data.get('expectedContrastRatio')} ({data.get('fontSize')}, "
                             f"{data.get('fontWeight')})")
            elif check.get("message"):
                lines.append(f"    {check['message']}")
    return "\n".join(lines)


def assert_accessible(page, what: str, *, rules: tuple[str, ...] = ()) -> None:
    """No serious or critical violation, at laptop and at phone width (where tables become cards)."""
    found = []
    for label, size in (("laptop", LAPTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        found += [f"[{label}] {describe(v)}" for v in violations(page, rules)]
    page.set_viewport_size(LAPTOP)
    assert not found, f"{what} ({page.url}) has accessibility violations:\n" + "\n".join(found)


def test_the_landing_and_sign_in_pages(new_page, screenshots):
    visitor = audited(new_page())
    visitor.goto("/")
    visitor.get_by_role("heading", name="Run simulations from your browser").wait_for()
    assert_accessible(visitor, "the landing page")
    visitor.get_by_role("main").get_by_role("link", name="Sign in").click()
    visitor.get_by_label("Sign-in name").wait_for()
    screenshots(visitor, "00-sign-in")
    assert_accessible(visitor, "the sign-in page")


def test_the_cases_list(page):
    page.goto("/cases")
    page.get_by_role("heading", name="Smoothie blender").wait_for()
    assert_accessible(page, "the cases list")


def test_a_case(page):
    page.goto("/cases/smoothie")
    page.get_by_role("heading", name="Values you can set").wait_for()
    assert_accessible(page, "a case")


def test_the_new_job_form_also_with_errors(page):
    page.goto("/cases/smoothie/new")
    page.get_by_label("Job title").wait_for()
    assert_accessible(page, "the new job form")
    page.get_by_label("Job title").fill("Audited form")
    page.get_by_label("Blade speed").fill("50")
    page.get_by_role("button", name="Save and run").click()
    page.locator("#field-speed_rpm-error").wait_for()
    assert_accessible(page, "the new job form with an error")


def test_the_jobs_list(page, jobs):
    page.goto("/jobs")
    for title in ("Audited smoothie", "Audited wait", "Audited draft"):
        page.get_by_role("link", name=title, exact=True).first.wait_for()
    assert_accessible(page, "the jobs list")


def test_a_running_job(page, jobs):
    page.goto(f"/jobs/{jobs['running']}")
    page.locator(".status-panel .status-line .chip", has_text="Running").wait_for()
    assert_accessible(page, "a running job")


def test_a_draft_job(page, jobs):
    page.goto(f"/jobs/{jobs['draft']}")
    page.locator(".status-panel").wait_for()
    assert_accessible(page, "a draft job")


def test_a_finished_job_with_outputs_and_a_preview(page, jobs):
    page.goto(f"/jobs/{jobs['done']}")
    preview = page.get_by_role("button", name="Preview & plot results/homogeneity.csv")
    preview.wait_for()
    assert_accessible(page, "a finished job")
    preview.click()
    page.locator(".plot-figure .recharts-wrapper svg").first.wait_for()
    assert_accessible(page, "a finished job with a CSV preview and plot")
