"""The CLI's parts on their own: settings and the choice of sign-in, --set values, retries, downloads,
following a job, rendering. Fakes only: no network, no Azure."""

from __future__ import annotations

import hashlib
import io
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from azure.core.exceptions import ClientAuthenticationError
from rich.console import Console

from cli import auth, follow, settings
from cli.client import Api, Seen, connection_problem, trust
from cli.download import Downloads, target_in
from cli.errors import CannotConnect, CliError, JobEnded, SignInFailed, UsageProblem
from cli.fields import convert, parse_assignments
from cli.render import ago, size, span, until
from shared.api.models import FieldInfo, JobStatusInfo, OutputInfo, OutputLink
from shared.domain.jobs import JobStatus


def local(**options) -> settings.Settings:
    return settings.resolve(**options, environ={"SIMGATE_USER": "alice"})


# --- settings and sign-in ---


@pytest.mark.parametrize("typed, root", [
    ("http://localhost:7071", "http://localhost:7071/api"),
    ("http://localhost:7071/api/", "http://localhost:7071/api"),
    ("localhost:7071", "http://localhost:7071/api"),
    ("127.0.0.1:7071/api", "http://127.0.0.1:7071/api"),
    ("simgate.example.org", "https://simgate.example.org/api"),
    ("https://proxy.example.org/simgate/", "https://proxy.example.org/simgate/api"),
])
def test_the_api_root_from_what_people_type(typed, root):
    assert settings.api_root(typed) == root


@pytest.mark.parametrize("typed", ["", "ftp://host", "https://"])
def test_urls_that_are_no_api(typed):
    with pytest.raises(UsageProblem):
        settings.api_root(typed)


def test_local_urls_use_the_development_header_and_others_a_token():
    assert settings.resolve(environ={}).url == "http://localhost:7071/api"
    assert local(url="http://[::1]:7071").auth == "dev"
    remote = settings.resolve(url="https://simgate.example.org", environ={"SIMGATE_CLIENT_ID": "abc"})
    assert (remote.auth, remote.scope) == ("azure", "api://abc/.default")
    assert settings.resolve(url="https://simgate.example.org", environ={"SIMGATE_AUTH": "dev"}).auth == "dev"
    assert local(auth="azure").auth == "azure"
    with pytest.raises(UsageProblem, match="sign-in mode"):
        local(auth="kerberos")


def test_the_ca_bundle_option_the_variable_and_the_local_default(tmp_path, monkeypatch):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("pem")
    assert local(ca_bundle=bundle).ca_bundle == bundle
    assert settings.resolve(environ={"SIMGATE_CA_BUNDLE": str(bundle)}).ca_bundle == bundle
    monkeypatch.setattr(settings, "LOCAL_CA_BUNDLE", bundle)
    assert local().ca_bundle == bundle
    assert settings.resolve(url="https://x.example.org", environ={}).ca_bundle is None
    with pytest.raises(UsageProblem, match="does not exist"):
        local(ca_bundle=tmp_path / "missing.pem")


class FakeCredential:
    def __init__(self, fail: Exception | None = None) -> None:
        self.calls: list[str] = []
        self.fail = fail

    def get_token(self, *scopes: str, **kwargs):
        from azure.core.credentials import AccessToken

        if self.fail:
            raise self.fail
        self.calls.extend(scopes)
        return AccessToken(f"token-{len(self.calls)}", int(datetime.now().timestamp()) + 3600)


def headers_sent(auth_: httpx.Auth) -> httpx.Headers:
    seen = []
    transport = httpx.MockTransport(lambda request: seen.append(request.headers) or httpx.Response(200, json=[]))
    with httpx.Client(auth=auth_, transport=transport) as http:
        http.get("https://simgate.example.org/api/case")
        http.get("https://simgate.example.org/api/case")
    return seen[-1]


def test_development_sign_in_sends_user_and_roles():
    sent = headers_sent(auth.choose_auth(local(user="bob", roles="simgate.admin")))
    assert (sent["X-Simgate-User"], sent["X-Simgate-Roles"]) == ("bob", "simgate.admin")
    assert "Authorization" not in sent


