"""The notifications' commands against the real endpoints on an App of fakes (their requests routed in
process to functions/notifications.py, the notifier driven by hand): subscribing prints the secret
once, what the API refuses is said clearly, the subscriptions and delivery tables, test pings waited
for, redeliveries, rotations, pauses, and --json for scripts."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import azure.functions as func
import httpx
import pytest

from cli import client, notifications
from devstack.routes import compile_route
from functions import notifications as endpoints
from shared.api.models import DeliveryAttempt, PingQueued, SubscriptionInfo, SubscriptionSecret
from shared.domain.addresses import DeliveryResult
from shared.domain.jobs import Job, JobStatus, Transition, new_job_id
from shared.wiring import installed
from tests.fakes import FakeWorld, fake_app
from tests.unit.test_cli import simgate

HOOK = "https://hooks.example.org/simgate"
SUBSCRIPTION = re.compile(r"wh-[0-9a-f]{12}-[0-9]{13}-[0-9a-f]{8}")
SECRET = re.compile(r"whsec_[A-Za-z0-9+/=]{32}")
SERVER_ERROR = DeliveryResult(status=500, latency_ms=12.5, error_class="http_status", error="HTTP 500")


class Served:
    """The notifications endpoints behind an httpx transport, as the local host serves them; with
    ``notifier_running``, every queued notifications message that is due is handled before each request
    (as the queue's trigger would, between the CLI's reads)."""

    def __init__(self, world: FakeWorld) -> None:
        self.world = world
        self.notifier_running = False
        self.routes = [(compile_route(r.template), r.methods, getattr(endpoints, r.function_name))
                       for r in endpoints.bp.routes]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.notifier_running:
            pump(self.world)
        path = request.url.path.removeprefix("/api/")
        for pattern, methods, function in self.routes:
            found = pattern.match(path)
            if found and request.method in methods:
                answer = function(func.HttpRequest(request.method, str(request.url), headers=dict(request.headers),
                                                   params=dict(request.url.params), route_params=found.groupdict(),
                                                   body=request.content))
                headers = {"Content-Type": answer.mimetype, **dict(answer.headers.items())}
                return httpx.Response(answer.status_code, headers=headers, content=answer.get_body() or b"")
        return httpx.Response(404, text=f"no route for {request.method} {request.url.path} in this test")


def pump(world: FakeWorld) -> int:
    """Hand each queued notifications message that is due to the notifier (a retry scheduled for later
    stays queued: the clock does not move here); how many were handled."""
    handled = 0
    while True:
        now = world.clock.now()
        due = [m for m in world.notify_queue.sent if (world.notify_queue.not_before.get(m.message_id) or now) <= now]
        if not due:
            return handled
        world.notify_queue.sent.remove(due[0])
        world.app.notifier.handle(due[0].body())
        handled += 1


@pytest.fixture
def served(monkeypatch):
    world = fake_app(AUTH_DEV_MODE="true")
    world.clock.current = datetime.now(timezone.utc)  # tables say "in 5 s" and "2 s ago" against the real now
    serve = Served(world)
    monkeypatch.setattr(client, "api_transport", lambda settings: httpx.MockTransport(serve))
    for name in ("SIMGATE_URL", "SIMGATE_AUTH", "SIMGATE_ROLES", "SIMGATE_CA_BUNDLE", "SIMGATE_CLIENT_ID",
                 "SIMGATE_SCOPE", "COLUMNS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SIMGATE_USER", "alice")
    monkeypatch.setattr(notifications, "POLL_SECONDS", 0)
    with installed(world.app):
        yield serve


@pytest.fixture
def world(served) -> FakeWorld:
    return served.world


def subscribed(*options: str, url: str = HOOK) -> str:
    made = simgate("subscribe", url, *options)
    assert made.exit_code == 0, made.output
    return SUBSCRIPTION.search(made.stdout).group(0)


def cells(line: str) -> list[str]:
    return re.split(r" {2,}", line.strip())


def rows(text: str, header: str) -> list[list[str]]:
    """The rows of the table whose header line starts with ``header``, as cells, up to a blank line."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    table = []
    for line in lines[start + 1:]:
        if not line.strip():
            break
        table.append(cells(line))
    return table


# --- subscribing ---


