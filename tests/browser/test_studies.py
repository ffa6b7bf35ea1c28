"""Studies in Chromium, against the whole local stack: a 2×2 sweep of the smoothie case made through
the Sweep form of its case page (a bad value is marked beside its field while the form is edited, and
the run count and the sites' quotes are shown before anything is created), followed on its page until
every run is done (the counts by status move without a reload), sorted by a column, compared (the
values that differ, the result files, the CSV columns and an overlay plot with a line per run), and
compared again from runs picked in the jobs list. A draft's Preview tab shows its rendered scripts
and the quotes. Every new page is audited with axe-core."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS, LAPTOP, PHONE, api, sign_in
from tests.browser.test_accessibility import assert_accessible, audited

pytestmark = pytest.mark.browser

USER = "sweeper"
DONE_TIMEOUT_MS = 240_000
SWEEP_URL = re.compile(r"/sweeps/(sw-[0-9a-f-]+)$")

# The counts by status the sweep page shows, as "status=n,..." (in the page's order).
COUNTS = """() => [...document.querySelectorAll('.sweep-counts .sweep-count[data-status]')]
    .map(e => `${e.dataset.status}=${e.dataset.count}`).join(',')"""

# Every distinct set of counts the page has shown, kept in the page as it changes.
WATCH_COUNTS = """() => {
  window.__counts = [];
  const note = () => {
    const now = (%s)();
    if (now && window.__counts[window.__counts.length - 1] !== now) window.__counts.push(now);
  };
  note();
  new MutationObserver(note).observe(document.body, {subtree: true, childList: true, attributes: true,
                                                     characterData: true});
}""" % COUNTS


def vary_editor(page, label: str):
    return page.locator("fieldset.vary-field", has=page.locator("legend", has_text=label))


@pytest.fixture(scope="module")
def made(web_stack, new_page, screenshots):
    """A 2×2 sweep made through the case page's form and followed to its end: yields what was seen."""
    page = audited(new_page())
    sign_in(page, USER, then="/cases/smoothie")
    page.get_by_role("heading", name="Sweep", exact=True).wait_for()
    preview_requests: list[str] = []
    page.on("request", lambda request: preview_requests.append(request.url)
            if request.url.endswith("/api/preview") else None)

    page.get_by_label("Sweep title").fill("Speed and time")
    page.get_by_role("checkbox", name="Blade speed", exact=True).check()
    speed = vary_editor(page, "Blade speed")
    # A value the field does not allow is marked beside it, before anything is created.
    speed.get_by_role("textbox", name="Values of Blade speed").fill("4000, 25000")
    expect(speed.locator(".vary-errors")).to_contain_text(re.compile(r"Value 2 \(25000\).*20000"))
    expect(speed.locator(".value-chip-bad")).to_have_text(re.compile(r"^25000"))
    expect(page.locator(".run-count")).to_contain_text("1 problem")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    speed.screenshot(path=ARTIFACTS / "40-sweep-form-bad-value.png")
    speed.get_by_role("textbox", name="Values of Blade speed").fill("4000, 12000")
    expect(speed.locator(".vary-errors")).to_have_count(0)

    page.get_by_role("checkbox", name="Blending time", exact=True).check()
    duration = vary_editor(page, "Blending time")
    duration.get_by_text("Range", exact=True).click()
    duration.get_by_label("Start").fill("5")
    duration.get_by_label("Stop (included)").fill("10")
    duration.get_by_label("Step").fill("5")
    expect(duration.locator(".value-chip")).to_have_text(["5", "10"])

    # The run count and the quotes, before anything is created.
    expect(page.locator(".run-count [data-runs]")).to_have_text("4")
    expect(page.locator(".run-count")).to_contain_text("Every value is valid")
    quotes = page.get_by_role("list", name="What each site quotes for the runs")
    expect(quotes.get_by_role("listitem").filter(has_text="local")).to_contain_text("can take them")
    expect(page.locator(".sweep-preview .quotes-heading")).to_have_text("Quotes for all 4 runs")
    seen = {"previews": len(preview_requests)}
    page.get_by_role("heading", name="Sweep", exact=True).scroll_into_view_if_needed()
    page.locator(".sweep-panel").screenshot(path=ARTIFACTS / "40-sweep-form-panel.png")
    screenshots(page, "40-sweep-form")
    assert_accessible(page, "the sweep form")

    page.get_by_role("button", name="Create and run sweep").click()
    page.wait_for_url(SWEEP_URL)
    sweep_id = SWEEP_URL.search(page.url).group(1)
    page.get_by_role("heading", name="Speed and time").wait_for()
    page.evaluate(WATCH_COUNTS)
    page.locator(".sweep-status").screenshot(path=ARTIFACTS / "41-sweep-page-status-active.png")
    page.wait_for_function("() => document.querySelector('.sweep-count[data-status=done]')"
                           "?.dataset.count === '4'", timeout=DONE_TIMEOUT_MS, polling=250)
    seen.update(sweep_id=sweep_id, counts=page.evaluate("() => window.__counts"), page=page)
    screenshots(page, "41-sweep-page")
    yield seen


