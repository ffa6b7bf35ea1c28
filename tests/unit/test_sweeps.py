"""Sweep plans, member identity, CSV summaries and comparisons: pure domain logic, from strings."""

from datetime import datetime, timezone

import pytest

from shared.domain.cases import PublishedCase, parse_definition
from shared.domain.compare import compare
from shared.domain.fields import FieldSpec
from shared.domain.jobs import JOB_ID, Job, JobStatus
from shared.domain.outputs import Output
from shared.domain.sites import SiteLimits, at_once, estimated_finish
from shared.domain.summaries import summarise, summarise_pieces
from shared.domain.sweeps import SWEEP_ID, Sweep, SweepPlan, check_plan, new_sweep_id
from shared.errors import ValidationFailed
from tests.factories import case_document

NOW = datetime(2026, 5, 1, tzinfo=timezone.utc)
FIELDS = [
    FieldSpec(name="speed", type="integer", min=0, max=100, default=10),
    FieldSpec(name="time", type="number", min=1, max=60, default=5),
    FieldSpec(name="fruit", type="choice", choices=["mango", "kiwi"], default="mango"),
    FieldSpec(name="fast", type="boolean", default=False),
]


def fields_of(problems):
    return [p.field for p in problems]


def test_a_grid_is_every_combination_with_the_first_field_outermost():
    checked = check_plan(FIELDS, SweepPlan(vary={"speed": [1, 2, 3], "time": [10, 20]}), 1000)
    assert checked.problems == [] and checked.size == 6
    assert checked.plan.members() == [{"speed": 1, "time": 10.0}, {"speed": 1, "time": 20.0},
                                      {"speed": 2, "time": 10.0}, {"speed": 2, "time": 20.0},
                                      {"speed": 3, "time": 10.0}, {"speed": 3, "time": 20.0}]


def test_zip_pairs_element_by_element_and_refuses_lists_of_different_lengths():
    checked = check_plan(FIELDS, SweepPlan(vary={"speed": [1, 2], "time": [10, 20]}, mode="zip"), 1000)
    assert checked.plan.members() == [{"speed": 1, "time": 10.0}, {"speed": 2, "time": 20.0}]
    bad = check_plan(FIELDS, SweepPlan(vary={"speed": [1, 2, 3], "time": [10, 20]}, mode="zip"), 1000)
    assert bad.plan is None and bad.problems[0].rule == "zip" and "speed: 3, time: 2" in bad.problems[0].message


def test_every_bad_value_is_named_with_its_place_and_nothing_is_valid():
    checked = check_plan(FIELDS, SweepPlan(base={"fruit": "apple"}, vary={"speed": [1, 200, -1], "colour": [1]}),
                         1000)
    assert checked.plan is None
    assert fields_of(checked.problems) == ["fields.fruit", "vary.speed[1]", "vary.speed[2]", "vary.colour"]
    assert [p.rule for p in checked.problems] == ["choice", "max", "min", "unknown"]
    with pytest.raises(ValidationFailed) as refused:
        checked.raise_problems()
    assert refused.value.errors[1] == {"field": "vary.speed[1]", "message": "must be at most 100, not 200",
                                       "rule": "max"}


def test_members_carry_their_own_problems_for_a_preview():
    checked = check_plan(FIELDS, SweepPlan(vary={"speed": [1, 200], "fast": [True, False]}), 1000)
    assert [(m.values, fields_of(m.problems)) for m in checked.members] == [
        ({"speed": 1, "fast": True}, []), ({"speed": 1, "fast": False}, []),
        ({"speed": 200, "fast": True}, ["vary.speed[1]"]), ({"speed": 200, "fast": False}, ["vary.speed[1]"])]


def test_more_members_than_allowed_is_refused_without_expanding_them():
    huge = {"speed": list(range(100)), "time": list(range(1, 61)), "fast": [True, False]}
    checked = check_plan(FIELDS, SweepPlan(vary=huge), 1000)
    assert checked.plan is None and checked.size == 12000 and checked.members == []
    assert checked.problems[0].rule == "max_members" and "12000 runs; at most 1000" in checked.problems[0].message
    assert check_plan(FIELDS, SweepPlan(vary={"speed": list(range(100)), "time": list(range(1, 11))}), 1000).plan


def test_a_repeated_value_would_repeat_a_member_and_is_refused():
    checked = check_plan(FIELDS, SweepPlan(vary={"speed": [1, 2, 1.0]}), 1000)
    assert checked.problems[0].field == "vary.speed[2]" and checked.problems[0].rule == "duplicate"