def test_subscribe_prints_the_id_and_the_secret_once_on_stdout(world):
    made = simgate("subscribe", HOOK, "--events", "job.finished,job.status_changed", "--events", "sweep.finished",
                   "--case", "smoothie", "--description", "the CI")
    assert made.exit_code == 0, made.output
    (stored, _), = world.notifications.subscriptions.values()
    lines = made.stdout.splitlines()
    assert lines[:5] == [f"subscription  {stored.subscription_id}", f"url           {HOOK}",
                         "events        job.finished, job.status_changed, sweep.finished",
                         "only          case smoothie", f"secret        {stored.secrets[0].secret}"]
    assert "keep this secret: it is shown only now" in made.stdout
    assert made.stderr == f"send it a test event with: simgate subscription-test {stored.subscription_id} --wait\n"
    assert (stored.events, stored.case_id, stored.description) == (
        ["job.finished", "job.status_changed", "sweep.finished"], "smoothie", "the CI")

    listed = simgate("subscriptions", "--json")
    assert stored.secrets[0].secret not in listed.stdout and "secret" not in json.loads(listed.stdout)[0]


def test_subscribe_hears_of_finished_jobs_by_default_and_json_has_the_secret(world):
    made = simgate("subscribe", HOOK, "--json")
    assert made.exit_code == 0, made.output
    answer = SubscriptionSecret.model_validate_json(made.stdout)
    assert answer.events == ["job.finished"] and SECRET.fullmatch(answer.secret) and made.stderr == ""
    assert world.notifications.find(answer.id).item.secrets[0].secret == answer.secret


def test_an_unknown_event_is_refused_before_anything_is_sent(world):
    refused = simgate("subscribe", HOOK, "--events", "job.finished,job.done", "-e", "everything")
    assert refused.exit_code == 2 and refused.stdout == ""
    assert refused.stderr.splitlines() == [
        "simgate: --events: no such events: 'job.done', 'everything'",
        "  the events are: job.status_changed, job.finished, job.progress, sweep.finished"]
    assert world.notifications.subscriptions == {}


@pytest.mark.parametrize("url, message", [
    ("http://hooks.example.org/simgate", "simgate: validation failed: the URL must use https"),
    ("https://internal.example/hook",
     "simgate: validation failed: internal.example resolves to 10.0.0.1, which is a private address"),
    ("https://169.254.169.254/latest", "simgate: validation failed: 169.254.169.254 is link-local (cloud metadata)"),
])
def test_a_url_simgate_will_not_send_to_is_refused_by_the_api_and_named(world, url, message):
    world.webhooks.addresses["internal.example"] = ["10.0.0.1"]
    refused = simgate("subscribe", url)
    assert refused.exit_code == 1 and refused.stdout == ""
    assert refused.stderr.splitlines()[0] == message
    assert world.notifications.subscriptions == {}


def test_a_sweep_that_is_not_yours_is_not_found_and_a_malformed_one_is_a_usage_problem(world):
    missing = simgate("subscribe", HOOK, "--sweep", "sw-5f2c9a0e11b7-8230312345678-3fa9c2d1")
    assert (missing.exit_code, missing.stderr) == (
        1, "simgate: not found: there is no sweep 'sw-5f2c9a0e11b7-8230312345678-3fa9c2d1'\n")
    malformed = simgate("subscribe", HOOK, "--sweep", "mine")
    assert malformed.exit_code == 2 and malformed.stderr.splitlines()[0] == "simgate: the request is not valid"
    assert malformed.stderr.splitlines()[1].startswith("  sweep_id: ")


# --- the subscriptions ---


def test_subscriptions_are_a_table_with_their_state_failures_and_filters(world):
    everything = subscribed("-e", "job.status_changed,job.progress")
    failing = subscribed("--case", "smoothie", url="https://hooks.example.org/failing")
    paused = subscribed(url="https://hooks.example.org/paused")
    world.webhooks.results = [SERVER_ERROR]
    assert simgate("subscription-test", failing).exit_code == 0
    pump(world)
    assert simgate("subscription-pause", paused).exit_code == 0

    listed = simgate("subscriptions")
    assert listed.exit_code == 0, listed.output
    table = {row[0]: row[1:] for row in rows(listed.stdout, "SUBSCRIPTION")}
    assert cells(listed.stdout.splitlines()[0]) == ["SUBSCRIPTION", "URL", "EVENTS", "STATE", "FAILING SINCE",
                                                    "FILTERS"]
    assert table[everything] == [HOOK, "job.status_changed, job.progress", "enabled", "all your jobs"]
    assert table[failing][:3] == ["https://hooks.example.org/failing", "job.finished", "enabled"]
    assert re.fullmatch(r"\d+ s ago", table[failing][3]) and table[failing][4] == "case smoothie"
    assert table[paused][2:] == ["disabled: paused by its owner", "all your jobs"]

    scripted = [SubscriptionInfo.model_validate(s) for s in json.loads(simgate("subscriptions", "--json").stdout)]
    assert {s.id: s.enabled for s in scripted} == {everything: True, failing: True, paused: False}


