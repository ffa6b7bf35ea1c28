import pytest

from devstack.routes import compile_route


@pytest.mark.parametrize(
    ("template", "path", "params"),
    [
        ("case", "case", {}),
        ("case", "CASE/", {}),
        ("case/{case_id}", "case/smoothie", {"case_id": "smoothie"}),
        ("job/{job_id}/output/{output_id}", "job/j1/output/o2", {"job_id": "j1", "output_id": "o2"}),
        ("item/{id:int}", "item/42", {"id": "42"}),
        ("item/{id:int?}", "item", {"id": None}),
        ("files/{*rest}", "files/a/b/c.csv", {"rest": "a/b/c.csv"}),
        ("report.{ext:alpha}", "report.csv", {"ext": "csv"}),
        ("v/{code:regex(^[a-z]+$)}", "v/ab", {"code": "ab"}),
    ],
)
def test_templates_match(template, path, params):
    match = compile_route(template).match(path)
    assert match is not None and match.groupdict() == params


@pytest.mark.parametrize(
    ("template", "path"),
    [("case/{case_id}", "case"), ("case/{case_id}", "case/a/b"), ("item/{id:int}", "item/x"), ("job", "jobs"),
     ("v/{code:regex(^[a-z]+$)}", "v/a1")],
)
def test_templates_refuse(template, path):
    assert compile_route(template).match(path) is None


def test_unknown_constraints_are_an_error():
    with pytest.raises(ValueError):
        compile_route("item/{id:datetime}")