def test_azure_sign_in_sends_a_bearer_token_fetched_once():
    credential = FakeCredential()
    chosen = auth.choose_auth(settings.resolve(url="https://simgate.example.org", environ={"SIMGATE_CLIENT_ID": "abc"}),
                              credential=lambda _: credential)
    sent = headers_sent(chosen)
    assert sent["Authorization"] == "Bearer token-1" and "X-Simgate-User" not in sent
    assert credential.calls == ["api://abc/.default"]


def test_azure_sign_in_without_a_client_id_says_what_to_set():
    with pytest.raises(UsageProblem, match="SIMGATE_CLIENT_ID"):
        auth.choose_auth(settings.resolve(url="https://simgate.example.org", environ={}), credential=FakeCredential)


def test_a_failed_sign_in_is_exit_6_with_each_attempt():
    failure = ClientAuthenticationError(
        "ChainedTokenCredential failed to retrieve a token from the included credentials.\nAttempted credentials:\n"
        "\tAzureCliCredential: Please run 'az login' to set up an account\n\tDeviceCodeSignIn: timed out\n")
    chosen = auth.BearerToken(FakeCredential(failure), "api://abc/.default")
    with pytest.raises(SignInFailed) as caught:
        chosen.token()
    assert caught.value.exit_code == 6
    assert caught.value.details[:2] == ["Azure CLI: Please run 'az login' to set up an account",
                                        "device-code sign-in: timed out"]


def test_the_device_code_sign_in_is_remembered(tmp_path, monkeypatch):
    import azure.identity

    class FakeDeviceCode:
        made: list[dict] = []

        def __init__(self, **options):
            self.made.append(options)

        def authenticate(self, scopes):
            return azure.identity.AuthenticationRecord("tenant", "client", "login.example", "home", "alice")

        def get_token(self, *scopes, **kwargs):
            return "token"

    monkeypatch.setattr(azure.identity, "DeviceCodeCredential", FakeDeviceCode)
    record = tmp_path / "record.json"
    assert auth.DeviceCodeSignIn(None, None, record).get_token("scope") == "token"
    assert record.stat().st_mode & 0o777 == 0o600
    auth.DeviceCodeSignIn(None, None, record)
    assert FakeDeviceCode.made[1]["authentication_record"].username == "alice"
    assert FakeDeviceCode.made[0]["prompt_callback"] is not None


# --- --set values ---


FIELDS = [FieldInfo(name="speed_rpm", label="Speed", type="integer", min=1000, max=20000, unit="rpm"),
          FieldInfo(name="viscosity", label="Viscosity", type="number", min=0.01, max=20),
          FieldInfo(name="ice", label="Ice", type="boolean"),
          FieldInfo(name="fruit", label="Fruit", type="choice", choices=["mango", "kale"]),
          FieldInfo(name="label", label="Label", type="string", max_length=5, required=False)]


def test_values_are_converted_by_their_fields_type():
    texts = {"speed_rpm": "6000", "viscosity": "0.5", "ice": "Yes", "fruit": "kale", "label": "12"}
    assert convert(FIELDS, texts) == {"speed_rpm": 6000, "viscosity": 0.5, "ice": True, "fruit": "kale", "label": "12"}
    assert convert(FIELDS, {"speed_rpm": "6e3", "viscosity": "2", "ice": "off", "label": ""}) == {
        "speed_rpm": 6000, "viscosity": 2.0, "ice": False, "label": ""}


@pytest.mark.parametrize("name, text, message", [
    ("speed_rpm", "fast", "must be a number, not 'fast'"),
    ("speed_rpm", "6000.5", "must be a whole number, not 6000.5"),
    ("speed_rpm", "40000", "must be at most 20000 rpm, not 40000"),
    ("viscosity", "nan", "must be a finite number"),
    ("ice", "perhaps", "must be true or false, not 'perhaps'"),
    ("fruit", "apple", "must be one of mango, kale, not 'apple'"),
    ("label", "toolong", "must be at most 5 characters, not 7"),
    ("speed_rpm", "", "a value is required"),
    ("colour", "red", "the case has no field of this name (its fields: speed_rpm, viscosity, ice, fruit, label)"),
])
def test_a_bad_value_is_reported_by_its_field(name, text, message):
    with pytest.raises(UsageProblem) as caught:
        convert(FIELDS, {name: text})
    assert caught.value.details == [f"{name}: {message}"]


