"""The agent's scheduler commands as builder and parser pairs, from strings: the argv each command is
built as, and what each parser makes of what Slurm really prints (requeued jobs listed twice, blank
states, pending reasons, an unreachable controller, jobs Slurm has forgotten). No cluster needed: the
same commands run against a real Slurm in tests/integration."""

from __future__ import annotations

import json
import shlex
from datetime import timedelta, timezone

import pytest

from shared.agent import simgate_agent
from shared.agent.simgate_agent import (
    AGENT_FILE,
    EXIT_TEMPORARY,
    JobDescription,
    JobDirectory,
    JobResources,
    Refused,
    Slurm,
    Temporary,
    agent_argv,
    is_agent_cmdline,
    parse_sbatch,
    parse_sbatch_test,
    parse_scancel,
    parse_squeue_find,
    parse_squeue_load,
    parse_squeue_states,
    sbatch_argv,
    sbatch_test_argv,
    scancel_argv,
    slurm_unavailable,
    squeue_find_argv,
    squeue_load_argv,
    squeue_states_argv,
)

JOB_DIR = "/scratch/simgate jobs/abc"  # a space: the --wrap command must quote it
UNREACHABLE = "slurm_load_jobs error: Unable to contact slurm controller (connect failure)\n"
FORGOTTEN = "slurm_load_jobs error: Invalid job id specified\n"


def description(**resources) -> JobDescription:
    return JobDescription(job_id="abc", token="t", entry_command=("/bin/sh", "run.sh"), scheduler="slurm",
                          python="python3", resources=JobResources(**resources))


# --- the direct scheduler's agent ---


def test_the_agent_runs_its_command_on_its_job_directory_without_site_packages():
    assert agent_argv("/usr/bin/python3", JOB_DIR, "upload") == [
        "/usr/bin/python3", "-S", f"{JOB_DIR}/{AGENT_FILE}", "upload", JOB_DIR]


@pytest.mark.parametrize("cmdline, is_agent", [
    (b"python3\x00-S\x00/home/u/jobs/abc/simgate_agent.py\x00run\x00/home/u/jobs/abc\x00", True),
    (b"/bin/sh\x00run.sh\x00", False),
    (b"", False),  # a zombie's or a kernel thread's
])
def test_an_agent_process_is_known_by_its_command_line(cmdline, is_agent):
    assert is_agent_cmdline(cmdline) is is_agent


# --- sbatch ---


def test_sbatch_submits_the_agent_named_after_the_job_with_the_case_resources():
    argv = sbatch_argv(description(cores=4, memory_mb=2048, wall_time_minutes=90, partition="batch",
                                   account="proj"), JOB_DIR, "python3")
    assert argv[:-1] == [
        "sbatch", "--parsable", "--job-name=simgate-abc", "--comment=simgate job abc", f"--chdir={JOB_DIR}",
        f"--output={JOB_DIR}/agent.log", "--open-mode=append", "--ntasks=1", "--cpus-per-task=4", "--mem=2048M",
        "--time=90", "--partition=batch", "--account=proj"]
    wrapped = argv[-1].removeprefix("--wrap=")
    assert shlex.split(wrapped) == ["exec", *agent_argv("python3", JOB_DIR, "run")]


def test_sbatch_leaves_what_the_case_does_not_ask_for_to_slurm():
    argv = sbatch_argv(description(), JOB_DIR, "python3")
    assert "--cpus-per-task=1" in argv
    assert not [a for a in argv if a.startswith(("--mem", "--time", "--partition", "--account"))]


@pytest.mark.parametrize("stdout, job_id", [
    ("123\n", "123"),
    ("123;cluster-a\n", "123"),  # a federation names the cluster
    ("  4567  \n\n", "4567"),
    ("sbatch: some site banner\n89\n", "89"),
])
def test_sbatch_answers_the_slurm_job_id(stdout, job_id):
    assert parse_sbatch(0, stdout, "sbatch: warning: can't honor --ntasks-per-node set to 1\n") == job_id


@pytest.mark.parametrize("stderr", [
    "sbatch: error: invalid partition specified: nope\n"
    "sbatch: error: Batch job submission failed: Invalid partition name specified\n",
    "sbatch: error: Batch job submission failed: Invalid account or account/partition combination specified\n",
    "sbatch: error: Batch job submission failed: Requested node configuration is not available\n",
])
def test_a_job_slurm_refuses_is_refused_with_slurms_reason(stderr):
    with pytest.raises(Refused) as refused:
        parse_sbatch(1, "", stderr)
    assert str(refused.value) == stderr.strip()


@pytest.mark.parametrize("stderr", [
    "sbatch: error: Batch job submission failed: Unable to contact slurm controller (connect failure)\n",
    "sbatch: error: Batch job submission failed: Socket timed out on send/recv operation\n",
    "sbatch: error: slurm_persist_conn_open_without_init: failed to open persistent connection\n",
    "sbatch: error: Batch job submission failed: Zero Bytes were transmitted or received\n",
])
def test_a_controller_that_cannot_be_reached_is_temporary(stderr):
    with pytest.raises(Temporary):
        parse_sbatch(1, "", stderr)


