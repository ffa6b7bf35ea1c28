"""The job endpoints over HTTP against the local host serving the real app (Azurite behind it)."""

import json
import os
import signal
import threading
import uuid
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests

from tests.e2e.helpers import assert_problem, assert_walked_to_done, wait_for_status
from tests.factories import case_document

pytestmark = pytest.mark.e2e

ALICE = {"X-Simgate-User": "alice"}
BOB = {"X-Simgate-User": "bob"}
ADMIN = {"X-Simgate-User": "carol", "X-Simgate-Roles": "simgate.admin"}
HOLD_STEPS = 9  # a job with this many steps runs for up to a minute: long enough to cancel it running


@pytest.fixture(scope="module")
def case_id(local_host):
    case_id = f"jobs-{uuid.uuid4().hex[:8]}"
    fields = [*case_document()["fields"],
              {"name": "fruit", "type": "choice", "choices": ["mango", "kiwi"], "default": "mango"},
              {"name": "steps", "type": "integer", "min": 1, "max": 10}]
    scripts = {**case_document()["scripts"], "run.sh": (
        "#!/bin/sh\necho {{ label }} {{ speed }} {{ fast }} {{ job_title }}\n"
        f"{{% if steps == {HOLD_STEPS} %}}i=0; while [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done{{% endif %}}\n"
        "{% if job_title == 'Flaky' %}echo 'the node crashed' >&2; exit 3{% endif %}\n")}
    response = requests.put(f"{local_host.url}/api/case/{case_id}", headers=ADMIN, timeout=30,
                            json=case_document(case_id, fields=fields, scripts=scripts, simulators=["test"]))
    assert response.status_code == 201, response.text
    return case_id


def api(local_host, method, path, headers=ALICE, **kwargs):
    return requests.request(method, f"{local_host.url}/api/{path}", headers=headers, timeout=60, **kwargs)


def create(local_host, case_id, headers=ALICE, **body):
    response = api(local_host, "POST", "job", headers=headers, json={"case_id": case_id, "job_title": "Test 1", **body})
    assert response.status_code == 201, response.text
    return response.json()["job_id"]


def unchanged(local_host, job_id, before):
    after = api(local_host, "GET", f"job/{job_id}")
    assert after.headers["ETag"] == before.headers["ETag"] and after.json() == before.json()


def test_the_seed_flow_create_set_values_run_and_read(local_host, case_id, storage, settings):
    response = api(local_host, "POST", "job", json={"case_id": case_id, "job_title": "Test 1", "user": "alice"})
    assert response.status_code == 201 and set(response.json()) == {"job_id"}
    job_id = response.json()["job_id"]
    assert response.headers["Location"] == f"/api/job/{job_id}"

    job = api(local_host, "GET", f"job/{job_id}")
    body = job.json()
    assert (body["status"], body["uws_status"], body["title"], body["case_id"], body["case_version"]) == (
        "draft", "PENDING", "Test 1", case_id, 1)
    assert body["fields"] == {"speed": 10, "label": "batch", "fast": False, "fruit": "mango", "steps": None}
    assert body["history"][0]["status"] == "draft" and job.headers["ETag"]

    patched = api(local_host, "PATCH", f"job/{job_id}", json={"fields": [{"name": "speed", "value": 42},
                                                                         {"name": "steps", "value": 3}]})
    assert patched.status_code == 200 and patched.json()["success"] is True
    assert patched.json()["fields"]["speed"] == 42
    assert api(local_host, "PATCH", f"job/{job_id}", json={"fields": {"fruit": "kiwi"}},
               headers={**ALICE, "If-Match": patched.headers["ETag"]}).status_code == 200

    run = api(local_host, "POST", f"job/{job_id}")
    assert run.status_code == 202 and run.json() == {"success": True, "status": "submitted"}
    status = api(local_host, "GET", f"job/{job_id}/status").json()
    assert status["status"] in ("submitted", "queued") and status["uws_status"] == "QUEUED" and status["updated_at"]
    final = wait_for_status(local_host, job_id, "done")  # the manager queued it; the agent ran it
    assert final["fields"]["fruit"] == "kiwi"
    assert_walked_to_done(final)
    assert final["simulator"] == "test" and final["scheduler_job_id"]

    again = api(local_host, "POST", f"job/{job_id}")
    assert_problem(again, 409, "conflict")  # a finished job does not run again
    assert_problem(api(local_host, "PATCH", f"job/{job_id}", json={"fields": {"speed": 1}}), 409, "conflict")


