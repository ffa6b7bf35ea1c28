"""What the manager sends the simulator to start a job: job.json and the rendered scripts, as one
JSON document on the agent's stdin (the agent's ``start`` unpacks it into the job's directory).

job.json is the agent's whole world: which command to run, with what resources, where to report and
with which token, and which files are the job's outputs. Its shape is the agent's ``JobDescription``
(shared/agent/simgate_agent.py), which the agent reads job.json with: the builder here makes one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from shared.agent.simgate_agent import RETRY_SECONDS, JobDescription, JobResources
from shared.domain.cases import PublishedCase
from shared.domain.jobs import Job
from shared.domain.scripts import entry_command


@dataclass(frozen=True)
class Placement:
    """Where a job runs: a simulator's name and what the job needs to know about it."""

    simulator: str
    scheduler: str
    python: str
    max_parallel_jobs: int
    slurm_partition: str | None = None
    slurm_account: str | None = None
    nodes_call_out: bool = True


@dataclass(frozen=True)
class JobBundle:
    job: JobDescription  # job.json
    scripts: dict[str, str]  # name -> rendered text, for run/

    def to_bytes(self) -> bytes:
        return json.dumps({"job": self.job.to_dict(), "scripts": self.scripts}).encode()


def build_bundle(case: PublishedCase, job: Job, placement: Placement, scripts: dict[str, str], *,
                 callback_base_url: str | None, token: str, retry_seconds: int | None = None,
                 ca_bundle: str | None = None) -> JobBundle:
    """The bundle for ``job``: its rendered ``scripts`` and the description the agent runs it from."""
    definition = case.definition
    resources = definition.resources
    # A site whose compute nodes cannot call out gets no address: the reconciler settles its jobs over
    # SSH and the live channel is pulled from the job's directory.
    callback = callback_base_url.rstrip("/") if callback_base_url and placement.nodes_call_out else None
    description = JobDescription(
        job_id=job.job_id,
        token=token,
        entry_command=tuple(entry_command(definition.entry_point, placement.python)),
        scheduler=placement.scheduler,
        python=placement.python,
        simulator=placement.simulator,
        title=job.title,
        case_id=case.id,
        case_version=case.version,
        outputs=tuple(output.pattern for output in definition.outputs),
        resources=JobResources(
            cores=resources.cores,
            memory_mb=resources.memory_mb,
            wall_time_minutes=resources.wall_time_minutes,
            # the case's own choice wins; the simulator's defaults fill in
            partition=resources.partition or placement.slurm_partition,
            account=resources.account or placement.slurm_account,
        ),
        max_parallel_jobs=placement.max_parallel_jobs,
        status_url=f"{callback}/job/{job.job_id}/status" if callback else None,
        live_outputs=tuple(output.pattern for output in definition.outputs if output.live),
        live_url=f"{callback}/job/{job.job_id}/live" if callback else None,
        pull=not placement.nodes_call_out,
        retry_seconds=retry_seconds or RETRY_SECONDS,
        ca_bundle=ca_bundle,  # local stacks only: the emulator's certificate, for the agent's uploads
    )
    return JobBundle(job=description, scripts=dict(scripts))
