"""A running job followed live in Chromium, against the whole local stack: a heat-rod job paced to
run for about 25 s (a line on stdout, a progress report, a row of the series and a new profile.csv
every few steps). While it runs its page shows the log tail growing, the progress bar moving, the
series plotted as rows arrive and the live profile.csv plotted again as newer copies are taken; at
the end the log is complete. The page reads /api no more than 30 times a minute, nothing while it
is hidden, and reads each copy of the live file from storage once."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS, api, sign_in

pytestmark = pytest.mark.browser

USER = "lena"
RUN_SECONDS = 25
START_TIMEOUT_MS = 120_000  # submitted, queued, then running on the local simulator
RUN_TIMEOUT_MS = 60_000  # the checks while it runs: the run itself lasts about RUN_SECONDS
DONE_TIMEOUT_MS = 180_000
MAX_API_REQUESTS_PER_MINUTE = 30

# What the page shows, read in the page: log lines, progress, series points, the live file's copy.
READINGS = """() => {
  const log = document.querySelector('.live-panel .log-text');
  const bar = document.querySelector('.status-panel [role=progressbar]');
  const series = [...document.querySelectorAll('.live-panel .series-figure')];
  const file = document.querySelector('.live-panel .live-file');
  const chip = document.querySelector('.status-panel .status-line .chip');
  return {
    status: chip ? chip.textContent.trim() : null,
    lines: log ? (log.textContent.match(/^step \\d+\\//gm) || []).length : 0,
    progress: bar && bar.hasAttribute('aria-valuenow') ? Number(bar.getAttribute('aria-valuenow')) : null,
    series: series.length ? Math.min(...series.map(f => Number(f.dataset.points || 0))) : 0,
    fileTakenAt: file ? (file.querySelector('[data-taken-at]') || {dataset: {}}).dataset.takenAt || null : null,
    filePoints: file ? Number((file.querySelector('.plot-figure') || {dataset: {}}).dataset.points || 0) : 0,
  };
}"""

# Every copy of a live file the page has shown (the live panel's "taken at"), kept in the page.
WATCH_COPIES = """() => {
  window.__copies = new Set();
  const note = () => document.querySelectorAll('.live-panel [data-taken-at]').forEach(
    e => e.dataset.takenAt && window.__copies.add(e.dataset.takenAt));
  note();
  new MutationObserver(note).observe(document.body, {subtree: true, childList: true, attributes: true,
                                                     attributeFilter: ['data-taken-at']});
}"""

ALL_GREW = """([before, running]) => {
  const now = (%s)();
  return now.status === running && now.lines > before.lines && now.progress > before.progress
    && now.series > before.series && now.fileTakenAt !== before.fileTakenAt && now.filePoints > 0;
}""" % READINGS

ALL_SHOWN = """(running) => {
  const now = (%s)();
  return now.status === running && now.lines > 0 && now.progress > 0 && now.series > 1
    && now.fileTakenAt && now.filePoints > 0;
}""" % READINGS


def most_in_a_minute(times: list[float]) -> int:
    """The most requests sent within any 60 s."""
    return max((sum(1 for t in times if start <= t < start + 60) for start in times), default=0)


def set_hidden(page, hidden: bool) -> None:
    """The page as a background tab (or in front again): what the browser says and tells the page."""
    page.evaluate("""hidden => {
        Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => hidden ? 'hidden' : 'visible'});
        Object.defineProperty(document, 'hidden', {configurable: true, get: () => hidden});
        document.dispatchEvent(new Event('visibilitychange', {bubbles: true}));
    }""", hidden)


def wait_for_progress(stack, job_id: str, above: float) -> None:
    """Until the job's progress passes ``above``, asked by this test, not the page (a long poll that
    answers when progress changes)."""
    deadline = time.monotonic() + RUN_TIMEOUT_MS / 1000
    etag = None
    while True:
        headers = {"If-None-Match": etag} if etag else {}
        answer = api(stack, "GET", f"job/{job_id}/status", USER, params={"wait": 10}, headers=headers)
        if answer.status_code == 200:
            info = answer.json()
            assert info["status"] == "running", f"the job is {info['status']}, not running"
            if (info["progress"] or 0) > above:
                return
            etag = answer.headers.get("ETag")
        assert time.monotonic() < deadline, f"the job's progress stayed at {above} or below"


@pytest.fixture(scope="module")
def followed(web_stack, new_page, screenshots):
    """Lena's heat-rod job, followed on its page from its start to its end: yields what was seen."""
    page = new_page()
    sign_in(page, USER, then="/jobs")
    page.locator(".jobs-table, .state-empty").first.wait_for()

    created = api(web_stack, "POST", "job", USER, json={"case_id": "heat-rod", "job_title": "Watched rod",
                                                         "fields": {"run_seconds": RUN_SECONDS}})
    assert created.status_code == 201, created.text
    job_id = created.json()["job_id"]

    api_requests: list[tuple[float, str]] = []
    blob_origin = web_stack.settings.blob_service_uri.split("/devstoreaccount1")[0]
    blob_reads: list[tuple[float, str]] = []

    def count(request) -> None:
        parts = urlsplit(request.url)
        if parts.path.startswith("/api/"):
            api_requests.append((time.monotonic(), request.url))
        elif request.url.startswith(blob_origin) and parts.path.endswith("/profile.csv"):
            blob_reads.append((time.monotonic(), request.url))

    page.on("request", count)
    ran = api(web_stack, "POST", f"job/{job_id}", USER)
    assert ran.status_code in (200, 202), ran.text
    opened = time.monotonic()
    page.goto(f"/jobs/{job_id}")
    page.get_by_role("heading", name="Watched rod").wait_for()
    page.evaluate(WATCH_COPIES)
    seen: dict = {"job_id": job_id, "opened": opened}

    # Running, with a line, a progress, series points and a copy of profile.csv on the page...
    page.wait_for_function(ALL_SHOWN, arg="Running", timeout=START_TIMEOUT_MS, polling=250)
    seen["first"] = page.evaluate(READINGS)
    # ... then more of each, while it still runs
    page.wait_for_function(ALL_GREW, arg=[seen["first"], "Running"], timeout=RUN_TIMEOUT_MS, polling=250)
    seen["later"] = page.evaluate(READINGS)
    screenshots(page, "15-live-run")

    # Scrolled up, the log stays where the user put it as lines arrive; "Jump to latest" goes back down.
    log = page.locator(".live-panel .log-text")
    log.evaluate("e => { e.scrollTop = 0; e.dispatchEvent(new Event('scroll')); }")
    jump = page.get_by_role("button", name="Jump to latest")
    expect(jump).to_be_visible()
    lines = page.evaluate(READINGS)["lines"]
    page.wait_for_function("n => (%s)().lines > n" % READINGS, arg=lines, timeout=RUN_TIMEOUT_MS, polling=250)
    seen["scrolled_up_at"] = log.evaluate("e => e.scrollTop")
    page.locator(".live-panel .log-tail").screenshot(path=ARTIFACTS / "15-live-run-log-scrolled-up.png")
    jump.click()
    page.wait_for_function("e => e.scrollHeight - e.scrollTop - e.clientHeight < 30", arg=log.element_handle())
    expect(jump).to_be_hidden()

    # Hidden: not one request while the job moves on; in front again: a look at once.
    set_hidden(page, True)
    hidden_at = time.monotonic()
    wait_for_progress(web_stack, job_id, min(0.95, seen["later"]["progress"] / 100 + 0.1))
    seen["while_hidden"] = [url for t, url in api_requests if t > hidden_at + 0.5]  # one may have been on its way
    with page.expect_request(lambda request: "/live" in request.url, timeout=3_000):
        set_hidden(page, False)

    expect(page.locator(".status-panel .status-line .chip", has_text="Done")).to_be_visible(timeout=DONE_TIMEOUT_MS)
    page.locator(".live-panel .log-end").wait_for(timeout=30_000)
    seen["ended"] = time.monotonic()
    seen["end"] = page.evaluate(READINGS)
    seen["log"] = page.locator(".live-panel .log-text").inner_text()
    # the sealed logs/stdout.log, once the results list is read again for done
    whole_log = page.get_by_role("button", name="Download the whole stdout log")
    whole_log.wait_for(timeout=30_000)
    seen["whole_log"] = whole_log.is_visible()
    seen["api"] = list(api_requests)
    seen["copies"] = page.evaluate("() => [...window.__copies]")
    seen["blob_reads"] = [url for _, url in blob_reads]
    page.locator(".live-panel").scroll_into_view_if_needed()
    screenshots(page, "16-live-run-done")

    # The other log, by keyboard: its tab, read to its end (this job writes nothing to it).
    page.get_by_role("tab", name="stdout").focus()
    page.keyboard.press("ArrowRight")
    stderr = page.get_by_role("tab", name="stderr")
    expect(stderr).to_be_focused()
    expect(stderr).to_have_attribute("aria-selected", "true")
    expect(page.get_by_role("tabpanel")).to_contain_text("Nothing was written to stderr.")
    yield page, seen
    assert page.problems == [], page.problems