@pytest.mark.parametrize("fields, field, rule", [
    ({"colour": "red"}, "colour", "unknown"),
    ({"speed": "fast"}, "speed", "type"),
    ({"speed": 1000}, "speed", "max"),
    ({"steps": 0}, "steps", "min"),
    ({"fruit": "apple"}, "fruit", "choice"),
    ({"fast": "yes"}, "fast", "type"),
    ({"label": "x" * 41}, "label", "max_length"),
])
def test_bad_field_values_are_422_naming_field_and_rule_and_change_nothing(local_host, case_id, fields, field, rule):
    job_id = create(local_host, case_id)
    before = api(local_host, "GET", f"job/{job_id}")
    body = assert_problem(api(local_host, "PATCH", f"job/{job_id}", json={"fields": fields}), 422,
                          "validation-failed")
    assert [(e["field"], e["rule"]) for e in body["errors"]] == [(field, rule)]
    unchanged(local_host, job_id, before)


def test_bad_requests(local_host, case_id):
    job_id = create(local_host, case_id)
    before = api(local_host, "GET", f"job/{job_id}")
    json_headers = {**ALICE, "Content-Type": "application/json"}
    assert_problem(api(local_host, "PATCH", f"job/{job_id}", headers=json_headers, data=b"{oops"), 400, "bad-request")
    big = json.dumps({"fields": {"label": "x" * (300 * 1024)}})
    assert_problem(api(local_host, "PATCH", f"job/{job_id}", headers=json_headers, data=big), 413)
    assert_problem(api(local_host, "PATCH", f"job/{job_id}", json={"fields": {"speed": 1}},
                       headers={**ALICE, "If-Match": 'W/"stale"'}), 412, "precondition-failed")
    unchanged(local_host, job_id, before)

    missing_title = assert_problem(api(local_host, "POST", "job", json={"case_id": case_id}), 422)
    assert missing_title["errors"][0]["field"] == "job_title"
    assert_problem(api(local_host, "POST", "job", json={"case_id": case_id, "job_title": "   "}), 422)
    assert_problem(api(local_host, "POST", "job", json={"case_id": "no-such-case", "job_title": "x"}), 404)
    assert_problem(api(local_host, "POST", "job", json={"case_id": case_id, "job_title": "x", "user": "bob"}), 403)
    assert_problem(api(local_host, "GET", "job/not-a-job"), 404, "not-found")
    assert_problem(api(local_host, "GET", "job", params={"status": "exploded"}), 400)
    assert_problem(api(local_host, "GET", f"job/{job_id}/status", params={"wait": 100}), 400)


def test_running_without_a_required_value_is_422_and_the_job_stays_a_draft(local_host, case_id):
    job_id = create(local_host, case_id)
    before = api(local_host, "GET", f"job/{job_id}")
    body = assert_problem(api(local_host, "POST", f"job/{job_id}"), 422)
    assert body["errors"] == [{"field": "steps", "rule": "required", "message": "a value is required"}]
    unchanged(local_host, job_id, before)