def test_the_sweep_form_previews_before_creating(made):
    assert made["previews"] >= 2, "the form was not previewed as it was edited"


def test_the_sweep_page_follows_the_counts_until_every_run_is_done(made, web_stack):
    page = made["page"]
    counts = made["counts"]
    assert len(counts) >= 2 and counts[-1] == "done=4", f"the counts did not move to done=4: {counts}"
    expect(page.get_by_role("progressbar", name="Progress of all runs")).to_have_attribute("aria-valuenow", "100")
    sweep = api(web_stack, "GET", f"sweep/{made['sweep_id']}", USER).json()
    assert sweep["state"] == "finished" and sweep["counts"] == {"done": 4}, sweep
    assert page.problems == [], page.problems
    assert_accessible(page, "the sweep page")


def test_the_runs_sort_by_any_column(made):
    page = made["page"]
    table = page.locator(".sweep-table")
    speed = table.get_by_role("columnheader", name=re.compile(r"^Blade speed"))
    speed.get_by_role("button").click()
    expect(speed).to_have_attribute("aria-sort", "ascending")
    speed.get_by_role("button").click()
    expect(speed).to_have_attribute("aria-sort", "descending")
    speeds = table.locator("tbody tr td:nth-of-type(1)").all_inner_texts()
    assert [s.replace(",", "").replace("\u202f", "").replace(".", "") for s in speeds] == ["12000", "12000", "4000", "4000"], speeds

    # A summary value of the results (homogeneity.csv's last homogeneity, by default) sorts too.
    summary = table.get_by_role("columnheader", name=re.compile(r"homogeneity \(last value\)"))
    summary.get_by_role("button").click()
    expect(summary).to_have_attribute("aria-sort", "ascending")
    expect(speed).not_to_have_attribute("aria-sort", re.compile("."))
    values = [float(v) for v in table.locator("tbody tr td:nth-last-of-type(1)").all_inner_texts()]
    assert values == sorted(values), values
    # Each row links to its run.
    first = table.locator("tbody tr").first.get_by_role("link")
    expect(first).to_have_attribute("href", re.compile(r"^/jobs/"))


def test_the_sweep_is_compared_with_an_overlay_plot(made, screenshots):
    page = made["page"]
    page.get_by_role("link", name="Compare all").click()
    page.wait_for_url(re.compile(r"/compare\?sweep_id="))
    page.get_by_role("heading", name="Compare 4 runs").wait_for()
    values = page.locator("section.panel", has=page.get_by_role("heading", name="Values", exact=True))
    # Only the values that differ, by default: the two varied fields.
    expect(values.locator("tbody tr")).to_have_count(2)
    expect(values.locator("tbody th").first).to_contain_text("Blade speed")
    expect(values.locator(".cell-differs").first).to_be_visible()
    values.get_by_label("Only differences").uncheck()
    expect(values.locator("tbody tr")).to_have_count(6)
    values.get_by_label("Only differences").check()

    files = page.locator("section.panel", has=page.get_by_role("heading", name="Result files"))
    homogeneity = files.get_by_role("row").filter(has_text="results/homogeneity.csv")
    expect(homogeneity).to_contain_text("Differs")
    expect(homogeneity.locator(".md5")).to_have_count(4)

    overlay = page.locator("section.panel", has=page.get_by_role("heading", name="Overlay plot"))
    overlay.get_by_label("CSV file").select_option("results/homogeneity.csv")
    overlay.get_by_label("Column").select_option("homogeneity")
    figure = overlay.locator("figure.overlay-figure[data-lines='4']")
    figure.wait_for(timeout=60_000)
    expect(figure.locator("path.recharts-line-curve")).to_have_count(4)
    screenshots(page, "42-compare")
    # At phone width the wide tables scroll by themselves: the page does not.
    page.set_viewport_size(PHONE)
    expect(page.locator("h1")).to_have_text("Compare 4 runs")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    page.set_viewport_size(LAPTOP)
    assert page.problems == [], page.problems
    assert_accessible(page, "the compare page")