def test_no_subscriptions_says_how_to_make_one(world):
    listed = simgate("subscriptions")
    assert (listed.exit_code, listed.stdout, listed.stderr) == (
        0, "", "no subscriptions; make one with: simgate subscribe URL\n")
    assert json.loads(simgate("subscriptions", "--json").stdout) == []


def test_pause_and_resume_say_what_they_mean_and_a_paused_one_takes_no_ping(world):
    sub = subscribed()
    paused = simgate("subscription-pause", sub)
    assert paused.exit_code == 0 and paused.stdout == ""
    assert paused.stderr.startswith(f"paused subscription {sub}: nothing is sent to it")
    refused = simgate("subscription-test", sub)
    assert refused.exit_code == 1
    assert refused.stderr == (f"simgate: conflict: subscription {sub} is disabled (paused by its owner); "
                              "enable it first\n")
    resumed = simgate("subscription-resume", sub, "--json")
    assert resumed.exit_code == 0 and SubscriptionInfo.model_validate_json(resumed.stdout).enabled
    assert world.notifications.find(sub).item.enabled


def test_rotate_secret_prints_the_new_one_once_and_when_the_old_one_stops_signing(world):
    sub = subscribed()
    old = world.notifications.find(sub).item.secrets[0].secret
    rotated = simgate("rotate-secret", sub)
    assert rotated.exit_code == 0, rotated.output
    new = world.notifications.find(sub).item.secrets[0].secret
    assert new != old and f"secret        {new}" in rotated.stdout and old not in rotated.stdout
    assert "keep this secret: it is shown only now" in rotated.stdout
    assert re.search(r"The old secret signs beside it until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(in (1 d|23 h \d+ min)\)",
                     rotated.stdout)
    assert "the old secret signs beside the new one until" in simgate("subscriptions").stderr
    scripted = SubscriptionSecret.model_validate_json(simgate("rotate-secret", sub, "--json").stdout)
    assert scripted.secret == world.notifications.find(sub).item.secrets[0].secret
    assert scripted.previous_secret_expires is not None


def test_unsubscribe_deletes_it_and_then_it_is_not_found(world):
    sub = subscribed()
    deleted = simgate("unsubscribe", sub, "--yes")
    assert (deleted.exit_code, deleted.stderr) == (0, f"deleted subscription {sub}\n")
    assert world.notifications.subscriptions == {}
    gone = simgate("deliveries", sub)
    assert (gone.exit_code, gone.stderr) == (1, f"simgate: not found: there is no subscription '{sub}'\n")


# --- test pings and deliveries ---


def test_a_delivered_ping_shows_in_the_deliveries_table(world):
    sub = subscribed()
    assert simgate("deliveries", sub).stderr.startswith("no delivery attempts yet; send a test event with:")
    tested = simgate("subscription-test", sub)
    assert tested.exit_code == 0, tested.output
    delivery_id = tested.stdout.strip()
    assert delivery_id.startswith("msg_") and "simgate deliveries" in tested.stderr
    assert pump(world) == 1
    (target, headers, body), = world.webhooks.posts
    assert headers["webhook-id"] == delivery_id and json.loads(body)["type"] == "ping"

    listed = simgate("deliveries", sub)
    assert listed.exit_code == 0, listed.output
    assert cells(listed.stdout.splitlines()[0]) == ["AT", "EVENT", "JOB / SWEEP", "SEQ", "ATTEMPT", "STATUS",
                                                    "LATENCY", "OUTCOME", "ERROR", "NEXT ATTEMPT", "DELIVERY"]
    (row,) = rows(listed.stdout, "AT")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", row[0])
    assert row[1:] == ["ping", "—", "1", "1", "200", "1 ms", "delivered", delivery_id]

    scripted = [DeliveryAttempt.model_validate(a) for a in json.loads(simgate("deliveries", sub, "--json").stdout)]
    assert [(a.delivery_id, a.outcome, a.status_code) for a in scripted] == [(delivery_id, "delivered", 200)]


def test_a_jobs_events_name_the_job_and_their_sequence(world):
    sub = subscribed("--events", "job.status_changed,job.finished")
    at = world.clock.now()
    job = Job(job_id=new_job_id("alice", at), owner="alice", title="Rod", case_id="heat-rod", case_version=1,
              fields={}, created=at, updated=at, history=[Transition(status=JobStatus.DRAFT, at=at, source="api")])
    world.jobs.add(job)
    world.clock.advance(1)
    stored = world.jobs.get(job.job_id)
    world.jobs.update(stored.item.move(JobStatus.CANCELLED, at=world.clock.now(), source="api"), stored.etag)
    world.app.notifier.notify(job.job_id)
    pump(world)

    listed = rows(simgate("deliveries", sub).stdout, "AT")
    assert [row[1:8] for row in listed] == [
        ["job.finished", job.job_id, "2", "1", "200", "1 ms", "delivered"],
        ["job.status_changed", job.job_id, "1", "1", "200", "1 ms", "delivered"]]


