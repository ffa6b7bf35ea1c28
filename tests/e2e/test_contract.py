"""Contract fuzzing: schemathesis generates requests for every operation in the served OpenAPI
document (from its schemas, and following its links: create -> set -> run -> status) against the
local host serving the real app. It fails on any 5xx, any answer that does not match its documented
schema, status or content type, and any error that is not a problem document."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from commands.load_cases import DEFAULT_DIRECTORY, load
from devstack import PROJECT_ROOT
from shared import wiring
from shared.auth import Principal

pytestmark = pytest.mark.e2e

CHECKS = ",".join(["not_a_server_error", "status_code_conformance", "content_type_conformance",
                   "response_schema_conformance", "response_headers_conformance", "errors_are_problem_documents"])


def test_every_operation_honours_its_contract(local_host, tmp_path):
    # the demo cases, so that the documented examples (a heat-rod job) lead on to real jobs; heat-rod
    # at full speed, so that fuzzed runs hold no simulator slot for minutes while other tests run
    catalogue = wiring.app().cases
    assert all(outcome.ok for outcome in load([DEFAULT_DIRECTORY], catalogue, "contract-test"))
    heat_rod, _ = catalogue.get("heat-rod")
    document = heat_rod.definition.model_dump(mode="json")
    (pace,) = [f for f in document["fields"] if f["name"] == "run_seconds"]
    pace.update(max=1, default=0)
    catalogue.publish(Principal("contract-test", "contract-test", is_admin=True), document, "heat-rod")
    # One worker: with two threads, Hypothesis raising the recursion limit in one while the other
    # parses source (CPython 3.11's AST recursion check) fails runs at random.
    command = [sys.executable, "-m", "schemathesis.cli", "run", f"{local_host.url}/api/openapi.json",
               "--checks", CHECKS, "--header", "X-Simgate-User: fuzzer", "--header", "X-Simgate-Roles: simgate.admin", "--max-examples", "25", "--seed", "1",
               "--phases", "examples,coverage,fuzzing,stateful", "--max-time", "150", "--workers", "1",
               "--generation-database", "none", "--request-timeout", "40", "--no-color",
               "--report", "junit", "--report-dir", str(tmp_path)]
    result = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=400,
                            env={**os.environ, "SCHEMATHESIS_HOOKS": "tests.e2e.contract_checks"})
    assert result.returncode == 0, result.stdout[-12000:] + result.stderr[-3000:]
