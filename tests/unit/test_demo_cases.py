"""The demo cases: each is rendered like a job's scripts and run here, and its results follow its inputs."""

import csv
import json
import os
import subprocess
import sys
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


def run_case(case: PublishedCase, values: dict, directory: Path, title: str = "Test 1") -> dict[str, list[dict]]:
    """Render, run the entry point as a job would, and read back every CSV output."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in case.render(values, job_id="job-1", job_title=title).items():
        (directory / name).write_text(text)
    command = entry_command(case.definition.entry_point, sys.executable)
    env = {**os.environ, "PYTHON": sys.executable}
    subprocess.run(command, cwd=directory, env=env, check=True, capture_output=True, timeout=60)
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
    outputs = run_case(demo("heat-rod"), {}, tmp_path)
    profile = outputs["final_profile.csv"]
    assert len(profile) == 101
    assert profile[0]["temperature_c"] == 100 and profile[-1]["temperature_c"] == 20
    assert max(abs(r["temperature_c"] - r["exact_c"]) for r in profile) < 0.05
    assert len(outputs["temperature_history.csv"]) == 101


def test_heat_rod_results_move_the_way_a_person_expects(tmp_path):
    case = demo("heat-rod")

    def middle(values, name):
        profile = run_case(case, values, tmp_path / name)["final_profile.csv"]
        return profile[len(profile) // 2]["temperature_c"]

    copper, steel = middle({}, "copper"), middle({"material": "stainless-steel"}, "steel")
    assert 20 < steel < copper < 60  # steady state in the middle is 60 C; copper gets closer
    assert abs(middle({"duration_s": 1e6}, "steady") - 60) < 0.01
    assert middle({"length_m": 0.25}, "short") > copper
    hot = run_case(case, {"left_temp_c": 300}, tmp_path / "hot")["temperature_history.csv"]
    assert final(hot, "heat_in_left_w_per_m2") > 0


@pytest.mark.parametrize("case_id", ["smoothie", "heat-rod"])
def test_demo_values_outside_their_limits_are_refused_before_rendering(case_id):
    case = demo(case_id)
    numeric = next(f for f in case.definition.fields if f.max is not None)
    with pytest.raises(Exception, match="not valid"):
        case.render({numeric.name: numeric.max * 10 + 1}, job_id="j", job_title="t")
