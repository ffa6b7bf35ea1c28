"""The web app reads through one cache: the cases the jobs page offers in its case filter are read
once, not again on each visit of the page within the app."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


def is_case_list(url: str) -> bool:
    return urlsplit(url).path == "/api/case"


def is_job_list(url: str) -> bool:
    return urlsplit(url).path == "/api/job"


def test_the_jobs_page_reads_the_cases_once_across_visits(new_page, screenshots):
    page = new_page()
    case_lists: list[str] = []

    def count(request) -> None:
        if is_case_list(request.url):
            case_lists.append(request.url)

    page.on("request", count)

    def jobs_page_ready() -> None:
        page.get_by_role("heading", name="My jobs").wait_for()
        page.locator(".jobs-table, .state-empty").first.wait_for()
        # the case filter lists the published cases
        page.get_by_label("Case", exact=True).locator("option", has_text="Smoothie blender").wait_for(state="attached")

    sign_in(page, "dana", then="/jobs")
    jobs_page_ready()
    assert any("per_page=100" in url for url in case_lists), case_lists

    main_menu = page.get_by_role("navigation", name="Main")
    main_menu.get_by_role("link", name="Cases").click()
    page.get_by_role("link", name="Smoothie blender", exact=True).wait_for()
    read_before = list(case_lists)

    # Back to the jobs page, within the app: its list of jobs is read again (it may have changed),
    # the cases for its filter come from the cache.
    with page.expect_response(lambda response: is_job_list(response.url)):
        main_menu.get_by_role("link", name="Jobs").click()
    jobs_page_ready()
    screenshots(page, "14-jobs-again")
    assert case_lists == read_before, f"the second visit read the cases again: {case_lists[len(read_before):]}"
    assert page.problems == [], page.problems