def test_an_sbatch_that_succeeds_without_a_job_id_is_temporary_not_a_failed_job():
    with pytest.raises(Temporary, match="no job id"):
        parse_sbatch(0, "\n", "")


def test_a_failed_sbatch_without_words_says_its_exit_status():
    with pytest.raises(Refused, match="sbatch exited with 1"):
        parse_sbatch(1, "", "  \n")


# --- squeue: a job by name ---


def test_squeue_finds_a_job_by_its_name_in_every_state():
    assert squeue_find_argv("abc") == ["squeue", "-h", "-t", "all", "--name=simgate-abc", "-o", "%i|%T"]


@pytest.mark.parametrize("stdout, found", [
    ("123|RUNNING\n", "123"),
    ("123|PENDING\n\n  \n", "123"),
    ("122|CANCELLED\n123|PENDING\n", "123"),  # a live entry before an ended one
    ("123|REQUEUED\n123|COMPLETED\n", "123"),
    ("123|\n", "123"),  # a blank state still names the job
    ("", None),
    ("\n\n", None),
])
def test_squeue_finds_the_job_that_runs_the_job(stdout, found):
    assert parse_squeue_find(0, stdout, "") == found


def test_a_job_slurm_has_forgotten_is_not_found():
    assert parse_squeue_find(1, "", FORGOTTEN) is None


@pytest.mark.parametrize("stderr", [UNREACHABLE, "slurm_load_jobs error: Socket timed out on send/recv operation\n"])
def test_an_unreachable_controller_finds_nothing_and_says_so(stderr):
    with pytest.raises(Temporary, match="squeue failed"):
        parse_squeue_find(1, "", stderr)


# --- squeue: the state of many jobs at once ---


def test_one_squeue_asks_about_every_job_by_name():
    assert squeue_states_argv(["a", "b"]) == [
        "squeue", "-h", "-t", "all", "--name=simgate-a,simgate-b", "-o", "%j|%T"]


def test_squeue_states_are_read_per_job():
    stdout = "simgate-a|RUNNING\nsimgate-b|COMPLETED  \nsimgate-c|TIMEOUT\n"
    assert parse_squeue_states(["a", "b", "c", "d"], 0, stdout, "") == {
        "a": "RUNNING", "b": "COMPLETED", "c": "TIMEOUT"}


@pytest.mark.parametrize("stdout, state", [
    ("simgate-a|COMPLETED\nsimgate-a|PENDING\n", "PENDING"),  # requeued: listed twice, the live entry wins
    ("simgate-a|PENDING\nsimgate-a|COMPLETED\n", "PENDING"),
    ("simgate-a|NODE_FAIL\nsimgate-a|\n", "NODE_FAIL"),  # a blank entry hides nothing
    ("simgate-a|\n", None),
    ("simgate-a|   \n", None),
    ("simgate-a|PENDING (Resources)\n", "PENDING"),  # a pending reason after the state
    ("simgate-a|PENDING|Priority\n", "PENDING"),
    ("simgate-a|pending\n", "PENDING"),
    ("\nsimgate-a|RUNNING   \n\n\n", "RUNNING"),
])
def test_squeue_states_of_a_job_listed_oddly(stdout, state):
    assert parse_squeue_states(["a"], 0, stdout, "") == {"a": state}


def test_jobs_squeue_lists_but_nobody_asked_about_are_left_out():
    stdout = "simgate-other|RUNNING\nsomeone-elses|RUNNING\nsimgate-a|RUNNING\n"
    assert parse_squeue_states(["a"], 0, stdout, "") == {"a": "RUNNING"}


def test_jobs_slurm_has_forgotten_have_no_state():
    assert parse_squeue_states(["a"], 1, "", FORGOTTEN) == {}


@pytest.mark.parametrize("stderr", [UNREACHABLE, "slurm_load_jobs error: Unable to contact slurm controller\n", ""])
def test_states_from_an_unreachable_controller_are_temporary_not_a_verdict(stderr):
    with pytest.raises(Temporary):
        parse_squeue_states(["a"], 1, "", stderr)


# --- squeue: the load; scancel ---


def test_the_load_is_simgates_jobs_among_the_users_queued_and_running_ones():
    assert squeue_load_argv() == ["squeue", "-h", "--me", "-o", "%j"]
    assert parse_squeue_load(0, "simgate-a\nsimgate-b  \nmy-own-job\n\nsimgate-c\n", "") == 3
    assert parse_squeue_load(0, "", "") == 0
    with pytest.raises(Temporary):
        parse_squeue_load(1, "", UNREACHABLE)


def test_scancel_by_slurm_job_id_or_else_by_name():
    assert scancel_argv("abc", "123") == ["scancel", "123"]
    assert scancel_argv("abc", None) == ["scancel", "--name=simgate-abc"]


@pytest.mark.parametrize("returncode, stderr, stopped", [
    (0, "", True),
    (1, "scancel: error: Kill job error on job id 123: Invalid job id specified\n", False),
    (0, "scancel: error: Kill job error on job id 123: Job/step already completing or completed\n", False),
])
def test_scancel_says_whether_there_was_anything_to_stop(returncode, stderr, stopped):
    assert parse_scancel(returncode, "", stderr) is stopped


