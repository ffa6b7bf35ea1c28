import json

from commands.local_settings import apply_values, read_local_settings
from devstack import PROJECT_ROOT
from shared.config import Settings, setting_names

# Read by the Functions platform itself (Core Tools, the host), not by simgate's code.
PLATFORM_SETTINGS = {"FUNCTIONS_WORKER_RUNTIME", "AzureWebJobsStorage"}


def test_the_sample_lists_exactly_the_settings_the_code_reads():
    values = read_local_settings(PROJECT_ROOT / "local.settings.sample.json")["Values"]
    assert set(values) - PLATFORM_SETTINGS == setting_names(set_by_platform=False)


def test_the_sample_is_a_valid_configuration():
    values = read_local_settings(PROJECT_ROOT / "local.settings.sample.json")["Values"]
    settings = Settings.from_environ(values)
    assert settings.auth_dev_mode and settings.storage_credential.value == "azurite"
    assert [(s.name, s.scheduler) for s in settings.simulators] == [("local", "direct"), ("local-slurm", "slurm")]
    assert settings.agent_callback_url == "http://127.0.0.1:7071/api"


def test_environment_variables_win_over_local_settings(tmp_path):
    path = tmp_path / "local.settings.json"
    path.write_text(json.dumps({"IsEncrypted": False, "Values": {"JOBS_QUEUE": "from-file", "CASES_TABLE": "cases"}}))
    environ = {"JOBS_QUEUE": "from-env"}
    apply_values(read_local_settings(path), environ)
    assert environ == {"JOBS_QUEUE": "from-env", "CASES_TABLE": "cases"}
