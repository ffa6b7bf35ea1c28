"""The real CLI, as a process, against the local host serving the real app: cases, a job from --set to
done, its log followed while it runs, its outputs downloaded from Azurite, cancel and relaunch, a job's
offers and a run on a chosen simulator, the admins' view of the simulators, and how it reports what
goes wrong."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests

from devstack import PROJECT_ROOT
from shared.api.models import CaseDetails, JobDetails, JobOffers, JobStatusInfo, OutputInfo, SiteInfo
from shared.domain.jobs import JobSummary
from tests.e2e.helpers import wait_for_status
from tests.factories import case_document

pytestmark = pytest.mark.e2e

ADMIN = {"X-Simgate-User": "carol", "X-Simgate-Roles": "simgate.admin"}
ROAMING_SIMULATORS = ["test", "test-slurm", "test-shared"]  # in the order the e2e app configures them
SCRIPT = """#!/bin/sh
mkdir -p results
i=1
while [ $i -lt {{ steps }} ]; do echo "line $i"; sleep 0.5; i=$((i+1)); done
printf 'label,speed\\n%s,%s\\n' {{ label }} {{ speed }} > results/table.csv
"""


@pytest.fixture(scope="module")
def case_id(local_host):
    case_id = f"cli-{uuid.uuid4().hex[:8]}"
    fields = [*case_document()["fields"], {"name": "steps", "type": "integer", "min": 1, "max": 120, "default": 1}]
    document = case_document(case_id, title=f"Command line {case_id}", fields=fields, scripts={"run.sh": SCRIPT},
                             entry_point="run.sh", simulators=["test"])
    response = requests.put(f"{local_host.url}/api/case/{case_id}", json=document, headers=ADMIN, timeout=30)
    assert response.status_code == 201, response.text
    return case_id


@pytest.fixture(scope="module")
def roaming_case_id(local_host):
    """A case that may run on three of the configured simulators."""
    case_id = f"cli-roam-{uuid.uuid4().hex[:8]}"
    document = case_document(case_id, title=f"Command line {case_id}", scripts={"run.sh": "#!/bin/sh\necho ok\n"},
                             entry_point="run.sh", simulators=ROAMING_SIMULATORS)
    response = requests.put(f"{local_host.url}/api/case/{case_id}", json=document, headers=ADMIN, timeout=30)
    assert response.status_code == 201, response.text
    return case_id


@pytest.fixture(scope="module")
def user():
    return f"cli-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def simgate(local_host, azurite, user):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SIMGATE_")}
    environment.update(SIMGATE_URL=local_host.url, SIMGATE_USER=user, SIMGATE_CA_BUNDLE=str(azurite.ca_bundle),
                       NO_COLOR="1")

    def run(*args: str, expect: int = 0, url: str | None = None) -> subprocess.CompletedProcess:
        env = {**environment, "SIMGATE_URL": url} if url else environment
        done = subprocess.run([sys.executable, "-m", "cli", *args], cwd=PROJECT_ROOT, env=env, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == expect, f"simgate {' '.join(args)}: {done.returncode}\n{done.stdout}\n{done.stderr}"
        assert "Traceback" not in done.stderr
        return done

    run.environment = environment
    return run


def test_cases_and_one_case(simgate, case_id):
    listed = json.loads(simgate("cases", "--search", case_id, "--json").stdout)
    assert [c["id"] for c in listed] == [case_id]
    assert case_id in simgate("cases", "--tag", "test", "--limit", "500").stdout

    details = CaseDetails.model_validate_json(simgate("case", case_id, "--json").stdout)
    assert [f.name for f in details.fields] == ["speed", "label", "fast", "steps"]
    shown = simgate("case", case_id).stdout
    assert "0..100 rpm" in shown and "results/*.csv" in shown


def test_a_job_from_set_values_to_downloaded_outputs(simgate, case_id, storage, settings, tmp_path):
    made = simgate("new", case_id, "--title", "CLI 1", "--set", "speed=42", "--set", "label=mango")
    job_id = made.stdout.strip()
    assert made.stderr.strip() == f"created job {job_id} (draft)"

    ran = simgate("run", job_id, "--wait")
    assert f"{job_id}  done" in ran.stderr  # a line per change when stderr is no terminal

    status = JobStatusInfo.model_validate_json(simgate("status", job_id, "--json").stdout)
    assert (status.status, status.progress) == ("done", 1.0)
    listed = [JobSummary.model_validate(j) for j in json.loads(simgate("jobs", "--case", case_id, "--json").stdout)]
    assert job_id in [j.job_id for j in listed]
    assert job_id in simgate("jobs", "--status", "done").stdout

    outputs = {o.output_id: o for o in (OutputInfo.model_validate(j) for j in
                                        json.loads(simgate("outputs", job_id, "--json").stdout))}
    assert outputs["csv1"].name == "results/table.csv"
    produced = storage.container(settings.outputs_container).download_blob(f"{job_id}/results/table.csv").readall()
    assert produced == b"label,speed\nmango,42.0\n"

    simgate("download", job_id, "csv1", "-o", str(tmp_path / "one.csv"))
    assert (tmp_path / "one.csv").read_bytes() == produced
    simgate("download", job_id, "-o", str(tmp_path / "all"))
    assert (tmp_path / "all" / "results" / "table.csv").read_bytes() == produced
    assert {p.name for p in (tmp_path / "all" / "logs").iterdir()} == {"stdout.log", "stderr.log"}
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []
    assert simgate("download", job_id, "table.csv", "-o", "-").stdout == produced.decode()


def test_logs_follow_a_running_job_line_by_line_to_its_end(simgate, case_id):
    """Each line the run prints arrives while it runs, in order, as printed; the exit code is the job's."""
    job_id = simgate("new", case_id, "-t", "Logs", "--set", "steps=13", "--run").stdout.strip()
    expected = "".join(f"line {i}\n" for i in range(1, 13))  # over about 6 s
    follower = subprocess.Popen([sys.executable, "-m", "cli", "logs", job_id, "-f"], cwd=PROJECT_ROOT,
                                env=simgate.environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = follower.stdout.readline()
        running = JobStatusInfo.model_validate_json(simgate("status", job_id, "--json").stdout)
        rest, errors = follower.stdout.read(), follower.stderr.read()  # (communicate would miss what readline holds)
        follower.wait(timeout=60)
    finally:
        follower.kill()
    assert (follower.returncode, first + rest) == (0, expected), errors
    assert not running.status.terminal, "the first line came only once the job had finished"
    assert errors.splitlines()[-1] == f"job {job_id} is done" and "Traceback" not in errors

    assert simgate("logs", job_id).stdout == expected  # once done, the same without -f
    assert simgate("logs", job_id, "--stream", "stderr").stdout == ""
    assert simgate("download", job_id, "logs/stdout.log", "-o", "-").stdout == expected


def test_cancel_a_running_job_then_relaunch_it_with_other_values(simgate, local_host, case_id, user):
    job_id = simgate("new", case_id, "-t", "Long", "--set", "steps=120", "--run").stdout.strip()
    wait_for_status(local_host, job_id, "running", headers={"X-Simgate-User": user})
    cancelled = simgate("cancel", job_id, "--wait", "--json")
    assert JobStatusInfo.model_validate_json(cancelled.stdout).status == "cancelled"

    again = simgate("relaunch", job_id, "--set", "steps=2").stdout.strip()
    relaunched = JobDetails.model_validate_json(simgate("job", again, "--json").stdout)
    assert (relaunched.title, relaunched.status, relaunched.fields["steps"]) == ("Long (2)", "draft", 2)
    simgate("delete", again, "--yes")
    simgate("job", again, expect=1)


def test_what_goes_wrong_is_one_clear_line_and_its_exit_code(simgate, case_id, user):
    missing = simgate("status", "no-such-job", expect=1)
    assert missing.stderr == "simgate: not found: there is no job 'no-such-job'\n" and missing.stdout == ""

    before = json.loads(simgate("jobs", "--json").stdout)
    refused = simgate("new", case_id, "-t", "Bad", "--set", "speed=fast", "--set", "colour=red", expect=2)
    assert refused.stderr.splitlines() == ["simgate: some field values are not valid",
                                           "  speed: must be a number, not 'fast'",
                                           "  colour: the case has no field of this name "
                                           "(its fields: speed, label, fast, steps)"]
    assert json.loads(simgate("jobs", "--json").stdout) == before  # no job was made

    unreachable = simgate("cases", expect=3, url="http://127.0.0.1:9")
    assert unreachable.stderr.splitlines() == ["simgate: cannot reach http://127.0.0.1:9/api: [Errno 111] "
                                               "Connection refused", "  is `make up` running?"]


def table_rows(text: str) -> dict[str, list[str]]:
    """A table's rows by their first cell, split at runs of two spaces or more."""
    rows = (re.split(r" {2,}", line.strip()) for line in text.split("\n\n")[0].splitlines())
    return {cells[0]: cells[1:] for cells in rows}


def test_offers_then_a_run_on_the_chosen_simulator(simgate, local_host, roaming_case_id, user):
    job_id = simgate("new", roaming_case_id, "-t", "Where").stdout.strip()
    offers = JobOffers.model_validate_json(simgate("offers", job_id, "--json").stdout)
    assert [o.simulator for o in offers.offers] == ROAMING_SIMULATORS
    assert (offers.simulator, offers.placement) == (None, "")
    shown = table_rows(simgate("offers", job_id).stdout)
    assert set(ROAMING_SIMULATORS) <= set(shown) and shown["test"][0] == "direct"

    ran = simgate("run", job_id, "--simulator", "test")
    assert ran.stderr.startswith(f"job {job_id} is submitted")
    done = JobDetails.model_validate(wait_for_status(local_host, job_id, "done", headers={"X-Simgate-User": user}))
    assert (done.simulator, done.placement) == ("test", f"test: chosen by {user}")
    assert f"placement  test: chosen by {user}" in simgate("job", job_id).stdout
    assert simgate("offers", job_id).stdout.startswith(f"placement  test: chosen by {user}\n")


def test_a_simulator_the_api_does_not_know_is_refused_naming_it(simgate, roaming_case_id):
    job_id = simgate("new", roaming_case_id, "-t", "Nowhere").stdout.strip()
    refused = simgate("run", job_id, "--simulator", "nope", expect=1)
    assert refused.stderr.startswith("simgate: ") and "simulator 'nope'" in refused.stderr, refused.stderr
    assert refused.stdout == ""
    assert JobStatusInfo.model_validate_json(simgate("status", job_id, "--json").stdout).status == "draft"


def test_simulators_for_admins_with_their_licences(simgate):
    listed = [SiteInfo.model_validate(s) for s in
              json.loads(simgate("--roles", "simgate.admin", "simulators", "--json").stdout)]
    assert [s.name for s in listed] == ["test", "test-slurm", "test-slurm-closed", "test-shared"]
    assert listed[0].limits.licences == {"solver": 2}

    shown = table_rows(simgate("--roles", "simgate.admin", "simulators").stdout)
    assert shown["test"][:2] == ["direct", "yes"]
    assert any(re.fullmatch(r"solver [0-2]/2", cell) for cell in shown["test"]), shown["test"]

    refused = simgate("simulators", expect=1)
    assert refused.stderr.startswith("simgate: forbidden: ") and "admin" in refused.stderr


def test_the_console_script_is_installed():
    script = Path(sys.executable).parent / "simgate"
    assert script.exists(), "install the CLI with: pip install -e ."
    assert subprocess.run([str(script), "--version"], capture_output=True, text=True, check=True).stdout.startswith(
        "simgate ")
