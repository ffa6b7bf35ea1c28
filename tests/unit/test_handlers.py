"""The HTTP functions themselves, on an App of fakes: what the edge authenticates, what the handler
parses and what it answers."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import azure.functions as func
import pytest

from functions import cases, jobs, webhooks
from shared.domain.cases import parse_definition
from shared.domain.jobs import Job, JobStatus, Transition, agent_token_hash, new_job_id
from shared.wiring import installed
from tests.factories import case_document
from tests.fakes import fake_app

NOW = datetime(2026, 5, 1, tzinfo=timezone.utc)
ALICE = {"X-Simgate-User": "alice"}
BOB = {"X-Simgate-User": "bob"}


@pytest.fixture
def world():
    world = fake_app(AUTH_DEV_MODE="true")
    world.cases.publish(parse_definition(case_document("mixer")), "carol", NOW)
    with installed(world.app):
        yield world


def call(function, method: str, path: str, *, headers=None, body=None, params=None, **route_params):
    data = json.dumps(body).encode() if body is not None else b""
    request = func.HttpRequest(method, f"http://localhost/api/{path}", headers=headers or {}, params=params or {},
                               route_params=route_params, body=data)
    return function(request)


def answer(response: func.HttpResponse):
    return json.loads(response.get_body())


def test_a_request_without_a_user_is_401_before_the_handler_reads_anything(world):
    response = call(jobs.create_job, "POST", "job", body={"case_id": "mixer", "job_title": "Test 1"})
    assert response.status_code == 401 and response.mimetype == "application/problem+json"
    assert answer(response)["type"] == "urn:simgate:problem:unauthorized" and world.jobs.rows == {}


def test_the_handler_acts_for_the_user_the_edge_authenticated(world):
    created = call(jobs.create_job, "POST", "job", headers=ALICE, body={"case_id": "mixer", "job_title": "Test 1"})
    assert created.status_code == 201
    job_id = answer(created)["job_id"]
    assert created.headers["Location"] == f"/api/job/{job_id}"
    mine = call(jobs.get_job, "GET", f"job/{job_id}", headers=ALICE, job_id=job_id)
    assert mine.status_code == 200 and answer(mine)["owner"] == "alice" and answer(mine)["status"] == "draft"
    theirs = call(jobs.get_job, "GET", f"job/{job_id}", headers=BOB, job_id=job_id)
    assert theirs.status_code == 404  # someone else's job is not found, not forbidden


def test_a_list_answers_the_published_summaries_with_its_paging_headers(world):
    for title in ("One", "Two", "Three"):
        call(jobs.create_job, "POST", "job", headers=ALICE, body={"case_id": "mixer", "job_title": title})
        world.clock.advance(1)
    listed = call(jobs.list_jobs, "GET", "job", headers=ALICE, params={"per_page": "2"})
    assert [j["title"] for j in answer(listed)] == ["Three", "Two"]
    assert set(answer(listed)[0]) == {"job_id", "title", "owner", "case_id", "case_version", "status", "progress", "sweep_id",
                                      "created", "updated"}
    assert 'rel="next"' in listed.headers["Link"] and listed.headers["X-Per-Page"] == "2"
    bad = call(cases.list_cases, "GET", "case", headers=ALICE, params={"per_page": "0"})
    assert bad.status_code == 400 and answer(bad)["errors"][0]["field"] == "per_page"


def test_the_webhook_checks_the_job_token_before_it_reads_the_body(world):
    job = Job(job_id=new_job_id("alice", NOW), owner="alice", title="Test 1", case_id="mixer", case_version=1,
              fields={}, status=JobStatus.QUEUED, created=NOW, updated=NOW, simulator="hpc",
              agent_token_hash=agent_token_hash("the-token"),
              history=[Transition(status=JobStatus.QUEUED, at=NOW, source="manager")])
    world.jobs.add(job)
    path = f"job/{job.job_id}/status"
    refused = call(webhooks.report_status, "PATCH", path, headers={"Authorization": "Bearer wrong"},
                   body={"not": "a report"}, job_id=job.job_id)
    assert refused.status_code == 401  # not 422: the body of a caller without the token is never read
    accepted = call(webhooks.report_status, "PATCH", path, headers={"Authorization": "Bearer the-token"},
                    body={"status": "Running", "progress": 0.25}, job_id=job.job_id)
    assert accepted.status_code == 200 and answer(accepted)["status"] == "running"
    assert world.jobs.get(job.job_id).item.progress == 0.25
