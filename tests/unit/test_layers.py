"""The rings hold: services import no SDK, endpoints are thin, the agent and the app share one protocol."""

from __future__ import annotations

import ast
import logging
import subprocess
import sys
import typing
from pathlib import Path

from shared.agent import simgate_agent
from shared.config import SimulatorSpec
from shared.domain.outputs import content_type_of

ROOT = Path(__file__).resolve().parents[2]


def test_the_services_load_no_sdk_no_functions_runtime_and_no_ssh_library():
    modules = sorted(f"shared.services.{p.stem}" for p in (ROOT / "shared" / "services").glob("*.py"))
    program = ("import importlib, sys\n"
               f"for name in {modules!r}: importlib.import_module(name)\n"
               "print(sorted({m for m in sys.modules if m.split('.')[0] in ('azure', 'paramiko')}))")
    loaded = subprocess.run([sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"


def _names_used(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | {
        n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}


def test_endpoints_pass_no_settings_or_roles():
    for module in (ROOT / "functions").glob("*.py"):
        used = _names_used(module)
        assert not used & {"get_settings", "admin_role", "Settings"}, module.name


def test_the_agent_knows_exactly_the_schedulers_a_simulator_may_name():
    allowed = set(typing.get_args(SimulatorSpec.model_fields["scheduler"].annotation))
    assert set(simgate_agent.SCHEDULERS) == allowed


def test_outputs_are_listed_with_the_content_type_the_agent_uploads_them_with():
    assert content_type_of is simgate_agent.content_type
    assert {content_type_of(n) for n in ("result.out", "run.err", "logs/stdout.log")} == {"text/plain"}


def test_job_log_lines_carry_the_job_and_simulator_as_fields(caplog):
    from shared.logs import StructuredFormatter, job_log

    with caplog.at_level(logging.INFO, logger="simgate.test"):
        job_log(logging.getLogger("simgate.test"), "job-1", "hpc").info("queued", extra={"delivery": 2})
    (record,) = caplog.records
    assert (record.job_id, record.simulator, record.delivery) == ("job-1", "hpc", 2)
    assert StructuredFormatter("%(message)s").format(record) == "queued [job_id=job-1 simulator=hpc delivery=2]"