def test_another_users_job_does_not_exist_for_them(local_host, case_id):
    job_id = create(local_host, case_id, fields={"steps": 2})
    before = api(local_host, "GET", f"job/{job_id}")
    for method, path, kwargs in [("GET", f"job/{job_id}", {}), ("GET", f"job/{job_id}/status", {}),
                                 ("PATCH", f"job/{job_id}", {"json": {"fields": {"speed": 1}}}),
                                 ("POST", f"job/{job_id}", {}), ("POST", f"job/{job_id}/cancel", {}),
                                 ("DELETE", f"job/{job_id}", {})]:
        assert_problem(api(local_host, method, path, headers=BOB, **kwargs), 404, "not-found")
    unchanged(local_host, job_id, before)
    assert job_id not in [j["job_id"] for j in api(local_host, "GET", "job", headers=BOB).json()]
    assert_problem(api(local_host, "GET", "job", headers=BOB, params={"user": "alice"}), 403)
    listed = api(local_host, "GET", "job", headers=ADMIN, params={"user": "alice", "per_page": 100}).json()
    assert job_id in [j["job_id"] for j in listed]
    assert api(local_host, "GET", f"job/{job_id}", headers=ADMIN).status_code == 200


def test_a_retried_create_with_the_same_idempotency_key_makes_one_job(local_host, case_id):
    key = {"Idempotency-Key": uuid.uuid4().hex}
    body = {"case_id": case_id, "job_title": "Double click"}
    first = api(local_host, "POST", "job", headers={**ALICE, **key}, json=body)
    second = api(local_host, "POST", "job", headers={**ALICE, **key}, json=body)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json() and second.headers["Idempotent-Replayed"] == "true"
    other = api(local_host, "POST", "job", headers={**ALICE, **key}, json={**body, "job_title": "Other"})
    assert_problem(other, 422)
    titles = [j["title"] for j in api(local_host, "GET", "job", params={"per_page": 100}).json()]
    assert titles.count("Double click") == 1


def test_the_list_is_newest_first_filtered_and_paged(local_host, case_id):
    user = {"X-Simgate-User": f"lister-{uuid.uuid4().hex[:6]}"}
    ids = [create(local_host, case_id, headers=user, job_title=f"Job {i}") for i in range(6)]
    api(local_host, "POST", f"job/{ids[2]}/cancel", headers=user)
    first = api(local_host, "GET", "job", headers=user, params={"page": 1, "per_page": 4})
    assert [j["job_id"] for j in first.json()] == ids[::-1][:4]
    assert set(first.json()[0]) == {"job_id", "title", "case_id", "case_version", "status", "created", "updated",
                                    "owner", "progress", "sweep_id"}
    second = requests.get(urljoin(first.url, first.links["next"]["url"]), headers=user, timeout=30)
    assert [j["job_id"] for j in second.json()] == ids[::-1][4:] and "next" not in second.links
    by_token = api(local_host, "GET", "job", headers=user,
                   params={"per_page": 4, "continuation": first.headers["X-Continuation-Token"]})
    assert by_token.json() == second.json()
    cancelled = api(local_host, "GET", "job", headers=user, params={"status": "cancelled", "case_id": case_id})
    assert [j["job_id"] for j in cancelled.json()] == [ids[2]]


def test_status_wait_returns_as_soon_as_the_status_changes(local_host, case_id):
    job_id = create(local_host, case_id, fields={"steps": 1})
    result = {}

    def waiter():  # since=draft: whether it reads before or after the run, it answers on the change
        result["response"] = api(local_host, "GET", f"job/{job_id}/status", params={"wait": 25, "since": "draft"})

    thread = threading.Thread(target=waiter)
    thread.start()
    assert api(local_host, "POST", f"job/{job_id}").status_code == 202
    thread.join(timeout=40)
    assert result["response"].json()["status"] != "draft"


