"""The test Slurm cluster, reached over SSH as the manager will reach a site's login node."""

import pytest

from devstack.processes import wait_until
from shared.adapters.ssh import SshSession
from shared.errors import RemoteCommandFailed

pytestmark = pytest.mark.integration


def test_a_batch_job_submitted_over_ssh_runs_and_is_listed_by_name(slurm_sshd, slurm, tmp_path):
    work = tmp_path / "job"
    work.mkdir()
    (work / "run.sh").write_text("#!/bin/sh\necho ran on \"$SLURM_JOB_PARTITION\" > out.txt\n")
    with SshSession(slurm_sshd.spec) as session:
        job_id = session.run(["sbatch", "--parsable", "--job-name=simgate-test", "--comment=simgate:test",
                              f"--chdir={work}", f"--output={work}/slurm.out", "--time=1", "--mem=50M",
                              f"{work}/run.sh"]).stdout.strip()
        assert job_id.isdigit()
        wait_until(lambda: (work / "out.txt").exists(), timeout=60, what="the batch job to run")
    assert (work / "out.txt").read_text() == f"ran on {slurm.partition}\n"


def test_an_invalid_partition_is_refused_by_sbatch(slurm_sshd, tmp_path):
    (tmp_path / "run.sh").write_text("#!/bin/sh\ntrue\n")
    with SshSession(slurm_sshd.spec) as session, pytest.raises(RemoteCommandFailed) as caught:
        session.run(["sbatch", "--parsable", "--partition=no-such-partition", f"{tmp_path}/run.sh"])
    assert "invalid partition" in caught.value.stderr.lower()