def test_assignments_split_at_the_first_equals_sign():
    assert parse_assignments(["label=a=b", " speed_rpm =6000"]) == {"label": "a=b", "speed_rpm": "6000"}
    with pytest.raises(UsageProblem) as caught:
        parse_assignments(["speed_rpm", "=1", "x=1", "x=2"])
    assert len(caught.value.details) == 3


# --- the client's retries ---


def api_with(handler, sleeps: list[float] | None = None) -> Api:
    return Api(local(), auth.DevHeaders("alice"), transport=httpx.MockTransport(handler),
               sleep=(sleeps if sleeps is not None else []).append)


def test_a_busy_api_is_asked_again_for_reads_only():
    answers = iter([httpx.Response(503, headers={"Retry-After": "2"}), httpx.Response(503), httpx.Response(200, json=[])])
    sleeps: list[float] = []
    assert api_with(lambda request: next(answers), sleeps).outputs("job").__len__() == 0
    assert sleeps == [2.0, 1.0]

    posts = []
    busy = {"type": "urn:simgate:problem:service-unavailable", "title": "Service unavailable", "status": 503,
            "detail": "storage is busy"}
    api = api_with(lambda request: posts.append(request) or httpx.Response(
        503, json=busy, headers={"Content-Type": "application/problem+json"}))
    with pytest.raises(CliError, match="service unavailable: storage is busy"):
        api.run("job")
    assert len(posts) == 1


def test_a_timeout_is_cannot_connect():
    def slow(request):
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(CannotConnect, match="did not answer in time") as caught:
        api_with(slow).case("smoothie")
    assert caught.value.exit_code == 3


def test_an_answer_this_client_cannot_read_is_said_so():
    with pytest.raises(CliError, match="does not understand"):
        api_with(lambda request: httpx.Response(200, json={"job_id": 1})).job("x")


def test_an_extra_ca_bundle_is_trusted_besides_the_system_store(tmp_path):
    from devstack.keys import ensure_tls_certificate

    bundle = ensure_tls_certificate(tmp_path).cert
    subjects = [dict(pair[0] for pair in c["subject"]).get("commonName") for c in trust(bundle).get_ca_certs()]
    assert "simgate local Azurite" in subjects and len(subjects) > 1


def test_an_untrusted_certificate_says_how_to_trust_it():
    error = httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate")
    problem = connection_problem(error, "https://127.0.0.1:10000/devstoreaccount1/job-outputs/x")
    assert problem.exit_code == 3 and "SIMGATE_CA_BUNDLE" in problem.details[0]


# --- downloads ---


CONTENT = b"time_s,rpm\n0,6000\n" * 100


def output(**changes) -> OutputInfo:
    values = {"output_id": "csv1", "name": "results/homogeneity.csv", "size": len(CONTENT), "content_type": "text/csv",
              "md5": hashlib.md5(CONTENT).hexdigest(), **changes}
    return OutputInfo(**values)


LINK = OutputLink(url="https://blob.example/outputs/job/results/homogeneity.csv?sig=secret",
                  expires_at=datetime.now(timezone.utc) + timedelta(minutes=15))


def download(tmp_path: Path, answer: httpx.Response, info: OutputInfo | None = None) -> Path:
    sent = []
    storage = httpx.Client(transport=httpx.MockTransport(lambda request: sent.append(request) or answer))
    with Downloads(storage, Console(file=io.StringIO())) as downloads:
        target = downloads.to_file(info or output(), LINK, tmp_path / "out" / "homogeneity.csv")
    assert "Authorization" not in sent[0].headers and "X-Simgate-User" not in sent[0].headers
    return target


def test_a_download_writes_the_bytes_and_nothing_else(tmp_path):
    target = download(tmp_path, httpx.Response(200, content=CONTENT))
    assert target.read_bytes() == CONTENT
    assert [p.name for p in target.parent.iterdir()] == ["homogeneity.csv"]


