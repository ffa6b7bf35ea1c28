"""How the SSH gateway reads the agent's answers: exit statuses become simgate's errors."""

import pytest

from shared.adapters.simulators import _answer, job_directory
from shared.adapters.ssh import CommandResult
from shared.config import SimulatorSpec
from shared.errors import RemoteCommandFailed, SchedulerUnavailable, SimulatorError, SubmissionRejected

SPEC = SimulatorSpec(name="hpc", host="hpc.example", user="sim", host_key="ssh-ed25519 AAAAC3Nza",
                     private_key_path="/keys/id", workdir="/scratch/simgate/")


def test_a_successful_answer_is_its_json():
    assert _answer(SPEC, CommandResult(0, 'noise\n{"stopped": true}\n', ""), "cancelling") == {"stopped": True}


@pytest.mark.parametrize("status, stdout, error, retryable", [
    (2, '{"error": "sbatch: error: invalid partition specified: nope", "permanent": true}', SubmissionRejected, False),
    (75, '{"error": "Unable to contact slurm controller", "permanent": false}', SchedulerUnavailable, True),
    (127, "", SimulatorError, False),
    (1, "", RemoteCommandFailed, False),
])
def test_exit_statuses_become_typed_errors(status, stdout, error, retryable):
    with pytest.raises(error) as caught:
        _answer(SPEC, CommandResult(status, stdout, "Traceback ... boom"), "submitting")
    assert caught.value.retryable is retryable and "hpc" in caught.value.detail


def test_the_job_directory_is_under_the_workdir_and_only_for_job_ids():
    assert job_directory(SPEC, "5f2c9a0e11b7-8230312345678-3fa9c2d1") == "/scratch/simgate/5f2c9a0e11b7-8230312345678-3fa9c2d1"
    with pytest.raises(ValueError):
        job_directory(SPEC, "../../etc")
