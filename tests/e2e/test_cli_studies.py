"""The real CLI, as a process, against the local host serving the real app: a sweep of the smoothie case
previewed, created with --run and followed with --wait until every member is done, its view and its
members compared; a draft sweep cancelled; a job's preview; and bad values refused, each named."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid

import pytest
import requests

from devstack import PROJECT_ROOT
from shared.adapters.case_folders import read_case_folder
from shared.api.models import Comparison, PreviewAnswer, SweepDetails, SweepSummary

pytestmark = pytest.mark.e2e

ADMIN = {"X-Simgate-User": "carol", "X-Simgate-Roles": "simgate.admin"}
GRID = {(4000, 5), (4000, 10), (8000, 5), (8000, 10)}


@pytest.fixture(scope="module")
def case_id(local_host):
    """The demo smoothie case, under an id of this module's own, on the direct test simulator."""
    case_id = f"smoothie-{uuid.uuid4().hex[:8]}"
    document = {**read_case_folder(PROJECT_ROOT / "cases" / "smoothie"), "id": case_id, "simulators": ["test"]}
    response = requests.put(f"{local_host.url}/api/case/{case_id}", json=document, headers=ADMIN, timeout=30)
    assert response.status_code == 201, response.text
    return case_id


@pytest.fixture(scope="module")
def simgate(local_host, azurite):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SIMGATE_")}
    environment.update(SIMGATE_URL=local_host.url, SIMGATE_USER=f"cli-{uuid.uuid4().hex[:8]}",
                       SIMGATE_CA_BUNDLE=str(azurite.ca_bundle), NO_COLOR="1")

    def run(*args: str, expect: int = 0, stdin: str | None = None) -> subprocess.CompletedProcess:
        done = subprocess.run([sys.executable, "-m", "cli", *args], cwd=PROJECT_ROOT, env=environment,
                              capture_output=True, text=True, timeout=240, input=stdin)
        assert done.returncode == expect, f"simgate {' '.join(args)}: {done.returncode}\n{done.stdout}\n{done.stderr}"
        assert "Traceback" not in done.stderr
        return done

    return run


def cells(line: str) -> list[str]:
    return re.split(r" {2,}", line.strip())


def sweeps_of(simgate, case_id: str) -> list[str]:
    return [SweepSummary.model_validate(s).sweep_id
            for s in json.loads(simgate("sweeps", "--case", case_id, "--json").stdout)]


def test_a_preview_shows_how_many_runs_and_creates_nothing(simgate, case_id):
    shown = simgate("sweep", case_id, "--vary", "speed_rpm=4000,8000,12000", "--vary", "duration_s=10:30:10",
                    "--set", "fruit_mix=kale-apple", "--preview")
    lines = shown.stdout.splitlines()
    assert lines[0] == f"9 runs of {case_id} v1  valid"
    assert "--speed-rpm 4000" in shown.stdout and "--duration-s 10" in shown.stdout  # the first run's run.sh
    assert "--fruit-mix kale-apple" in shown.stdout
    quotes = next(i for i, line in enumerate(lines) if line.startswith("SIMULATOR"))
    assert cells(lines[quotes + 1])[0] == "test"

    answer = PreviewAnswer.model_validate_json(simgate("sweep", case_id, "--vary", "speed_rpm=4000,8000", "--zip",
                                                       "--vary", "duration_s=10,20", "--preview", "--json").stdout)
    assert (answer.runs, answer.valid, [q.simulator for q in answer.quotes]) == (2, True, ["test"])
    assert sweeps_of(simgate, case_id) == []


def test_a_grid_sweep_runs_to_done_and_its_members_compare(simgate, case_id):
    made = simgate("sweep", case_id, "--vary", "speed_rpm=4000,8000", "--vary", "duration_s=5:10:5",
                   "--title", "CLI grid", "--run", "--wait")
    sweep_id = made.stdout.strip()
    assert made.stderr.splitlines()[0] == f"created sweep {sweep_id}: 4 members, asked to run"
    assert f"sweep {sweep_id} finished: 4 done" in made.stderr

    details = SweepDetails.model_validate_json(simgate("sweep-status", sweep_id, "--json").stdout)
    assert (details.state, details.counts, details.progress) == ("finished", {"done": 4}, 1.0)
    assert {(m.values["speed_rpm"], m.values["duration_s"]) for m in details.members} == GRID
    assert all("homogeneity" in m.outputs["results/homogeneity.csv"] for m in details.members)
    shown = simgate("sweep-status", sweep_id).stdout
    assert "plan     grid over speed_rpm, duration_s: 4 members" in shown
    assert all(m.job_id in shown for m in details.members) and "results/homogeneity.csv: last values" in shown
    assert sweeps_of(simgate, case_id) == [sweep_id]

    compared = simgate("compare", "--sweep", sweep_id).stdout
    fields = compared.split("\n\n")[1]
    assert {cells(line)[1] for line in fields.splitlines() if line.startswith("*")} == {"speed_rpm", "duration_s"}
    assert "fruit_mix" not in fields and "fruit_mix" in simgate("compare", "--sweep", sweep_id, "--all").stdout
    assert "results/homogeneity.csv: mean and last value of each numeric column" in compared
    two = Comparison.model_validate_json(simgate("compare", details.members[0].job_id, details.members[3].job_id,
                                                 "--json").stdout)
    assert {f.name for f in two.fields if f.differs} == {"speed_rpm", "duration_s"}
    assert not next(o for o in two.outputs if o.name == "results/homogeneity.csv").identical