def test_a_scancel_that_cannot_reach_the_controller_is_temporary():
    with pytest.raises(Temporary, match="scancel failed"):
        parse_scancel(1, "", "scancel: error: Unable to contact slurm controller (connect failure)\n")


@pytest.mark.parametrize("message, unavailable", [
    ("Unable to contact slurm controller (connect failure)", True),
    ("Socket timed out on send/recv operation", True),
    ("Resource temporarily unavailable", True),
    ("Invalid partition name specified", False),
    ("Invalid job id specified", False),
])
def test_which_messages_mean_the_controller_is_unreachable(message, unavailable):
    assert slurm_unavailable(message) is unavailable


# --- the Slurm scheduler: runs the built argv, hands the output to the parser ---


class FakeSlurm:
    """Slurm's client commands as the agent runs them: records each argv, answers from a script."""

    def __init__(self, monkeypatch, **answers: tuple[int, str, str]) -> None:
        self.ran: list[list[str]] = []
        self.answers = answers
        monkeypatch.setattr(simgate_agent, "run_command", self.run)

    def run(self, argv: list, timeout: float = 60) -> tuple:
        self.ran.append(argv)
        return self.answers[argv[0]]


def test_slurm_submits_with_the_built_argv_and_answers_the_parsed_id(monkeypatch, tmp_path):
    slurm = FakeSlurm(monkeypatch, sbatch=(0, "321;main\n", ""))
    job, directory = description(cores=2), JobDirectory(str(tmp_path / "abc"))
    assert Slurm().submit(job, directory) == "321"
    assert slurm.ran == [sbatch_argv(job, directory.path, "python3")]


def test_slurm_finds_a_job_squeue_has_forgotten_in_the_agents_state(monkeypatch, tmp_path):
    FakeSlurm(monkeypatch, squeue=(0, "", ""))
    directory = JobDirectory(str(tmp_path / "abc"))
    (tmp_path / "abc").mkdir()
    assert Slurm().find(description(), directory) is None
    (tmp_path / "abc" / "state.json").write_text(json.dumps({"status": "done", "scheduler_job_id": "77"}))
    assert Slurm().find(description(), directory) == "77"


def test_slurm_asks_nothing_about_no_jobs(monkeypatch):
    slurm = FakeSlurm(monkeypatch)
    assert Slurm().states([]) == {}
    assert slurm.ran == []


def test_the_status_command_is_temporary_while_the_controller_is_unreachable(monkeypatch, tmp_path, capsys):
    FakeSlurm(monkeypatch, squeue=(1, "", UNREACHABLE))
    (tmp_path / "abc").mkdir()
    (tmp_path / "abc" / "submission.json").write_text(json.dumps({"scheduler": "slurm", "scheduler_job_id": "1"}))
    assert simgate_agent.main(["status", str(tmp_path), "abc"]) == EXIT_TEMPORARY
    answer = json.loads(capsys.readouterr().out)
    assert answer["permanent"] is False and "Unable to contact slurm controller" in answer["error"]


def test_the_status_command_reports_each_slurm_jobs_state_and_whether_it_is_alive(monkeypatch, tmp_path, capsys):
    FakeSlurm(monkeypatch, squeue=(0, "simgate-a|PENDING\nsimgate-b|OUT_OF_MEMORY\n", ""))
    for job_id in ("a", "b", "c"):
        (tmp_path / job_id).mkdir()
        (tmp_path / job_id / "submission.json").write_text(json.dumps({"scheduler": "slurm"}))
    assert simgate_agent.main(["status", str(tmp_path), "a", "b", "c"]) == 0
    jobs = json.loads(capsys.readouterr().out)["jobs"]
    assert {job_id: (seen["scheduler_state"], seen["alive"]) for job_id, seen in jobs.items()} == {
        "a": ("PENDING", True), "b": ("OUT_OF_MEMORY", False), "c": (None, False)}


def test_sbatch_test_only_asks_with_the_runs_resources_and_its_start_is_read_in_utc():
    resources = JobResources(cores=4, memory_mb=512, wall_time_minutes=30, partition="debug", account="proj")
    assert sbatch_test_argv(resources) == ["sbatch", "--test-only", "--ntasks=1", "--cpus-per-task=4", "--mem=512M",
                                           "--time=30", "--partition=debug", "--account=proj", "--wrap=true"]
    said = "sbatch: Job 4242 to start at 2026-12-07T10:15:00 using 4 processors on nodes n1 in partition debug\n"
    assert parse_sbatch_test(0, "", said, zone=timezone(timedelta(hours=1))) == "2026-12-07T09:15:00+00:00"
    assert parse_sbatch_test(0, "", "sbatch: nothing to say\n") is None
    with pytest.raises(Refused):
        parse_sbatch_test(1, "", "sbatch: error: invalid partition specified: nope")
    with pytest.raises(Temporary):
        parse_sbatch_test(1, "", UNREACHABLE)
