"""The governor's decisions, pure: who may take a grant, why the others wait, and when they would start."""

from datetime import datetime, timedelta, timezone

import pytest

from shared.domain.sites import (
    DurationHistory,
    Grant,
    Ledger,
    LineEntry,
    SiteLimits,
    admissible,
    admission,
    estimated_start,
    ordinal,
    waits,
)

NOW = datetime(2026, 5, 1, tzinfo=timezone.utc)
LIMITS = SiteLimits(max_parallel_jobs=3, licences={"solver": 2}, max_jobs_per_user=2)


def entry(job_id: str, owner: str = "alice", seconds: int = 0, **licences: int) -> LineEntry:
    return LineEntry(site="local", job_id=job_id, owner=owner, licences=licences, since=NOW + timedelta(seconds=seconds))


def holding(*entries: LineEntry) -> Ledger:
    ledger = Ledger()
    for e in entries:
        ledger = ledger.granting(Grant(job_id=e.job_id, owner=e.owner, licences=e.licences, since=NOW))
    return ledger


def test_the_line_is_first_fit_oldest_first():
    line = [entry("a1", seconds=1), entry("a2", seconds=2), entry("a3", seconds=3), entry("b1", "bob", seconds=4)]
    assert [e.job_id for e in admissible(LIMITS, Ledger(), line)] == ["a1", "a2", "b1"]  # a3: alice's share is used
    found = waits(LIMITS, holding(*line[:2], line[3]), line)
    assert found["a3"].describe() == "waiting for its owner's share of local (2/2 of their jobs in use, 1st in line)"


def test_a_job_held_back_by_a_licence_does_not_hold_back_jobs_that_do_not_need_it():
    line = [entry("old", seconds=1, solver=2), entry("new", "bob", seconds=2)]
    ledger = holding(entry("run", "carol", solver=1))
    assert admission(LIMITS, ledger, line, line[0]).describe() == "waiting for licence solver (1/2 in use, 1st in line)"
    assert admission(LIMITS, ledger, line, line[1]) is None  # it needs no solver: it passes


def test_a_grant_released_twice_changes_nothing_and_usage_never_goes_negative():
    ledger = holding(entry("a"), entry("b", "bob"))
    once = ledger.without(["a"])
    assert once.without(["a"]) == once and once.usage().slots == 1


def test_a_slot_promised_to_an_older_job_is_counted_as_in_use():
    line = [entry("old", seconds=1), entry("new", "bob", seconds=2)]
    limits = SiteLimits(max_parallel_jobs=2)
    ledger = holding(entry("run", "carol"))
    assert admission(limits, ledger, line, line[1]).describe() == "waiting for a slot on local (2/2 in use, 2nd in line)"


@pytest.mark.parametrize("n, text", [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"), (11, "11th"), (12, "12th"),
                                     (13, "13th"), (21, "21st"), (102, "102nd"), (111, "111th")])
def test_ordinals(n, text):
    assert ordinal(n) == text


def test_the_start_estimate_follows_the_running_jobs_and_the_line():
    limits = SiteLimits(max_parallel_jobs=2)
    running = [Grant(job_id=j, owner="x", since=NOW - timedelta(seconds=age)) for j, age in (("r1", 30), ("r2", 10))]
    ledger = Ledger(grants={g.job_id: g for g in running})
    line = [entry("w1", seconds=1), entry("w2", seconds=2), entry("me", seconds=3)]
    # r1 ends at +70 s, r2 at +90 s; w1 takes r1's slot until +170 s, w2 r2's until +190 s: "me" starts at +170 s
    assert estimated_start(limits, ledger, line, line[2], NOW, 100.0) == NOW + timedelta(seconds=170)
    assert estimated_start(limits, ledger, line, line[2], NOW, None) is None
    assert estimated_start(limits, Ledger(), [], entry("me"), NOW, None) == NOW


def test_history_keeps_the_last_runs_and_says_what_the_median_rests_on():
    history = DurationHistory()
    assert history.basis(1, "local") == "no history" and history.median is None
    for seconds in range(60):
        history = history.adding(seconds)
    assert len(history.seconds) == 50 and history.median == 34.5
    assert history.basis(3, "local") == "median of 50 finished runs of version 3 on local"


def test_a_run_needing_more_of_a_licence_is_not_passed_for_ever_by_runs_needing_less():
    limits = SiteLimits(max_parallel_jobs=10, licences={"solver": 2})
    ledger = holding(entry("small-running", solver=1))
    line = [entry("big", seconds=1, solver=2), entry("small", "bob", seconds=2, solver=1)]
    found = waits(limits, ledger, line)
    assert found["big"].describe() == "waiting for licence solver (1/2 in use, 1st in line)"
    assert found["small"].describe() == "waiting for licence solver (2/2 in use, 2nd in line)"  # kept for big
    assert [e.job_id for e in admissible(limits, Ledger(), line)] == ["big"]