def test_a_draft_sweep_from_a_table_cancelled(simgate, case_id):
    made = simgate("sweep", case_id, "--table", "-", "--title", "CLI table",
                   stdin="speed_rpm,fruit_mix\n6000,mango-pineapple\n,kale-apple\n")  # empty: the default
    sweep_id = made.stdout.strip()
    assert made.stderr == f"created sweep {sweep_id}: 2 members, drafts\n"
    details = SweepDetails.model_validate_json(simgate("sweep-status", sweep_id, "--json").stdout)
    assert (details.mode, details.state, details.counts) == ("table", "draft", {"draft": 2})
    assert [m.values for m in details.members] == [{"speed_rpm": 6000, "fruit_mix": "mango-pineapple"},
                                                   {"speed_rpm": 10000, "fruit_mix": "kale-apple"}]

    assert simgate("sweep-cancel", sweep_id).stderr == (
        f"sweep {sweep_id}: cancel requested for 2 members (0 had already finished)\n")
    ended = simgate("sweep-status", sweep_id, "--wait", expect=5)
    assert f"simgate: sweep {sweep_id} finished: 2 cancelled" in ended.stderr
    assert simgate("sweep-retry", sweep_id).stderr == f"sweep {sweep_id} has no failed members: nothing to run again\n"


def test_a_jobs_preview_shows_its_own_scripts(simgate, case_id):
    job_id = simgate("new", case_id, "-t", "One", "--set", "speed_rpm=7000").stdout.strip()
    shown = simgate("preview", job_id).stdout
    assert shown.splitlines()[0] == f"job {job_id} (case {case_id} v1)  valid"
    assert "--speed-rpm 7000" in shown and "SIMULATOR" in shown
    answer = PreviewAnswer.model_validate_json(simgate("preview", job_id, "--json").stdout)
    assert answer.rendered[0].job_id == job_id


def test_bad_values_are_refused_naming_each_and_nothing_is_created(simgate, case_id, tmp_path):
    before = sweeps_of(simgate, case_id)
    refused = simgate("sweep", case_id, "--vary", "speed_rpm=4000,30000", "--vary", "duration_s=10", expect=1)
    assert refused.stdout == ""
    assert "  vary.speed_rpm[1]: must be at most 20000 rpm, not 30000" in refused.stderr.splitlines()

    previewed = simgate("sweep", case_id, "--vary", "speed_rpm=4000,30000", "--preview", expect=1)
    assert "vary.speed_rpm[1]: must be at most 20000 rpm, not 30000" in previewed.stdout
    assert previewed.stderr == "simgate: the sweep is not valid: 1 problem (listed above)\n"

    runs = tmp_path / "runs.csv"
    runs.write_text("speed_rpm,duration_s\n4000,10\n8000,999\n")
    table = simgate("sweep", case_id, "--table", str(runs), expect=1)
    assert any(line.startswith("  rows[2].duration_s: ") and "999" in line for line in table.stderr.splitlines())

    assert simgate("sweep", case_id, "--vary", "speed_rpm", expect=2).stderr.startswith(
        "simgate: --vary takes NAME=VALUES\n  'speed_rpm': expected NAME=VALUES")
    assert simgate("sweep", case_id, "--vary", "duration_s=10:5:0", expect=2).stderr.splitlines()[1] == (
        "  duration_s: '10:5:0': the step cannot be 0")
    assert simgate("sweep", case_id, "--table", str(tmp_path / "missing.csv"), expect=2).stderr.startswith(
        "simgate: --table: cannot read ")
    assert sweeps_of(simgate, case_id) == before


def test_a_draft_sweep_runs_later_with_sweep_run(simgate, case_id):
    made = simgate("sweep", case_id, "--vary", "speed_rpm=5000,9000", "--title", "Later", "--json")
    sweep_id = json.loads(made.stdout)["sweep_id"]
    assert SweepDetails.model_validate_json(simgate("sweep-status", sweep_id, "--json").stdout).state == "draft"
    ran = simgate("sweep-run", sweep_id, "--wait")
    assert f"sweep {sweep_id}: 2 draft members asked to run" in ran.stderr
    details = SweepDetails.model_validate_json(simgate("sweep-status", sweep_id, "--json").stdout)
    assert details.state == "finished" and details.counts == {"done": 2}
    again = simgate("sweep-run", sweep_id)
    assert "has no draft members: nothing to run" in again.stderr