def test_runs_picked_in_the_jobs_list_are_compared(made, screenshots):
    page = made["page"]
    page.goto(f"/jobs?sweep_id={made['sweep_id']}")
    rows = page.locator(".jobs-table tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.first.get_by_role("link", name=re.compile("^Open the sweep of"))).to_be_visible()
    compare = page.get_by_role("button", name=re.compile(r"^Compare \("))
    expect(compare).to_be_disabled()
    rows.nth(0).get_by_role("checkbox").check()
    rows.nth(3).get_by_role("checkbox").check()
    expect(compare).to_have_text("Compare (2)")
    expect(compare).to_be_enabled()
    screenshots(page, "43-jobs-selected")
    assert_accessible(page, "the jobs list with runs selected")
    compare.click()
    page.wait_for_url(re.compile(r"/compare\?job=[^&]+&job=[^&]+$"))
    page.get_by_role("heading", name="Compare 2 runs").wait_for()


def test_the_sweeps_list_links_to_the_sweep(made):
    page = made["page"]
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sweeps").click()
    page.get_by_role("heading", name="My sweeps").wait_for()
    link = page.get_by_role("link", name="Speed and time")
    expect(link).to_have_attribute("href", f"/sweeps/{made['sweep_id']}")
    assert_accessible(page, "the sweeps list")


def test_a_drafts_preview_tab_shows_its_scripts_and_quotes(web_stack, new_page, screenshots):
    created = api(web_stack, "POST", "job", USER, json={"case_id": "smoothie", "job_title": "Previewed draft",
                                                         "fields": {"speed_rpm": 7000}})
    assert created.status_code == 201, created.text
    job_id = created.json()["job_id"]
    page = audited(new_page())
    sign_in(page, USER, then=f"/jobs/{job_id}")
    tab = page.get_by_role("tab", name="Preview")
    tab.click()
    expect(tab).to_have_attribute("aria-selected", "true")
    script = page.get_by_role("tabpanel").locator("pre[data-script='run.sh']")
    expect(script).to_contain_text("--speed-rpm 7000")
    expect(page.get_by_role("figure", name="run.sh")).to_be_visible()
    expect(page.locator(".job-preview .quotes-table").get_by_role("row").filter(has_text="local")).to_be_visible()
    expect(page.locator(".job-preview .placement-text")).not_to_be_empty()
    screenshots(page, "44-draft-preview")
    assert_accessible(page, "a draft's preview tab")
    # Keyboard: back to the values, and the editor kept what it had.
    tab.focus()
    page.keyboard.press("ArrowLeft")
    expect(page.get_by_role("tab", name="Values")).to_be_focused()
    expect(page.get_by_label("Blade speed")).to_have_value("7000")
    assert page.problems == [], page.problems


def test_a_table_of_runs_is_previewed_row_by_row(web_stack, new_page, screenshots):
    page = audited(new_page())
    sign_in(page, USER, then="/cases/smoothie")
    page.get_by_role("heading", name="Sweep", exact=True).wait_for()
    page.get_by_label("A table of runs").check()
    page.get_by_label("Table of runs (CSV)").fill("speed_rpm,duration_s\n4000,10\n50,20\n8000,\n")
    rows = page.get_by_role("region", name="The table's runs").locator("tbody tr")
    expect(rows).to_have_count(3)
    # The bad row is marked beside itself; an empty cell takes the base value.
    expect(rows.nth(1)).to_have_class(re.compile(r"\brow-invalid\b"))
    expect(rows.nth(1).locator(".row-problems")).to_contain_text("1000")
    expect(rows.nth(2).locator(".row-problems")).to_have_text("—")
    expect(page.locator(".run-count [data-runs]")).to_have_text("3")
    expect(page.locator(".run-count")).to_contain_text("1 problem")
    page.locator(".sweep-panel").screenshot(path=ARTIFACTS / "45-sweep-table-panel.png")
    assert_accessible(page, "the sweep form with a table")
    # Create is refused with the same problem, shown at the same place; nothing is made.
    page.get_by_label("Sweep title").fill("From a table")
    page.get_by_role("button", name="Create and run sweep").click()
    expect(page.get_by_role("alert")).to_contain_text("Some values need your attention")
    expect(rows.nth(1).locator(".row-problems")).to_contain_text("1000")
    assert api(web_stack, "GET", "sweep", USER).json() == [] or all(
        s["title"] != "From a table" for s in api(web_stack, "GET", "sweep", USER).json())
    assert page.problems == [], page.problems


def test_a_sweep_kept_as_drafts_runs_them_all_from_its_page(web_stack, new_page):
    created = api(web_stack, "POST", "sweep", USER, json={"case_id": "smoothie", "title": "Kept as drafts",
                                                          "vary": {"speed_rpm": [3000, 6000]}})
    assert created.status_code == 201, created.text
    page = audited(new_page())
    sign_in(page, USER, then=f"/sweeps/{created.json()['sweep_id']}")
    expect(page.get_by_text("The runs were kept as drafts")).to_be_visible()
    page.get_by_role("button", name="Run drafts (2)").click()
    expect(page.get_by_text("2 runs were asked to run")).to_be_visible()
    expect(page.locator(".sweep-count[data-status='done']")).to_have_attribute("data-count", "2",
                                                                               timeout=DONE_TIMEOUT_MS)
    expect(page.get_by_role("button", name=re.compile("Run drafts"))).to_have_count(0)
    assert page.problems == [], page.problems
