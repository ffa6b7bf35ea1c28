"""What the reconciler makes of a stale job, given what its simulator says (shared/domain/reconcile.py)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from shared.domain.jobs import CancelRequest, Job, JobStatus, new_job_id
from shared.domain.reconcile import Observation, verdict

NOW = datetime(2026, 5, 1, tzinfo=timezone.utc)
MANIFEST = [{"name": "results/a.csv", "size": 4, "md5": "0" * 32}]


def job(status: JobStatus = JobStatus.RUNNING, **changes) -> Job:
    return Job(job_id=new_job_id("alice", NOW), owner="alice", title="t", case_id="mixer", case_version=1, fields={},
               status=status, created=NOW, updated=NOW, simulator="hpc", **changes)


def seen(**facts) -> Observation:
    return Observation.model_validate({"exists": True, "delivered": True, "submitted": True, **facts})


@pytest.mark.parametrize("observation", [None, Observation(exists=False)])
def test_a_job_whose_directory_is_gone_vanished(observation):
    found = verdict(job(), observation)
    assert found.status == JobStatus.FAILED and found.reason.startswith("job vanished from simulator")


def test_a_lost_done_is_recovered_from_the_manifest_once_the_agent_has_given_up():
    found = verdict(job(JobStatus.CLEANUP), seen(state="uploaded", manifest=MANIFEST, alive=False))
    assert found.status == JobStatus.DONE and found.manifest == MANIFEST and "lost" in found.reason


def test_an_agent_still_retrying_its_done_is_left_to_finish():
    assert verdict(job(JobStatus.CLEANUP), seen(state="uploaded", manifest=MANIFEST, alive=True)) is None


def test_a_done_agent_whose_answer_was_lost_is_done():
    assert verdict(job(JobStatus.CLEANUP), seen(state="done", manifest=MANIFEST, alive=True)).status == JobStatus.DONE


def test_the_agents_failure_is_recorded_with_its_reason_and_exit_code():
    found = verdict(job(), seen(state="failed", reason="the entry script failed", exit_code=3))
    assert (found.status, found.reason) == (JobStatus.FAILED, "the entry script failed (exit code 3)")


def test_a_job_cancelled_on_the_simulator_is_cancelled_with_who_asked():
    asked = job(cancel_requested=CancelRequest(by="alice", at=NOW))
    assert verdict(asked, seen(state="cancelled")).reason == f"cancelled by alice at {NOW.isoformat()}"
    scancelled = verdict(job(), seen(state="running", scheduler="slurm", scheduler_state="CANCELLED", alive=False))
    assert (scancelled.status, scancelled.reason) == (JobStatus.CANCELLED, "cancelled on the simulator")


def test_a_lost_running_report_is_repaired():
    found = verdict(job(JobStatus.QUEUED), seen(state="running", alive=True))
    assert found.status == JobStatus.RUNNING and "lost" in found.reason


def test_a_finished_script_whose_agent_is_delivering_moves_to_cleanup():
    assert verdict(job(JobStatus.RUNNING), seen(state="finished", alive=True)).status == JobStatus.CLEANUP
    assert verdict(job(JobStatus.CLEANUP), seen(state="finished", alive=True)) is None


@pytest.mark.parametrize("status, state", [
    (JobStatus.QUEUED, None),  # Slurm has it pending: the agent has not started
    (JobStatus.QUEUED, "queued"),  # waiting for a slot
    (JobStatus.RUNNING, "running"),
])
def test_a_live_job_that_is_simply_waiting_or_working_is_left_alone(status, state):
    assert verdict(job(status), seen(state=state, alive=True, scheduler_state="PENDING")) is None


@pytest.mark.parametrize("status", [JobStatus.RUNNING, JobStatus.CLEANUP])
def test_outputs_an_agent_died_delivering_are_handed_a_new_grant_not_failed(status):
    files = [{"name": "results/a.csv", "size": 4}]
    found = verdict(job(status), seen(state="finished", alive=False, files=files))
    assert (found.status, found.deliver) == (JobStatus.CLEANUP, files) and "new upload grant" in found.reason


@pytest.mark.parametrize("slurm_state, words", [
    ("TIMEOUT", "wall time exceeded"),
    ("OUT_OF_MEMORY", "Slurm ended the job (OUT_OF_MEMORY) before its agent reported"),
    ("NODE_FAIL", "Slurm ended the job (NODE_FAIL)"),
])
def test_slurms_own_end_state_is_the_reason(slurm_state, words):
    found = verdict(job(), seen(state="running", scheduler="slurm", scheduler_state=slurm_state, alive=False))
    assert found.status == JobStatus.FAILED and words in found.reason


@pytest.mark.parametrize("state, last", [("running", "its last state was running"),
                                          (None, "its agent never started")])
def test_a_job_nothing_runs_any_more_vanished(state, last):
    found = verdict(job(), seen(state=state, alive=False))
    assert found.status == JobStatus.FAILED
    assert found.reason == f"job vanished from simulator: nothing runs it any more ({last})"


def test_a_long_reason_from_the_simulator_is_cut_to_its_end():
    found = verdict(job(), seen(state="failed", reason="x" * 5000 + "the end"))
    assert len(found.reason) <= 1000 and found.reason.endswith("the end")


def test_undelivered_outputs_are_handed_a_new_grant():
    found = verdict(job(), seen(state="undelivered", alive=False, reason="simgate did not take the cleanup report",
                                files=[{"name": "out.csv", "size": 1}]))
    assert (found.status, found.deliver) == (JobStatus.CLEANUP, [{"name": "out.csv", "size": 1}])


def test_an_upload_under_way_is_left_alone():
    assert verdict(job(JobStatus.CLEANUP), seen(state="undelivered", alive=True)) is None