@pytest.mark.parametrize("answer, info, message", [
    (httpx.Response(200, content=CONTENT[:-5]), None, "received 1795 bytes, not 1800"),
    (httpx.Response(200, content=CONTENT), output(md5="0" * 32), "the MD5 of what arrived differs"),
    (httpx.Response(403, text="<Error><Code>AuthenticationFailed</Code></Error>"), None,
     "storage answered 403 AuthenticationFailed"),
])
def test_a_damaged_or_refused_download_leaves_no_file(tmp_path, answer, info, message):
    with pytest.raises(CliError, match=message) as caught:
        download(tmp_path, answer, info)
    assert "secret" not in caught.value.message
    assert list((tmp_path / "out").iterdir()) == []


def test_outputs_stay_inside_their_folder(tmp_path):
    assert target_in(tmp_path, output(name="results/a.csv")) == tmp_path / "results" / "a.csv"
    with pytest.raises(CliError, match="outside"):
        target_in(tmp_path, output(name="../../etc/passwd"))


# --- following a job ---


class StatusSequence:
    """An API whose job goes through these statuses, one a long poll (None: nothing changed, a 304)."""

    def __init__(self, *statuses: str | None, error: str | None = None) -> None:
        self.statuses = list(statuses)
        self.asked: list[tuple[float, str | None]] = []
        self.error = error

    def watch(self, job_id, seen=None, wait=0) -> Seen:
        self.asked.append((wait, seen and seen.etag))
        status = self.statuses.pop(0)
        if status is None:
            return seen
        info = JobStatusInfo(job_id=job_id, status=status, uws_status="X", updated_at=datetime.now(timezone.utc),
                             detail=f"now {status}", progress=0.5 if status == "running" else None,
                             cancel_requested=False)
        return Seen(info, f'"{len(self.asked)}"')

    def job(self, job_id):
        class Details:
            error = self.error
        return Details()


def test_following_long_polls_until_the_job_finishes(tmp_path):
    api = StatusSequence("queued", "running", None, "done")
    printed = tmp_path / "lines"
    with printed.open("w") as file:
        final = follow.follow(api, "job-1", Console(file=file, width=200))
    assert final.status == JobStatus.DONE
    assert api.asked == [(0, None), (follow.WAIT_SECONDS, '"1"'), (follow.WAIT_SECONDS, '"2"'),
                         (follow.WAIT_SECONDS, '"2"')]
    assert printed.read_text().splitlines() == ["job-1  queued  now queued", "job-1  running 50%  now running",
                                                "job-1  done  now done"]


def test_following_on_a_terminal_is_one_line_with_a_progress_bar():
    screen = io.StringIO()
    follow.follow(StatusSequence("running", "done"), "job-1", Console(file=screen, width=120, force_terminal=True,
                                                                      color_system=None))
    frames = screen.getvalue().split("\r\x1b[2K")  # each drawn over the one before
    assert any("job-1 running" in frame and "50%" in frame and "now running" in frame for frame in frames)
    assert "✔ job-1 done" in frames[-1] and "100%" in frames[-1] and "now done" in frames[-1]


class WaitingInLine(StatusSequence):
    """A job that waits in line, its detail saying why and its place, then is done."""

    def __init__(self, *details: str) -> None:
        super().__init__(*["submitted"] * len(details), "done")
        self.details = [*details, ""]

    def watch(self, job_id, seen=None, wait=0) -> Seen:
        answer = super().watch(job_id, seen, wait)
        return Seen(answer.info.model_copy(update={"detail": self.details.pop(0)}), answer.etag)