def test_cancel_and_delete(local_host, case_id, storage, settings):
    draft = create(local_host, case_id)
    cancelled = api(local_host, "POST", f"job/{draft}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert_problem(api(local_host, "POST", f"job/{draft}/cancel"), 409)
    assert_problem(api(local_host, "POST", f"job/{draft}"), 409)

    active = create(local_host, case_id, fields={"steps": HOLD_STEPS})
    api(local_host, "POST", f"job/{active}")
    wait_for_status(local_host, active, "running")
    assert_problem(api(local_host, "DELETE", f"job/{active}"), 409)
    marked = api(local_host, "POST", f"job/{active}/cancel")
    assert marked.status_code == 202 and marked.json() == {"success": True, "status": "running",
                                                          "cancel_requested": True}
    final = wait_for_status(local_host, active, "cancelled")  # the manager stopped it on the simulator
    assert final["cancel_requested"]["by"] == "alice" and final["detail"].startswith("cancelled by alice at ")

    outputs = storage.container(settings.outputs_container)
    outputs.upload_blob(f"{draft}/results/a.csv", b"1,2\n")
    assert api(local_host, "DELETE", f"job/{draft}").status_code == 204
    assert_problem(api(local_host, "GET", f"job/{draft}"), 404)
    assert list(outputs.list_blobs(name_starts_with=f"{draft}/")) == []
    deletable = create(local_host, case_id)
    assert api(local_host, "DELETE", f"job/{deletable}").status_code == 204


def test_the_reconciler_fails_a_job_whose_agent_died(local_host, case_id, app_env):
    job_id = create(local_host, case_id, fields={"steps": HOLD_STEPS})
    api(local_host, "POST", f"job/{job_id}")
    wait_for_status(local_host, job_id, "running")
    workdir = Path(json.loads(app_env["SIMULATORS"])[0]["workdir"])  # the direct simulator "test"
    os.killpg(json.loads((workdir / job_id / "state.json").read_text())["pid"], signal.SIGKILL)
    failed = wait_for_status(local_host, job_id, "failed")  # no webhook will come: only the timer can tell
    assert failed["error"] == "job vanished from simulator: nothing runs it any more (its last state was running)"
    assert failed["history"][-1]["source"] == "reconciler"


def test_a_failed_job_is_relaunched_in_one_call_and_runs_to_done(local_host, case_id):
    job_id = create(local_host, case_id, job_title="Flaky", fields={"steps": 2, "speed": 12})
    assert api(local_host, "POST", f"job/{job_id}").status_code == 202
    failed = wait_for_status(local_host, job_id, "done", "failed", timeout=120)
    assert failed["status"] == "failed" and "exit code 3" in failed["error"]

    response = api(local_host, "POST", f"job/{job_id}/relaunch")
    assert response.status_code == 201 and set(response.json()) == {"job_id"}
    again_id = response.json()["job_id"]
    assert response.headers["Location"] == f"/api/job/{again_id}" and again_id != job_id
    again = api(local_host, "GET", f"job/{again_id}").json()
    assert (again["status"], again["title"], again["case_version"]) == ("draft", "Flaky (2)", failed["case_version"])
    assert again["fields"] == failed["fields"]
    assert api(local_host, "POST", f"job/{again_id}").status_code == 202
    assert wait_for_status(local_host, again_id, "done", "failed", timeout=120)["status"] == "done"


def test_someone_elses_job_cannot_be_relaunched_but_an_admin_relaunches_it_as_their_own(local_host, case_id):
    job_id = create(local_host, case_id)
    assert_problem(api(local_host, "POST", f"job/{job_id}/relaunch", headers=BOB), 404, "not-found")
    assert_problem(api(local_host, "POST", "job/not-a-job/relaunch"), 404, "not-found")
    relaunched = api(local_host, "POST", f"job/{job_id}/relaunch", headers=ADMIN)
    assert relaunched.status_code == 201
    admins = api(local_host, "GET", f"job/{relaunched.json()['job_id']}", headers=ADMIN).json()
    assert admins["owner"] == ADMIN["X-Simgate-User"] and admins["history"][0]["reason"].endswith(" of alice")
    assert_problem(api(local_host, "GET", f"job/{admins['job_id']}"), 404, "not-found")  # not alice's draft
    assert admins["job_id"] in [j["job_id"] for j in api(local_host, "GET", "job", headers=ADMIN).json()]