def test_a_csv_table_is_typed_by_field_with_rows_named_from_one():
    table = "speed,time,fast,fruit\n1,10,yes,kiwi\n2,20.5,no,\n3,,true,mango\n"
    checked = check_plan(FIELDS, SweepPlan(base={"time": 7}, table=table), 1000)
    assert checked.problems == []
    assert checked.plan.members() == [{"speed": 1, "time": 10.0, "fast": True, "fruit": "kiwi"},
                                      {"speed": 2, "time": 20.5, "fast": False},
                                      {"speed": 3, "fast": True, "fruit": "mango"}]  # an empty cell: the base value


def test_a_malformed_table_names_each_problem_and_its_row():
    checked = check_plan(FIELDS, SweepPlan(table="speed,colour\n1,red\nfast,blue\n1,red\n7\n"), 1000)
    assert fields_of(checked.problems) == ["rows[4]"]  # the shape first: a short row
    checked = check_plan(FIELDS, SweepPlan(table="speed,colour\n1,red\nfast,blue\n1,red\n"), 1000)
    assert fields_of(checked.problems) == ["table.colour", "rows[2].speed", "rows[3]"]
    assert checked.problems[1].message == "row 2: must be a number, not 'fast'"
    assert checked.problems[2].message == "row 3 repeats row 1"
    assert check_plan(FIELDS, SweepPlan(table=""), 1000).problems[0].field == "table"
    assert check_plan(FIELDS, SweepPlan(table="speed\n"), 1000).problems[0].message.startswith("the table has a header")


def test_a_plan_needs_vary_or_a_table_and_not_both():
    assert check_plan(FIELDS, SweepPlan(), 1000).problems[0].field == "vary"
    both = check_plan(FIELDS, SweepPlan(vary={"speed": [1]}, rows=[{"speed": 2}]), 1000)
    assert "not both" in both.problems[0].message


def test_a_required_field_without_a_value_is_named_once():
    fields = [*FIELDS, FieldSpec(name="seed", type="integer")]
    checked = check_plan(fields, SweepPlan(vary={"speed": [1, 2]}), 1000)
    assert fields_of(checked.problems) == ["fields.seed"]
    assert check_plan(fields, SweepPlan(base={"seed": 4}, vary={"speed": [1, 2]}), 1000).plan is not None


def sweep(**changes) -> Sweep:
    checked = check_plan(FIELDS, SweepPlan(vary={"speed": [1, 2, 3]}), 1000).plan
    values = dict(sweep_id=new_sweep_id("alice", NOW), owner="alice", title="Speeds", case_id="mixer", case_version=1,
                  mode=checked.mode, base=checked.base, vary=checked.vary, total=checked.size, created=NOW)
    return Sweep(**{**values, **changes})


def test_member_ids_are_job_ids_derived_from_the_sweep_in_plan_order():
    one = sweep()
    assert SWEEP_ID.match(one.sweep_id)
    ids = [one.member_id(i) for i in range(3)]
    assert all(JOB_ID.match(i) for i in ids) and ids == sorted(ids) and len(set(ids)) == 3
    assert ids == [sweep(sweep_id=one.sweep_id).member_id(i) for i in range(3)]  # derived, never drawn
    low, high = one.member_range()
    assert all(low <= i < high for i in ids)
    assert one.member_id(1, attempt=1) not in ids and low <= one.member_id(1, attempt=1) < high
    assert sweep().member_id(0) != one.member_id(0)


def test_a_member_is_a_draft_titled_with_its_values_on_the_sweeps_version():
    job = sweep().member(FIELDS, 1, {"speed": 2}, NOW)
    assert job.status == JobStatus.DRAFT and job.title == "Speeds · speed=2" and job.case_version == 1
    assert job.fields == {"speed": 2, "time": 5, "fruit": "mango", "fast": False}
    assert (job.sweep_index, job.sweep_attempt) == (1, 0) and "member 2 of sweep" in job.history[0].reason


