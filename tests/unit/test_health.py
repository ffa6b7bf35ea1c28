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
