from shared.api.models import HealthReport
from shared.errors import HostKeyMismatch
from shared.services.health import Probe, check_health


def ok():
    return None


def mismatch():
    raise HostKeyMismatch("simulator hpc1 (10.1.2.3) offered an unknown key")


def broken():
    raise RuntimeError("/etc/secret path")


def test_all_probes_ok_is_ok():
    report = check_health([Probe("storage", "table", ok), Probe("queue", "jobs", ok)])
    assert report.healthy and [c.name for c in report.checks] == ["table", "jobs"]


def test_failures_report_the_kind_not_the_details():
    report = check_health([Probe("storage", "table", ok), Probe("simulators", "hpc1", mismatch),
                           Probe("queue", "jobs", broken)])
    answer = HealthReport.of(report)
    assert not report.healthy and answer.status == "degraded"
    errors = {c.name: c.error for c in answer.checks}
    assert errors == {"table": None, "hpc1": HostKeyMismatch.title, "jobs": "unexpected error"}
    assert "10.1.2.3" not in answer.model_dump_json() and "secret" not in answer.model_dump_json()


def test_a_hanging_probe_times_out():
    import threading

    release = threading.Event()
    report = check_health([Probe("simulators", "slow", lambda: release.wait(5))], timeout=0.2)
    release.set()
    assert report.checks[0].error == "timed out" and not report.healthy


def test_a_hung_probe_does_not_hold_the_answer_past_the_timeout():
    import threading
    import time

    release = threading.Event()
    started = time.monotonic()
    check_health([Probe("simulators", "slow", lambda: release.wait(5))], timeout=0.2)
    elapsed = time.monotonic() - started
    release.set()
    assert elapsed < 2


def test_callers_within_the_fresh_window_share_one_check():
    from shared.services.health import Health

    calls = []
    now = [0.0]
    health = Health([Probe("simulators", "hpc1", lambda: calls.append(1))], fresh=2.0, clock=lambda: now[0])
    first = health.check()
    now[0] = 1.5
    assert health.check() is first and len(calls) == 1
    now[0] = 2.5
    health.check()
    assert len(calls) == 2