def test_summaries_read_the_file_in_pieces_split_anywhere():
    data = 't,temp,label\r\n0,10.5,"a\nlong é"\r\n1,12,b\r\n2,,c\r\n3,9,d\r\n'.encode()
    whole = summarise(data)
    assert set(whole.columns) == {"t", "temp"}  # label has text: not numeric
    temp = whole.columns["temp"]
    assert (temp.count, temp.min, temp.max, temp.last) == (3, 9, 12, 9) and temp.mean == pytest.approx(31.5 / 3)
    for size in (1, 2, 3, 7):
        assert summarise_pieces(data[start:start + size] for start in range(0, len(data), size)) == whole
    assert summarise(b"a,b\r1,2\r3,4\r").columns["b"].last == 4  # old Mac line ends
    assert summarise(b"a\n1e308\n1e308\n").columns["a"].mean == 1e308  # a running mean: no overflow
    assert summarise(b"").note == "no header row" and summarise(b"a,b\nx,y\n").note == "no numeric columns"
    assert summarise(b'a,b\n"1,2\n').note.startswith("not summarised")  # an unterminated quote


def test_a_finish_estimate_runs_the_members_in_waves():
    limits = SiteLimits(max_parallel_jobs=4, licences={"solver": 2}, max_jobs_per_user=3)
    assert at_once(limits, {}) == 3 and at_once(limits, {"solver": 1}) == 2
    assert estimated_finish(NOW, 60, 5, 2) == NOW.replace(minute=3)
    assert estimated_finish(None, 60, 5, 2) is None and estimated_finish(NOW, None, 5, 2) is None


def job_with(job_id, fields, outputs=(), case_id="mixer", version=1) -> Job:
    return Job(job_id=job_id, owner="alice", title=job_id, case_id=case_id, case_version=version,
               fields=fields, created=NOW, updated=NOW, outputs=[o.model_dump() for o in outputs])


def csv_output(md5, data=b"t,temp\n0,1\n1,2\n"):
    return Output(output_id="csv1", name="results/out.csv", size=len(data), content_type="text/csv", md5=md5,
                  summary=summarise(data))


def test_a_comparison_says_what_differs_and_which_outputs_are_identical():
    case = PublishedCase(definition=parse_definition(case_document()), version=1, published=NOW, published_by="c",
                         digest="d")
    a = job_with("a", {"speed": 1, "label": "x", "fast": False}, [csv_output("1" * 32)])
    b = job_with("b", {"speed": 2, "label": "x", "fast": False}, [csv_output("1" * 32)])
    c = job_with("c", {"speed": 1.0, "label": "x", "fast": False}, [csv_output("2" * 32, b"t,temp\n0,5\n")])
    compared = compare([a, b, c], [case])
    assert [(f.name, f.differs) for f in compared.fields] == [("speed", True), ("label", False), ("fast", False)]
    assert compared.fields[0].label == "Speed"
    assert [(o.name, o.identical) for o in compared.outputs] == [("results/out.csv", False)]
    assert [(c.column, c.differs) for c in compared.columns] == [("t", True), ("temp", True)]
    assert compare([a, b], [case]).outputs[0].identical
    assert not compare([a, b], [case]).columns[1].differs
    with pytest.raises(ValidationFailed) as refused:
        compare([a, job_with("d", {}, case_id="other")], [case])
    assert "mixer, other" in refused.value.errors[0]["message"]


def test_zip_may_repeat_a_value_in_one_list_but_not_a_whole_run():
    pairs = check_plan(FIELDS, SweepPlan(vary={"speed": [10, 10], "fast": [True, False]}, mode="zip"), 1000)
    assert pairs.problems == [] and pairs.plan.members() == [{"speed": 10, "fast": True}, {"speed": 10, "fast": False}]
    twice = check_plan(FIELDS, SweepPlan(vary={"speed": [10, 10], "fast": [True, True]}, mode="zip"), 1000)
    assert [(p.field, p.message) for p in twice.problems] == [("vary[1]", "run 2 repeats run 1")]


def test_rows_that_differ_only_by_spelling_out_a_base_value_are_one_run():
    checked = check_plan(FIELDS, SweepPlan(base={"time": 7}, rows=[{"speed": 1}, {"speed": 1, "time": 7},
                                                                    {"speed": 1, "fruit": "mango"}]), 1000)
    assert [p.message for p in checked.problems] == ["row 2 repeats row 1", "row 3 repeats row 1"]


def test_an_empty_table_and_padded_choice_cells():
    assert check_plan(FIELDS, SweepPlan(rows=[]), 1000).problems[0].message.startswith("the table has no runs")
    padded = check_plan(FIELDS, SweepPlan(table="speed, fruit\n1, kiwi\n"), 1000)
    assert padded.problems == [] and padded.plan.members() == [{"speed": 1, "fruit": "kiwi"}]
    bad = check_plan(FIELDS, SweepPlan(table=""), 1000)
    assert [p.field for p in bad.problems] == ["table"]  # not also "name a field to vary"