def test_the_log_tail_progress_series_and_live_file_grow_while_the_job_runs(followed):
    _, seen = followed
    first, later = seen["first"], seen["later"]
    assert later["lines"] > first["lines"] >= 1
    assert later["progress"] > first["progress"] > 0
    assert later["series"] > first["series"] >= 2
    assert later["fileTakenAt"] != first["fileTakenAt"] and later["filePoints"] > 0


def test_the_log_stays_where_the_user_scrolled_until_asked_to_jump_to_the_latest(followed):
    _, seen = followed
    assert seen["scrolled_up_at"] == 0


def test_at_the_end_the_log_is_complete(followed, web_stack):
    page, seen = followed
    log = seen["log"]
    assert "largest difference from the exact solution" in log  # the run's last line
    reports = [line for line in log.splitlines() if line.startswith("step ")]
    total = int(reports[-1].split()[1].split("/")[1])
    assert [int(line.split()[1].split("/")[0]) for line in reports] == list(range(1, total + 1))
    expect(page.get_by_text("End of the log")).to_be_visible()  # stderr's, now: read to its end too
    assert seen["whole_log"]  # the sealed logs/stdout.log
    assert seen["end"]["series"] >= total
    assert seen["end"]["progress"] is None or seen["end"]["progress"] == 100
    outputs = api(web_stack, "GET", f"job/{seen['job_id']}/output", USER).json()
    assert all(output["state"] == "final" for output in outputs)
    assert any(output["name"] == "profile.csv" for output in outputs)


def test_the_page_reads_the_api_at_most_30_times_a_minute_and_not_while_hidden(followed):
    _, seen = followed
    times = [t for t, _ in seen["api"] if seen["opened"] <= t <= seen["ended"]]
    busiest = most_in_a_minute(times)
    looks = sum(1 for t, url in seen["api"] if "/live" in url and seen["opened"] <= t <= seen["ended"])
    print(f"{len(times)} API requests over {seen['ended'] - seen['opened']:.0f} s ({looks} live looks), "
          f"at most {busiest} in a minute")
    assert busiest <= MAX_API_REQUESTS_PER_MINUTE, [url for _, url in seen["api"]]
    assert seen["while_hidden"] == []


def test_each_copy_of_the_live_file_is_read_from_storage_once(followed):
    """Each copy the page showed was read once, and the final file once at the end."""
    _, seen = followed
    reads = seen["blob_reads"]
    assert len(seen["copies"]) >= 2
    assert all("sig=" in url for url in reads)
    assert len(seen["copies"]) <= len(reads) <= len(seen["copies"]) + 1, (reads, seen["copies"])
