"""The HTTP edge against hostile input, over HTTP against the local host: every bad request is a
problem document (never a 500), and nothing is written for it."""

from __future__ import annotations

import json
import socket
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.e2e.helpers import ALICE, assert_problem

pytestmark = pytest.mark.e2e

ADMIN = {"X-Simgate-User": "carol", "X-Simgate-Roles": "simgate.admin"}


def send(local_host, method, path, body: bytes, headers=ALICE, **extra):
    return requests.request(method, f"{local_host.url}/api/{path}", data=body, timeout=30,
                            headers={"Content-Type": "application/json", **headers, **extra})


DEEP = b'{"case_id": ' + b"[" * 1000 + b"]" * 1000 + b"}"
HUGE_INT = b'{"case_id": "smoothie", "job_title": "t", "fields": {"speed_rpm": ' + b"9" * 5000 + b"}}"


@pytest.mark.parametrize("method, path", [("POST", "job"), ("PUT", "case/deep")])
@pytest.mark.parametrize("body, words", [(DEEP, "nests deeper"), (HUGE_INT, "digits"),
                                         (b'{"x": NaN}', "not JSON"), (b'{"x": Infinity}', "not JSON")])
def test_bodies_that_would_make_a_reader_recurse_or_compute_are_400(local_host, method, path, body, words):
    headers = ADMIN if method == "PUT" else ALICE
    problem = assert_problem(send(local_host, method, path, body, headers), 400, "bad-request")
    assert words in problem["detail"]


def test_the_webhook_checks_the_token_before_it_reads_the_body(local_host):
    job_id = "5f2c9a0e11b7-8230312345678-3fa9c2d1"
    response = send(local_host, "PATCH", f"job/{job_id}/status", DEEP, headers={})
    assert_problem(response, 401, "unauthorized")
    response = send(local_host, "PATCH", f"job/{job_id}/status", DEEP, headers={}, Authorization="Bearer forged")
    assert_problem(response, 401, "unauthorized")


def test_an_out_of_range_number_is_422_with_its_rule(local_host, storage):
    case_id = f"edge-{uuid.uuid4().hex[:6]}"
    document = {"id": case_id, "title": "Edge", "fields": [{"name": "n", "type": "number", "min": 0, "max": 10}],
                "scripts": {"run.sh": "echo {{ n }}\n"}, "entry_point": "run.sh"}
    assert send(local_host, "PUT", f"case/{case_id}", json.dumps(document).encode(), ADMIN).status_code == 201
    body = json.dumps({"case_id": case_id, "job_title": "t", "fields": {"n": 1e300}})
    problem = assert_problem(send(local_host, "POST", "job", body.encode()), 422, "validation-failed")
    assert problem["errors"] == [{"field": "n", "rule": "max", "message": "must be at most 10, not 1e+300"}]
    big = b'{"case_id": "%s", "job_title": "t", "fields": {"n": -%s}}' % (case_id.encode(), b"9" * 25)
    problem = assert_problem(send(local_host, "POST", "job", big), 422, "validation-failed")
    assert problem["errors"][0]["rule"] == "min"


@pytest.mark.parametrize("title", ["Test\r\nInjected: yes", "evil\u202egnp.exe", "bell\x07"])
def test_titles_with_control_characters_are_422_and_no_job_is_made(local_host, title):
    user = {"X-Simgate-User": f"titles-{uuid.uuid4().hex[:6]}"}
    body = json.dumps({"case_id": "anything", "job_title": title}).encode()
    problem = assert_problem(send(local_host, "POST", "job", body, user), 422, "validation-failed")
    assert problem["errors"][0]["field"] == "job_title"
    assert requests.get(f"{local_host.url}/api/job", headers=user, timeout=30).json() == []


def test_a_forged_continuation_token_is_400(local_host):
    forged = "eyJOZXh0UGFydGl0aW9uS2V5IjoiMSJ9"  # valid base64 JSON that this API never issued
    for path in ("case", "job"):
        response = requests.get(f"{local_host.url}/api/{path}", params={"continuation": forged}, headers=ALICE,
                                timeout=30)
        problem = assert_problem(response, 400, "bad-request")
        assert problem["errors"][0]["field"] == "continuation"


def test_a_token_from_another_listing_is_refused(local_host):
    for index in range(2):
        case_id = f"tokens-{uuid.uuid4().hex[:6]}-{index}"
        document = {"id": case_id, "title": "T", "scripts": {"run.sh": "true\n"}, "entry_point": "run.sh"}
        assert send(local_host, "PUT", f"case/{case_id}", json.dumps(document).encode(), ADMIN).status_code == 201
    listed = requests.get(f"{local_host.url}/api/case", params={"per_page": 1}, headers=ALICE, timeout=30)
    token = listed.headers["X-Continuation-Token"]
    assert requests.get(f"{local_host.url}/api/case", params={"per_page": 1, "continuation": token},
                        headers=ALICE, timeout=30).status_code == 200
    response = requests.get(f"{local_host.url}/api/job", params={"continuation": token}, headers=ALICE, timeout=30)
    assert_problem(response, 400, "bad-request")


def test_unknown_paths_and_methods_are_problems(local_host):
    missing = requests.get(f"{local_host.url}/api/nothing/here", headers=ALICE, timeout=30)
    assert "openapi.json" in assert_problem(missing, 404, "not-found")["detail"]
    wrong = requests.put(f"{local_host.url}/api/job", headers=ALICE, timeout=30)
    assert_problem(wrong, 405, "method-not-allowed")
    assert wrong.headers["Allow"] == "GET, POST"
    outside = requests.get(f"{local_host.url}/elsewhere", timeout=30)
    assert_problem(outside, 404, "not-found")


def test_a_burst_of_connections_is_queued_not_reset(local_host):
    host, port = local_host.url.removeprefix("http://").split(":")

    def connect_and_ask(_):
        with socket.create_connection((host, int(port)), timeout=30) as sock:
            sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return sock.recv(12)

    with ThreadPoolExecutor(50) as workers:
        answers = list(workers.map(connect_and_ask, range(50)))
    assert all(a.startswith(b"HTTP/1.1 ") for a in answers)
