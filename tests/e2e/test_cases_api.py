"""The case catalogue over HTTP against the local host serving the real app."""

import json
import uuid
from urllib.parse import urljoin

import pytest
import requests

from tests.e2e.helpers import assert_problem
from tests.factories import case_document

pytestmark = pytest.mark.e2e

USER = {"X-Simgate-User": "alice"}
ADMIN = {"X-Simgate-User": "carol", "X-Simgate-Roles": "simgate.admin"}


def api(local_host, method, path, headers=USER, **kwargs):
    return requests.request(method, f"{local_host.url}/api/{path}", headers=headers, timeout=30, **kwargs)


def put_case(local_host, document, headers=ADMIN):
    return api(local_host, "PUT", f"case/{document['id']}", headers=headers, json=document)


def unique_id(prefix="e2e"):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_publish_then_read_details_and_older_versions(local_host):
    case_id = unique_id()
    first = put_case(local_host, case_document(case_id))
    assert first.status_code == 201 and first.json() == {"id": case_id, "version": 1, "changed": True}
    assert first.headers["Location"] == f"/api/case/{case_id}?version=1"
    again = put_case(local_host, case_document(case_id))
    assert again.status_code == 200 and again.json()["changed"] is False
    assert put_case(local_host, case_document(case_id, title="Mixer II")).json()["version"] == 2

    details = api(local_host, "GET", f"case/{case_id}")
    assert details.status_code == 200 and details.headers["ETag"] == f'"{case_id}-v2"'
    body = details.json()
    assert (body["title"], body["version"], body["latest_version"]) == ("Mixer II", 2, 2)
    assert body["fields"][0] == {
        "name": "speed", "label": "Speed", "type": "number", "unit": "rpm", "min": 0.0, "max": 100.0,
        "choices": None, "pattern": None, "max_length": None, "required": True, "help": "", "default": 10}
    assert body["scripts"] == [{"name": "run.sh", "entry_point": True}, {"name": "params.py", "entry_point": False},
                               {"name": "params.json", "entry_point": False}]
    assert body["outputs"] == [{"pattern": "results/*.csv", "description": "tables", "live": False}]
    assert "#!/bin/sh" not in details.text  # script names, not their text
    old = api(local_host, "GET", f"case/{case_id}", params={"version": 1}).json()
    assert (old["title"], old["version"], old["latest_version"]) == ("Mixer", 1, 2)


def test_the_list_pages_by_number_and_by_continuation(local_host):
    prefix = unique_id("list")
    ids = [f"{prefix}-{i}" for i in range(7)]
    for case_id in ids:
        assert put_case(local_host, case_document(case_id)).status_code == 201
    first = api(local_host, "GET", "case", params={"page": 1, "per_page": 5})
    assert first.status_code == 200 and len(first.json()) == 5
    assert set(first.json()[0]) == {"id", "title", "summary", "tags", "version", "updated"}
    assert first.links["next"]["url"] == "/api/case?page=2&per_page=5"  # relative: right behind a proxy too
    by_number = api(local_host, "GET", "case", params={"page": 2, "per_page": 5})
    by_token = api(local_host, "GET", "case",
                   params={"per_page": 5, "continuation": first.headers["X-Continuation-Token"]})
    assert by_number.json() == by_token.json() and len(by_number.json()) > 0
    assert by_number.links["prev"]["url"].endswith("?page=1&per_page=5")

    seen, url = [], f"{local_host.url}/api/case?per_page=5"
    while url:
        page = requests.get(url, headers=USER, timeout=30)
        seen += [h["id"] for h in page.json()]
        url = urljoin(url, page.links["next"]["url"]) if "next" in page.links else None  # relative links
    assert len(seen) == len(set(seen)) and [i for i in seen if i.startswith(prefix)] == ids


def test_per_page_is_capped(local_host):
    response = api(local_host, "GET", "case", params={"per_page": 5000})
    assert response.status_code == 200 and response.headers["X-Per-Page"] == "100"


@pytest.mark.parametrize("params", [{"page": 0}, {"page": "two"}, {"per_page": -1}, {"per_page": "1.5"},
                                    {"continuation": "not-a-token"}])
def test_bad_paging_parameters_are_400(local_host, params):
    assert_problem(api(local_host, "GET", "case", params=params), 400, "bad-request")


@pytest.mark.parametrize("path", ["case/no-such-case", "case/Bad%20Id", "case/mixer-x?version=0"])
def test_unknown_cases_are_404_and_bad_versions_400(local_host, path):
    response = api(local_host, "GET", path)
    if "version=0" in path:
        assert_problem(response, 400, "bad-request")
    else:
        assert_problem(response, 404, "not-found")


def test_an_unknown_version_of_a_known_case_is_404(local_host):
    case_id = unique_id()
    put_case(local_host, case_document(case_id))
    body = assert_problem(api(local_host, "GET", f"case/{case_id}", params={"version": 9}), 404, "not-found")
    assert "no version 9" in body["detail"]


def test_an_invalid_definition_is_422_with_every_problem_and_writes_nothing(local_host):
    case_id = unique_id()
    document = case_document(
        case_id,
        fields=[{"name": "speed", "type": "number", "max": 5, "default": 9},
                {"name": "speed", "type": "string"}],
        scripts={"run.sh": "echo {% if %}"},
        outputs=[{"pattern": "../../secrets"}],
    )
    body = assert_problem(put_case(local_host, document), 422, "validation-failed")
    fields = {e["field"] for e in body["errors"]}
    assert {"fields[0].default", "fields", "scripts.run.sh", "outputs[0].pattern"} <= fields
    assert_problem(api(local_host, "GET", f"case/{case_id}"), 404, "not-found")


def test_publishing_needs_the_admin_role(local_host):
    case_id = unique_id()
    assert_problem(put_case(local_host, case_document(case_id), headers=USER), 403, "forbidden")
    assert_problem(put_case(local_host, case_document(case_id), headers={}), 401, "unauthorized")
    assert_problem(api(local_host, "GET", f"case/{case_id}"), 404, "not-found")


def test_the_body_must_be_for_the_case_in_the_url(local_host):
    response = api(local_host, "PUT", f"case/{unique_id()}", headers=ADMIN, json=case_document("other-case"))
    body = assert_problem(response, 422, "validation-failed")
    assert body["errors"][0]["field"] == "id"


def test_malformed_and_oversized_bodies(local_host):
    url = f"case/{unique_id()}"
    assert_problem(api(local_host, "PUT", url, headers={**ADMIN, "Content-Type": "application/json"},
                       data=b"{nope"), 400, "bad-request")
    big = json.dumps(case_document("x", description="x" * (3 * 1024 * 1024)))
    assert_problem(api(local_host, "PUT", url, headers={**ADMIN, "Content-Type": "application/json"}, data=big),
                   413, "payload-too-large")


def test_reading_cases_needs_a_signed_in_user(local_host):
    assert_problem(api(local_host, "GET", "case", headers={}), 401, "unauthorized")
