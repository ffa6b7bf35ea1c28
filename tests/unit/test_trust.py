"""Whom the app believes: a principal header only where App Service Authentication put it there.

An attacker who reaches the Function app directly can send any X-MS-CLIENT-PRINCIPAL. These run the
real HTTP functions on an App of fakes, with forged admin principals in both shapes the platform
uses, and with App Service Authentication marked off (WEBSITE_AUTH_ENABLED) and on."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone

import azure.functions as func
import pytest

from functions import (
    BLUEPRINTS,
    cases,
    health,
    http_routes,
    jobs,
    live,
    meta,
    notifications,
    outputs,
    roles,
    sites,
    studies,
    webhooks,
)
from shared.api.openapi import Security
from shared.domain.cases import parse_definition
from shared.domain.jobs import Job, JobStatus, Transition, new_job_id
from shared.wiring import installed
from tests.factories import case_document
from tests.fakes import fake_app

NOW = datetime(2026, 5, 1, tzinfo=timezone.utc)
HTTP_MODULES = (cases, health, jobs, live, meta, notifications, outputs, roles, sites, studies, webhooks)
ADMIN = "simgate.admin"


def encoded(payload: dict) -> str:
    return base64.b64encode(json.dumps(payload).encode()).decode()


# The principal an attacker would forge: an admin, in App Service's claims shape (a token's claims)
# and in Static Web Apps' shape (the linked site's user), with the side headers App Service adds.
FORGED = {
    "app-service": {
        "X-MS-CLIENT-PRINCIPAL": encoded({"auth_typ": "aad", "name_typ": "name", "role_typ": "roles", "claims": [
            {"typ": "preferred_username", "val": "mallory@example.org"}, {"typ": "roles", "val": ADMIN}]}),
        "X-MS-CLIENT-PRINCIPAL-ID": "00000000-0000-0000-0000-00000000bad0",
        "X-MS-CLIENT-PRINCIPAL-NAME": "mallory@example.org",
        "X-MS-CLIENT-PRINCIPAL-IDP": "aad",
    },
    "static-web-apps": {
        "X-MS-CLIENT-PRINCIPAL": encoded({"identityProvider": "aad", "userId": "bad0",
                                          "userDetails": "mallory@example.org",
                                          "userRoles": ["anonymous", "authenticated", ADMIN]}),
    },
}


def user_endpoints() -> list[tuple[str, str, object]]:
    """(method, template, function) for every route that needs a signed-in user."""
    found = []
    for module in HTTP_MODULES:
        for route in module.bp.routes:
            if route.operation.security is Security.USER:
                found += [(method, route.template, getattr(module, route.function_name)) for method in route.methods]
    return found


def test_the_list_of_user_endpoints_is_every_one_the_app_declares():
    declared = {(m, r.template) for r in http_routes() if r.operation.security is Security.USER for m in r.methods}
    assert {(method, template) for method, template, _ in user_endpoints()} == declared
    assert {module.bp for module in HTTP_MODULES} >= {bp for bp in BLUEPRINTS if hasattr(bp, "routes")}


def world_with_jobs(**settings: str):
    """Alice's and Bob's draft jobs; dev mode off unless ``settings`` turn it on."""
    world = fake_app(**{"AUTH_DEV_MODE": "false", **settings})
    world.cases.publish(parse_definition(case_document("mixer")), "carol", NOW)
    for owner in ("alice", "bob"):
        job_id = new_job_id(owner, NOW)
        world.jobs.add(Job(job_id=job_id, owner=owner, title=f"{owner}'s", case_id="mixer", case_version=1,
                           fields={}, status=JobStatus.DRAFT, created=NOW, updated=NOW,
                           history=[Transition(status=JobStatus.DRAFT, at=NOW, source="user")]))
    return world


def call(function, method: str, template: str, headers: dict, *, params=None, body=None, **route_params):
    path = template.format(**route_params) if route_params else template
    request = func.HttpRequest(method, f"http://localhost/api/{path}", headers=headers, params=params or {},
                               route_params=route_params, body=json.dumps(body).encode() if body else b"")
    return function(request)


def state(world) -> tuple:
    return sorted((k, etag) for k, (_, etag) in world.jobs.rows.items()), world.cases.writes, len(world.queue.sent)


@pytest.mark.parametrize("platform_auth", [None, "False", "false", "0"], ids=lambda v: f"WEBSITE_AUTH_ENABLED={v}")
@pytest.mark.parametrize("shape", FORGED)
def test_a_forged_admin_is_401_on_every_user_endpoint_without_platform_authentication(shape, platform_auth):
    world = world_with_jobs(**({"WEBSITE_AUTH_ENABLED": platform_auth} if platform_auth is not None else {}))
    bobs = next(job_id for job_id, (job, _) in world.jobs.rows.items() if job.owner == "bob")
    before = state(world)
    with installed(world.app):
        for method, template, function in user_endpoints():
            route_params = {name: value for name, value in
                            {"job_id": bobs, "case_id": "mixer", "output_id": "csv1"}.items()
                            if "{" + name + "}" in template}
            body = {"case_id": "mixer", "job_title": "mine now", "user": "bob", "fields": {}}
            response = call(function, method, template, FORGED[shape], params={"all": "true"}, body=body,
                            **route_params)
            assert response.status_code == 401, (method, template, response.get_body())
            problem = json.loads(response.get_body())
            assert problem["type"] == "urn:simgate:problem:unauthorized", (method, template)
    assert state(world) == before


@pytest.mark.parametrize("shape", FORGED)
def test_the_attack_that_was_reported_reads_nobody_s_jobs(shape):
    world = world_with_jobs(WEBSITE_AUTH_ENABLED="False")
    with installed(world.app):
        listed = call(jobs.list_jobs, "GET", "job", FORGED[shape], params={"all": "true"})
    assert listed.status_code == 401 and b"bob" not in listed.get_body()


@pytest.mark.parametrize("shape", FORGED)
def test_behind_app_service_authentication_the_principal_is_the_caller(shape):
    """With authentication on, the platform strips what callers send: a principal it passes is its own."""
    world = world_with_jobs(WEBSITE_AUTH_ENABLED="True")
    with installed(world.app):
        listed = call(jobs.list_jobs, "GET", "job", FORGED[shape], params={"all": "true"})
        created = call(jobs.create_job, "POST", "job", FORGED[shape], body={"case_id": "mixer", "job_title": "T"})
    assert listed.status_code == 200
    assert {job["owner"] for job in json.loads(listed.get_body())} == {"alice", "bob"}  # an admin's ?all=true
    assert created.status_code == 201
    assert world.jobs.get(json.loads(created.get_body())["job_id"]).item.owner == "mallory@example.org"


@pytest.mark.parametrize(("settings", "status"), [
    ({"AUTH_DEV_MODE": "true"}, 200),
    ({"AUTH_DEV_MODE": "true", "WEBSITE_AUTH_ENABLED": "True"}, 200),
    ({"AUTH_DEV_MODE": "false", "WEBSITE_AUTH_ENABLED": "True"}, 401),
])
def test_the_development_header_works_as_before_and_only_in_dev_mode(settings, status):
    world = world_with_jobs(**settings)
    with installed(world.app):
        listed = call(jobs.list_jobs, "GET", "job", {"X-Simgate-User": "alice"})
    assert listed.status_code == status
    if status == 200:
        assert [job["owner"] for job in json.loads(listed.get_body())] == ["alice"]
