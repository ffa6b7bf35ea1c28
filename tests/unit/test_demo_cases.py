"""The demo cases: each is rendered like a job's scripts and run here, and its results follow its inputs."""

import csv
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from commands.load_cases import DEFAULT_DIRECTORY
from shared.adapters.case_folders import read_case_folder
from shared.domain.cases import PublishedCase, parse_definition
from shared.domain.scripts import entry_command


def demo(case_id: str) -> PublishedCase:
    definition = parse_definition(read_case_folder(DEFAULT_DIRECTORY / case_id))
    return PublishedCase(definition=definition, version=1, published=datetime.now(timezone.utc),
                         published_by="test", digest=definition.digest())


# heat-rod paces itself over run_seconds (60 by default) so that a run can be watched: not here
UNPACED = {"run_seconds": 0}


def render(case: PublishedCase, values: dict, directory: Path, title: str = "Test 1") -> tuple[list[str], dict]:
    """The job's scripts rendered into ``directory``; the command that starts it and its environment
    (without simgate's own variables: a run outside simgate)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in case.render(values, job_id="job-1", job_title=title).items():
        (directory / name).write_text(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIMGATE_")}
    return entry_command(case.definition.entry_point, sys.executable), {**env, "PYTHON": sys.executable}


def run_case(case: PublishedCase, values: dict, directory: Path, title: str = "Test 1") -> dict[str, list[dict]]:
    """Render, run the entry point as a job would, and read back every CSV output."""
    command, env = render(case, values, directory, title)
    subprocess.run(command, cwd=directory, env=env, check=True, capture_output=True, timeout=60)
    return read_outputs(case, directory)


def read_outputs(case: PublishedCase, directory: Path) -> dict[str, list[dict]]:
    outputs = {}
    for spec in case.definition.outputs:
        matches = sorted(directory.glob(spec.pattern))
        assert matches, f"no file matches output pattern {spec.pattern}"
        for path in matches:
            if path.suffix == ".csv":
                with path.open() as handle:
                    outputs[path.name] = [{k: float(v) for k, v in row.items()} for row in csv.DictReader(handle)]
    return outputs


def final(rows: list[dict], column: str) -> float:
    return rows[-1][column]


def test_both_demo_cases_are_published_from_the_repository():
    assert {"smoothie", "heat-rod"} <= {p.parent.name for p in DEFAULT_DIRECTORY.glob("*/case.toml")}


def test_smoothie_with_its_defaults_produces_both_csvs(tmp_path):
    outputs = run_case(demo("smoothie"), {}, tmp_path)
    series, profile = outputs["homogeneity.csv"], outputs["particle_profile.csv"]
    assert len(series) == 101 and series[0]["homogeneity"] == 0.0
    assert all(a["homogeneity"] <= b["homogeneity"] for a, b in zip(series, series[1:]))
    assert all(a["percent_passing"] <= b["percent_passing"] for a, b in zip(profile, profile[1:]))
    assert 0 < profile[0]["percent_passing"] and profile[-1]["percent_passing"] > 99


def test_smoothie_results_move_the_way_a_person_expects(tmp_path):
    case = demo("smoothie")
    base = run_case(case, {}, tmp_path / "base")["homogeneity.csv"]
    slow = run_case(case, {"speed_rpm": 4000}, tmp_path / "slow")["homogeneity.csv"]
    thick = run_case(case, {"viscosity_pa_s": 15.0}, tmp_path / "thick")["homogeneity.csv"]
    kale = run_case(case, {"fruit_mix": "kale-apple"}, tmp_path / "kale")["homogeneity.csv"]
    longer = run_case(case, {"duration_s": 90}, tmp_path / "longer")["homogeneity.csv"]
    tenth = len(base) // 10  # 4.5 s into a 45 s blend
    assert slow[tenth]["homogeneity"] < base[tenth]["homogeneity"]
    assert final(slow, "median_piece_mm") > final(base, "median_piece_mm")
    assert final(slow, "temperature_c") < final(base, "temperature_c")
    assert thick[tenth]["homogeneity"] < base[tenth]["homogeneity"]
    assert final(kale, "median_piece_mm") > final(base, "median_piece_mm")
    assert final(longer, "median_piece_mm") < final(base, "median_piece_mm")
    assert final(longer, "temperature_c") > final(base, "temperature_c")


def test_smoothie_keeps_a_hostile_label_as_data(tmp_path):
    label = "$(touch pwned); `id` 'quoted' \"double\""
    run_case(demo("smoothie"), {"batch_label": label}, tmp_path)
    assert json.loads((tmp_path / "results" / "summary.json").read_text())["label"] == label
    assert not (tmp_path / "pwned").exists()


def test_heat_rod_matches_the_exact_solution(tmp_path):
    outputs = run_case(demo("heat-rod"), UNPACED, tmp_path)
    profile = outputs["final_profile.csv"]
    assert len(profile) == 101
    assert profile[0]["temperature_c"] == 100 and profile[-1]["temperature_c"] == 20
    assert max(abs(r["temperature_c"] - r["exact_c"]) for r in profile) < 0.05
    assert len(outputs["temperature_history.csv"]) == 101
    live = outputs["profile.csv"]  # the live profile, final at the end
    assert [(r["x_m"], r["temperature_c"]) for r in live] == [(r["x_m"], r["temperature_c"]) for r in profile]


def test_heat_rod_results_move_the_way_a_person_expects(tmp_path):
    case = demo("heat-rod")

    def middle(values, name):
        profile = run_case(case, {**UNPACED, **values}, tmp_path / name)["final_profile.csv"]
        return profile[len(profile) // 2]["temperature_c"]

    copper, steel = middle({}, "copper"), middle({"material": "stainless-steel"}, "steel")
    assert 20 < steel < copper < 60  # steady state in the middle is 60 C; copper gets closer
    assert abs(middle({"duration_s": 1e6}, "steady") - 60) < 0.01
    assert middle({"length_m": 0.25}, "short") > copper
    hot = run_case(case, {**UNPACED, "left_temp_c": 300}, tmp_path / "hot")["temperature_history.csv"]
    assert final(hot, "heat_in_left_w_per_m2") > 0


def test_heat_rod_is_paced_by_default_and_declares_its_live_profile():
    definition = demo("heat-rod").definition
    pace = next(f for f in definition.fields if f.name == "run_seconds")
    assert (pace.type, pace.unit, pace.min, pace.max, pace.default) == ("number", "s", 0, 600, 60)
    assert definition.resources.wall_time_minutes * 60 > pace.max
    assert {o.pattern: o.live for o in definition.outputs} == {
        "temperature_history.csv": False, "final_profile.csv": False, "profile.csv": True}


def test_a_paced_heat_rod_run_reports_as_it_goes(tmp_path):
    case = demo("heat-rod")
    job = tmp_path / "job"
    command, env = render(case, {"run_seconds": 2}, job / "run")
    env.update(SIMGATE_PROGRESS_FILE=str(job / "progress"), SIMGATE_SERIES_FILE=str(job / "series.csv"))
    started = time.monotonic()
    child = subprocess.Popen(command, cwd=job / "run", env=env, stdout=subprocess.PIPE, text=True)
    lines = [(time.monotonic(), line.rstrip("\n")) for line in child.stdout]  # as they come
    assert child.wait(timeout=60) == 0
    elapsed = time.monotonic() - started
    steps = [(at, line) for at, line in lines if line.startswith("step ")]

    with (job / "series.csv").open() as handle:
        series = list(csv.DictReader(handle))
    assert list(series[0]) == ["step", "time_s", "residual", "mid_temp_c"]
    reports = len(series)
    assert 2 <= reports <= 20 and len(steps) == reports  # one line on stdout per reported step
    assert [int(row["step"]) for row in series] == list(range(1, reports + 1))
    assert float(series[-1]["time_s"]) == 600  # the whole simulated time, in equal reported steps
    residuals = [float(row["residual"]) for row in series]
    assert all(r > 0 for r in residuals) and residuals[-1] < residuals[0] / 2  # the rod settles
    assert steps[-1][1].startswith(f"step {reports}/{reports} ") and "residual=" in steps[-1][1]

    # spread over about run_seconds, and each line flushed when its step is done, not at the end
    assert elapsed > 1.5 and steps[-1][0] - steps[0][0] > 1.0
    fraction, message = (job / "progress").read_text().split(" ", 1)
    assert float(fraction) == 1.0 and message == f"step {reports} of {reports}"

    outputs = read_outputs(case, job / "run")
    profile = outputs["profile.csv"]
    assert len(profile) == 101 and profile[0]["x_m"] == 0 and profile[-1]["x_m"] == 0.5
    assert abs(profile[50]["temperature_c"] - float(series[-1]["mid_temp_c"])) < 1e-3
    assert not [p.name for p in (job / "run").iterdir() if p.name.startswith(".")]  # no temporary file left
    assert not [p.name for p in job.iterdir() if p.name.startswith(".")]

    # the pace changes nothing in the results
    run_case(case, UNPACED, tmp_path / "unpaced")
    for name in ("final_profile.csv", "temperature_history.csv", "profile.csv"):
        assert (job / "run" / name).read_bytes() == (tmp_path / "unpaced" / name).read_bytes()


def test_a_heat_rod_run_again_appends_to_its_series_without_a_second_header(tmp_path):
    case = demo("heat-rod")
    command, env = render(case, UNPACED, tmp_path / "run")
    env["SIMGATE_SERIES_FILE"] = str(tmp_path / "series.csv")
    for _ in range(2):  # e.g. a job started again in the same directory
        subprocess.run(command, cwd=tmp_path / "run", env=env, check=True, capture_output=True, timeout=60)
    lines = (tmp_path / "series.csv").read_text().splitlines()
    assert lines[0] == "step,time_s,residual,mid_temp_c" and lines.count(lines[0]) == 1
    assert len(lines) == 1 + 2 * 40


@pytest.mark.parametrize("case_id", ["smoothie", "heat-rod"])
def test_demo_values_outside_their_limits_are_refused_before_rendering(case_id):
    case = demo(case_id)
    numeric = next(f for f in case.definition.fields if f.max is not None)
    with pytest.raises(Exception, match="not valid"):
        case.render({numeric.name: numeric.max * 10 + 1}, job_id="j", job_title="t")