def test_a_failed_attempt_says_why_and_when_it_is_tried_again_and_can_be_redelivered(world):
    sub = subscribed()
    world.webhooks.results = [SERVER_ERROR]
    delivery_id = simgate("subscription-test", sub).stdout.strip()
    pump(world)

    listed = simgate("deliveries", sub)
    (row,) = rows(listed.stdout, "AT")
    assert row[1:9] == ["ping", "—", "1", "1", "500", "12 ms", "retrying", "http_status"]
    assert re.fullmatch(r"in \d s", row[9]) and row[10] == delivery_id
    notes = listed.stdout.splitlines()[-2:]
    assert re.fullmatch(rf"{delivery_id}  attempt 1 answered 500 \(http_status\); tried again in \d s", notes[0])
    assert notes[1] == f"send one again with: simgate deliveries {sub} --redeliver DELIVERY"

    again = simgate("deliveries", sub, "--redeliver", delivery_id)
    assert again.exit_code == 0 and again.stdout == ""
    assert again.stderr.startswith(f"queued {delivery_id} to be sent again")
    pump(world)
    assert [headers["webhook-id"] for _, headers, _ in world.webhooks.posts] == [delivery_id, delivery_id]
    newest = rows(simgate("deliveries", sub, "--limit", "1").stdout, "AT")
    assert [(r[4], r[5], r[7]) for r in newest] == [("2 (redelivery)", "200", "delivered")]

    scripted = simgate("deliveries", sub, "--redeliver", delivery_id, "--json")
    assert scripted.exit_code == 0 and json.loads(scripted.stdout) == {"delivery_id": delivery_id}


def test_subscription_test_wait_follows_the_ping_to_its_first_attempt(world, served):
    sub = subscribed()
    served.notifier_running = True
    waited = simgate("subscription-test", sub, "--wait")
    assert waited.exit_code == 0, waited.output
    delivery_id = waited.stdout.strip()
    assert waited.stderr.splitlines()[-1] == f"{delivery_id} delivered: answered 200 in 1 ms"

    world.webhooks.results = [SERVER_ERROR]
    failed = simgate("subscription-test", sub, "--wait")
    assert failed.exit_code == 1
    delivery_id = failed.stdout.strip()
    lines = failed.stderr.splitlines()
    assert lines[-3] == f"simgate: {delivery_id} was not delivered"
    assert re.fullmatch(r"  attempt 1: answered 500 \(http_status\); tried again in \d s", lines[-2])
    assert lines[-1] == f"  see each attempt with: simgate deliveries {sub}"


def test_subscription_test_json_is_the_queued_ping_or_with_wait_its_attempt(world, served):
    sub = subscribed()
    queued = simgate("subscription-test", sub, "--json")
    assert queued.exit_code == 0 and queued.stderr == ""
    ping = PingQueued.model_validate_json(queued.stdout)
    served.notifier_running = True
    waited = simgate("subscription-test", sub, "--wait", "--json")
    attempt = DeliveryAttempt.model_validate_json(waited.stdout)
    assert attempt.event == "ping" and attempt.outcome == "delivered" and attempt.delivery_id != ping.delivery_id


def test_waiting_for_a_ping_nobody_sends_ends_at_its_deadline(world, monkeypatch):
    monkeypatch.setattr(notifications, "POLL_SECONDS", 0.1)
    sub = subscribed()
    waited = simgate("subscription-test", sub, "--wait", "--timeout", "1")
    assert waited.exit_code == 1
    delivery_id = waited.stdout.strip()
    assert f"simgate: {delivery_id} has not been sent after 1 s" in waited.stderr
    assert f"see its attempts later with: simgate deliveries {sub}" in waited.stderr


# --- the client's parts ---


@pytest.mark.parametrize("texts, events", [
    (None, ["job.finished"]),
    (["job.finished, job.status_changed", "job.finished"], ["job.finished", "job.status_changed"]),
    (["Sweep.Finished"], ["sweep.finished"]),
])
def test_events_are_named_once_each_in_the_order_given(texts, events):
    assert notifications.parse_events(texts) == events


def test_the_notifications_commands_load_neither_azure_nor_the_apps_insides():
    program = ("import sys\nimport cli.app, cli.notifications\n"
               "print(sorted({m for m in sys.modules if m.split('.')[0] in ('azure', 'functions', 'function_app')\n"
               "              or m.startswith(('shared.adapters', 'shared.wiring'))}))")
    root = Path(__file__).resolve().parents[2]
    loaded = subprocess.run([sys.executable, "-c", program], cwd=root, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"