def drawn(screen: io.StringIO) -> list[list[str]]:
    """Each frame a live display drew, as its lines without control sequences or trailing blanks."""
    frames = screen.getvalue().split("\r\x1b[2K")
    return [[line.rstrip() for line in re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", frame).splitlines()] for frame in frames]


def test_following_on_a_narrow_terminal_shows_a_waiting_jobs_whole_reason_beneath_its_line():
    job_id = "5f2c9a0e11b7-8230312345678-3fa9c2d1"
    screen = io.StringIO()
    follow.follow(WaitingInLine("waiting for a slot on local (4/4 in use, 3rd in line)",
                                "waiting for a slot on local (4/4 in use, 2nd in line)"),
                  job_id, Console(file=screen, width=80, force_terminal=True, color_system=None))
    frames = drawn(screen)
    assert all(len(line) <= 80 for frame in frames for line in frame)
    assert [frame[0].split()[1:3] for frame in frames[:2]] == [[job_id, "submitted"]] * 2
    assert [frame[1] for frame in frames[:2]] == ["  waiting for a slot on local (4/4 in use, 3rd in line)",
                                                  "  waiting for a slot on local (4/4 in use, 2nd in line)"]
    assert frames[-1][0].startswith(f"✔ {job_id} done ") and len(frames[-1]) == 1


def test_following_a_job_that_fails_or_is_cancelled():
    quiet = Console(file=io.StringIO())
    with pytest.raises(JobEnded, match="job-1 failed: exit code 3") as failed:
        follow.follow(StatusSequence("running", "failed", error="exit code 3"), "job-1", quiet)
    with pytest.raises(JobEnded, match="was cancelled: now cancelled") as cancelled:
        follow.follow(StatusSequence("cancelled"), "job-1", quiet)
    assert (failed.value.exit_code, cancelled.value.exit_code) == (4, 5)
    assert follow.follow(StatusSequence("cancelled"), "job-1", quiet, any_end=True).status == JobStatus.CANCELLED


def test_a_status_long_poll_names_the_answer_it_has_and_keeps_it_on_304():
    sent = []
    body = {"job_id": "j", "status": "running", "uws_status": "EXECUTING", "updated_at": "2026-11-23T12:00:00Z",
            "detail": "step 3", "progress": 0.3, "cancel_requested": False}
    answers = iter([httpx.Response(200, json=body, headers={"ETag": 'W/"one"'}),
                    httpx.Response(304, headers={"ETag": 'W/"one"'})])
    api = api_with(lambda request: sent.append(request) or next(answers))
    first = api.watch("j")
    assert (first.info.progress, first.etag) == (0.3, 'W/"one"')
    assert api.watch("j", first, wait=25) is first
    assert "If-None-Match" not in sent[0].headers and sent[1].headers["If-None-Match"] == 'W/"one"'
    assert dict(sent[1].url.params) == {"wait": "25"}


def test_a_log_piece_is_asked_by_stream_offset_and_wait():
    sent = []
    answer = {"stream": "stderr", "offset": 10, "next_offset": 13, "text": "ok\n", "complete": False,
              "truncated_before": 0}
    api = api_with(lambda request: sent.append(request) or httpx.Response(200, json=answer))
    assert api.log("j", "stderr", 10, wait=25).text == "ok\n"
    assert dict(sent[0].url.params) == {"stream": "stderr", "offset": "10", "wait": "25"}
    api.log("j")
    assert dict(sent[1].url.params) == {"stream": "stdout", "offset": "0"}
    with pytest.raises(UsageProblem):
        api.log("j", "series")


# --- rendering ---


def test_times_and_sizes_for_people():
    now = datetime(2026, 11, 23, 12, tzinfo=timezone.utc)
    assert [ago(now - timedelta(seconds=s), now) for s in (5, 300, 7200, 172800)] == [
        "5 s ago", "5 min ago", "2 h ago", "2 d ago"]
    assert ago(now - timedelta(days=40), now) == "2026-10-14"
    assert [size(n) for n in (0, 999, 4304, 12_500_000)] == ["0 B", "999 B", "4.3 kB", "12.5 MB"]


def test_estimated_starts_and_durations_for_people():
    now = datetime(2026, 11, 23, 12, tzinfo=timezone.utc)
    assert until(None, now) == "unknown"
    assert [until(now + timedelta(seconds=s), now) for s in (-30, 0, 0.5, 45, 750, 3 * 3600 + 300, 2 * 86400)] == [
        "now", "now", "now", "in 45 s", "in 12 min", "in 3 h 5 min", "in 2 d"]
    assert [span(s) for s in (0, 59.6, 130, 3600, 90000)] == ["0 s", "1 min", "2 min", "1 h", "1 d 1 h"]
