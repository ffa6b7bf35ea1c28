"""Notifications on in-memory ports: events from job changes, Standard Webhooks signatures (checked with
the reference implementation), in-order delivery with retries, and who may see what."""

import json
import random
from datetime import datetime, timedelta, timezone

import pytest
from standardwebhooks.webhooks import Webhook

from shared.auth import Principal
from shared.domain.addresses import DeliveryResult
from shared.domain.cases import parse_definition
from shared.domain.jobs import Job, JobStatus, Transition, new_job_id
from shared.domain.messages import NotifyMessage
from shared.domain.notifications import (
    DEFAULT_SCHEDULE,
    SigningSecret,
    Stream,
    Subscription,
    job_events,
    new_secret,
    next_attempt,
    parse_message_id,
)
from shared.domain.sweeps import SweepPlan
from shared.errors import Conflict, NotFound, ValidationFailed
from shared.services.sweeps import SweepRequest
from tests.factories import case_document
from tests.fakes import fake_app

ALICE = Principal("alice", "Alice")
BOB = Principal("bob", "Bob")
NOW = datetime.now(timezone.utc).replace(microsecond=0)
WALK = [JobStatus.SUBMITTED, JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.CLEANUP, JobStatus.DONE]


@pytest.fixture
def world():
    world = fake_app()
    world.clock.current = NOW
    return world


def subscribe(world, caller=ALICE, events=("job.status_changed", "job.finished"), **options):
    return world.app.notifications.create(caller, "https://hooks.example.org/simgate", list(events), **options)


def new_job(world, owner="alice", **changes) -> Job:
    at = world.clock.now()
    job = Job(job_id=new_job_id(owner, at), owner=owner, title="Rod", case_id="heat-rod", case_version=1, fields={},
              created=at, updated=at, history=[Transition(status=JobStatus.DRAFT, at=at, source="api:alice")],
              **changes)
    world.jobs.add(job)
    return job


def move(world, job_id: str, status: JobStatus, **changes) -> Job:
    world.clock.advance(1)
    stored = world.jobs.get(job_id)
    moved = stored.item.move(status, at=world.clock.now(), source="agent", **changes)
    world.jobs.update(moved, stored.etag)
    return moved


def pump(world, rounds: int = 50) -> None:
    """Hand every queued notifications message to the notifier, as the queue's trigger would, letting
    the clock reach a scheduled one's time."""
    for _ in range(rounds):
        if not world.notify_queue.sent:
            return
        message = world.notify_queue.sent.pop(0)
        due = world.notify_queue.not_before.get(message.message_id)
        if due is not None and due > world.clock.now():
            world.clock.advance((due - world.clock.now()).total_seconds())
        world.app.notifier.handle(message.body())


def verified(world, secret: str) -> list[dict]:
    """The bodies of every POST, each signed with ``secret`` by the reference implementation's own
    signing (its ``verify`` also wants the timestamp near the real now, which a test's clock is not)."""
    webhook = Webhook(secret)
    bodies = []
    for _, headers, body in world.webhooks.posts:
        at = datetime.fromtimestamp(int(headers["webhook-timestamp"]), tz=timezone.utc)
        assert webhook.sign(headers["webhook-id"], at, body) in headers["webhook-signature"].split(" ")
        bodies.append(json.loads(body))
    return bodies


# --- the domain ---


def subscription(**changes) -> Subscription:
    values = dict(subscription_id="wh-0123456789ab-1234567890123-0123abcd", owner="alice",
                  url="https://hooks.example.org/", events=["job.status_changed", "job.finished", "job.progress"],
                  created=NOW, updated=NOW, since=NOW - timedelta(hours=1), secrets=[SigningSecret(secret=new_secret())])
    return Subscription(**{**values, **changes})


def walked(statuses, start=NOW) -> Job:
    history = [Transition(status=JobStatus.DRAFT, at=start, source="api:alice")]
    history += [Transition(status=s, at=start + timedelta(seconds=i + 1), source="agent") for i, s in enumerate(statuses)]
    return Job(job_id=new_job_id("alice", start), owner="alice", title="Rod", case_id="heat-rod", case_version=1,
               fields={}, created=start, updated=start, status=statuses[-1] if statuses else JobStatus.DRAFT,
               history=history)


def test_every_status_after_draft_is_an_event_in_order_and_a_finish_is_announced_too():
    events, stream = job_events(walked(WALK), Stream(key="j"), subscription(), NOW)
    assert [(e.type, e.data["status"], e.data["previous_status"]) for e in events] == [
        ("job.status_changed", "submitted", "draft"), ("job.status_changed", "queued", "submitted"),
        ("job.status_changed", "running", "queued"), ("job.status_changed", "cleanup", "running"),
        ("job.status_changed", "done", "cleanup"), ("job.finished", "done", "cleanup")]
    assert [e.data["sequence"] for e in events] == [1, 2, 3, 4, 5, 6] and stream.next_sequence == 7
    assert len({e.message_id for e in events}) == 6
    again, _ = job_events(walked(WALK), stream, subscription(), NOW)
    assert again == []  # the stream's bookmark: nothing is made twice


def test_nothing_from_before_the_subscription_and_only_the_events_and_filters_it_wants():
    before = walked(WALK, start=NOW - timedelta(days=1))
    assert job_events(before, Stream(key="j"), subscription(since=NOW), NOW)[0] == []
    only_finish = subscription(events=["job.finished"])
    assert [e.type for e in job_events(walked(WALK), Stream(key="j"), only_finish, NOW)[0]] == ["job.finished"]
    other_case = subscription(case_id="smoothie")
    assert job_events(walked(WALK), Stream(key="j"), other_case, NOW)[0] == []


def test_progress_is_announced_at_most_once_a_minute():
    running = walked(WALK[:3]).model_copy(update={"progress": 0.1})
    wants = subscription(events=["job.progress"])
    events, stream = job_events(running, Stream(key="j"), wants, NOW)
    assert [(e.type, e.data["progress"]) for e in events] == [("job.progress", 0.1)]
    later = running.model_copy(update={"progress": 0.2})
    assert job_events(later, stream, wants, NOW + timedelta(seconds=59))[0] == []
    events, _ = job_events(later, stream, wants, NOW + timedelta(seconds=60))
    assert [(e.data["progress"], e.data["sequence"]) for e in events] == [(0.2, 2)]


def test_signatures_verify_with_the_reference_implementation_and_both_secrets_during_a_rotation():
    now = datetime.now(timezone.utc)  # the reference verifier wants the timestamp within 5 minutes of now
    subscription_ = subscription()
    body = b'{"type":"ping"}'
    timestamp = int(now.timestamp())
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(timestamp),
               "webhook-signature": subscription_.signature("msg_1", timestamp, body, now)}
    old = subscription_.secrets[0].secret
    assert Webhook(old).verify(body, headers) == {"type": "ping"}
    rotated, fresh = subscription_.rotated(now)
    headers["webhook-signature"] = rotated.signature("msg_1", timestamp, body, now)
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, fresh):
        assert Webhook(secret).verify(body, headers) == {"type": "ping"}
    assert rotated.signing_secrets(now + timedelta(hours=24, seconds=1)) == [fresh]


def test_the_retry_schedule_is_standard_webhooks_with_jitter_and_retry_after():
    rng = random.Random(7)
    delays = [(next_attempt(n, NOW, rng=rng) - NOW).total_seconds() for n in range(1, 10)]
    for delay, expected in zip(delays, DEFAULT_SCHEDULE[1:]):
        assert expected * 0.9 <= delay <= expected * 1.1
    assert next_attempt(10, NOW) is None  # ten attempts in all
    assert (next_attempt(1, NOW, retry_after=120, rng=rng) - NOW).total_seconds() == 120


def test_a_410_disables_and_five_days_of_failures_disable_saying_why():
    gone = subscription().after_attempt(False, True, NOW)
    assert not gone.enabled and "410" in gone.disabled_reason
    failing = subscription().after_attempt(False, False, NOW)
    assert failing.enabled and failing.failing_since == NOW
    assert failing.after_attempt(True, False, NOW).failing_since is None
    dead = failing.after_attempt(False, False, NOW + timedelta(days=5))
    assert not dead.enabled and "120 hours" in dead.disabled_reason


# --- subscriptions ---


def test_a_subscription_shows_its_secret_once_and_is_its_owners_alone(world):
    created = subscribe(world, description="lab")
    assert created.secret.startswith("whsec_")
    sid = created.subscription.subscription_id
    assert [s.subscription_id for s in world.app.notifications.list(ALICE)] == [sid]
    assert world.app.notifications.list(BOB) == []
    for act in (lambda: world.app.notifications.get(BOB, sid), lambda: world.app.notifications.delete(BOB, sid),
                lambda: world.app.notifications.test(BOB, sid),
                lambda: world.app.notifications.change(BOB, sid, enabled=False),
                lambda: world.app.notifications.deliveries(BOB, sid)):
        with pytest.raises(NotFound):
            act()


@pytest.mark.parametrize("url, host, addresses", [
    ("https://10.0.0.1/hook", None, None),
    ("https://[::1]/hook", None, None),
    ("https://169.254.169.254/latest/meta-data", None, None),
    ("https://metadata.example/hook", "metadata.example", ["169.254.169.254"]),
    ("https://inside.example/hook", "inside.example", ["93.184.216.34", "10.1.2.3"]),
    ("http://hooks.example.org/hook", None, None),
    ("not a url", None, None),
])
def test_refused_urls_are_a_422_naming_the_url_and_nothing_is_stored(world, url, host, addresses):
    if host:
        world.webhooks.addresses[host] = addresses
    with pytest.raises(ValidationFailed) as refused:
        world.app.notifications.create(ALICE, url, ["job.finished"])
    assert refused.value.errors[0]["field"] == "url"
    assert world.notifications.subscriptions == {} and world.webhooks.posts == []


def test_a_sweep_of_someone_else_is_not_found_and_the_number_of_subscriptions_is_bounded(world):
    with pytest.raises(NotFound):
        subscribe(world, sweep_id="sw-0123456789ab-1234567890123-0123abcd")
    limited = fake_app(NOTIFY_MAX_SUBSCRIPTIONS="2")
    subscribe(limited), subscribe(limited)
    with pytest.raises(Conflict):
        subscribe(limited)


# --- delivery ---


def test_a_job_walk_arrives_once_each_in_order_signed_with_links(world):
    created = subscribe(world)
    job = new_job(world)
    for status in WALK:
        move(world, job.job_id, status)
        world.app.notifier.notify(job.job_id)
        pump(world)
    bodies = verified(world, created.secret)
    assert [(b["type"], b["data"]["status"]) for b in bodies] == [
        ("job.status_changed", s.value) for s in WALK] + [("job.finished", "done")]
    assert [b["data"]["sequence"] for b in bodies] == [1, 2, 3, 4, 5, 6]
    assert bodies[0]["data"]["links"]["job"] == f"https://simgate.example.org/api/job/{job.job_id}"
    attempts = world.app.notifications.deliveries(ALICE, created.subscription.subscription_id)
    assert [a.outcome for a in attempts] == ["delivered"] * 6 and attempts[0].type == "job.finished"


def test_a_failing_receiver_gets_the_same_event_again_on_schedule_and_later_events_wait_their_turn(world):
    created = subscribe(world)
    job = new_job(world)
    world.webhooks.results = [DeliveryResult(status=500, error_class="http_status", error="HTTP 500")] * 3
    move(world, job.job_id, JobStatus.SUBMITTED)
    world.app.notifier.notify(job.job_id)  # the first attempt, at once: it fails
    assert len(world.webhooks.posts) == 1 and world.notify_queue.not_before[world.notify_queue.sent[-1].message_id]
    move(world, job.job_id, JobStatus.CANCELLED)
    world.app.notifier.notify(job.job_id)
    pump(world)
    ids = [headers["webhook-id"] for _, headers, _ in world.webhooks.posts]
    assert ids[:4] == [ids[0]] * 4 and len(set(ids)) == 3  # 500, 500, 500, 200: then the next two events
    assert [b["data"]["status"] for b in verified(world, created.secret)] == ["submitted"] * 4 + ["cancelled"] * 2
    log = world.app.notifications.deliveries(ALICE, created.subscription.subscription_id)
    assert [a.outcome for a in reversed(log)][:4] == ["retrying", "retrying", "retrying", "delivered"]
    assert log[-1].status_code == 500 and log[-1].next_attempt is not None


def test_a_410_disables_the_subscription_and_nothing_more_is_sent_until_it_is_resumed(world):
    created = subscribe(world)
    sid = created.subscription.subscription_id
    job = new_job(world)
    world.webhooks.results = [DeliveryResult(status=410, error_class="gone", error="HTTP 410")]
    move(world, job.job_id, JobStatus.SUBMITTED)
    world.app.notifier.notify(job.job_id)
    pump(world)
    stored = world.app.notifications.get(ALICE, sid)
    assert not stored.enabled and "410" in stored.disabled_reason and len(world.webhooks.posts) == 1
    move(world, job.job_id, JobStatus.QUEUED)
    world.app.notifier.notify(job.job_id)
    pump(world)
    assert len(world.webhooks.posts) == 1
    world.clock.advance(1)
    world.app.notifications.change(ALICE, sid, enabled=True)  # what happened while disabled is not announced
    move(world, job.job_id, JobStatus.RUNNING)
    world.app.notifier.notify(job.job_id)
    pump(world)
    assert [b["data"]["status"] for b in world.webhooks.bodies()][1:] == ["running"]


def test_a_test_ping_and_a_redelivery_carry_the_same_id(world):
    created = subscribe(world)
    sid = created.subscription.subscription_id
    message_id = world.app.notifications.test(ALICE, sid)
    pump(world)
    world.app.notifications.redeliver(ALICE, sid, message_id)
    pump(world)
    assert [headers["webhook-id"] for _, headers, _ in world.webhooks.posts] == [message_id, message_id]
    assert verified(world, created.secret)[0]["type"] == "ping"
    log = world.app.notifications.deliveries(ALICE, sid)
    assert [a.redelivery for a in log] == [True, False]
    with pytest.raises(NotFound):
        world.app.notifications.redeliver(ALICE, sid, "msg_ffffffff_ping_9")
    assert parse_message_id(message_id)[1:] == ("ping", 1)


def test_a_lost_wake_is_caught_up(world):
    subscribe(world)
    job = new_job(world)
    move(world, job.job_id, JobStatus.SUBMITTED)  # no notify: its wake was lost with its instance
    world.clock.advance(5)
    assert world.app.notifier.catch_up() == 0  # a change this young is left to its own wake
    world.clock.advance(15)
    assert world.app.notifier.catch_up() == 1
    pump(world)
    assert [b["data"]["status"] for b in world.webhooks.bodies()] == ["submitted"]


def test_a_message_no_version_could_act_on_is_dropped(world):
    world.app.notifier.handle(b"{not json")
    world.app.notifier.handle(json.dumps({"action": "deliver"}))
    assert world.webhooks.posts == []
    assert NotifyMessage.parse(NotifyMessage.notify(new_job_id("a", NOW)).body()).action == "notify"


def test_events_added_while_one_is_being_sent_do_not_send_it_twice(world):
    subscribe(world)
    job = new_job(world)
    send = world.webhooks.send

    def send_while_the_job_moves(target, headers, body):
        if len(world.webhooks.posts) == 0:  # the job moves on while its first event is on the wire
            move(world, job.job_id, JobStatus.QUEUED)
            world.app.notifier.notify(job.job_id)
        return send(target, headers, body)

    world.webhooks.send = send_while_the_job_moves
    move(world, job.job_id, JobStatus.SUBMITTED)
    world.app.notifier.notify(job.job_id)  # sent at once: nothing of the job waits before it
    pump(world)
    assert [headers["webhook-id"].rsplit("_", 1)[1] for _, headers, _ in world.webhooks.posts] == ["1", "2"]


def test_a_sweep_finishes_once_when_its_last_member_does(world):
    world.cases.publish(parse_definition(case_document("mixer")), "carol", NOW)
    created = subscribe(world, events=("sweep.finished",))
    sweep, _ = world.app.sweeps.create(ALICE, SweepRequest(case_id="mixer", title="Two", plan=SweepPlan(
        vary={"speed": [10, 20]})))
    members = sweep.member_ids()
    move(world, members[0], JobStatus.CANCELLED)
    world.app.notifier.notify(members[0])
    pump(world)
    assert world.webhooks.posts == []  # one member still a draft
    move(world, members[1], JobStatus.CANCELLED)
    for job_id in members:  # both members' wakes see the sweep finished: it is announced once
        world.app.notifier.notify(job_id)
    pump(world)
    bodies = verified(world, created.secret)
    assert [(b["type"], b["data"]["sweep_id"], b["data"]["counts"]) for b in bodies] == [
        ("sweep.finished", sweep.sweep_id, {"cancelled": 2})]


def test_an_older_read_of_the_job_than_the_stream_has_seen_makes_nothing():
    job = walked(WALK)
    _, seen = job_events(job, Stream(key="j"), subscription(), NOW)
    older = walked(WALK[:2]).model_copy(update={"job_id": job.job_id, "progress": 0.5, "status": JobStatus.RUNNING})
    assert job_events(older, seen, subscription(), NOW + timedelta(minutes=5)) == ([], seen)


def test_a_lost_deliver_message_is_handed_on_again_by_the_catch_up(world):
    created = subscribe(world)
    sid = created.subscription.subscription_id
    job = new_job(world)
    world.webhooks.results = [DeliveryResult(status=503, error_class="unavailable", error="HTTP 503")]
    move(world, job.job_id, JobStatus.SUBMITTED)
    world.app.notifier.notify(job.job_id)  # fails at once; its retry is a scheduled message
    world.notify_queue.sent.clear()  # ... which is lost
    world.clock.advance(60)
    world.app.notifier.catch_up()
    assert world.notify_queue.sent == []  # its retry is not overdue yet
    world.clock.advance(300)
    world.app.notifier.catch_up()
    pump(world)
    assert [b["data"]["status"] for b in verified(world, created.secret)] == ["submitted", "submitted"]
    assert world.notifications.pending_streams(sid) == []


def test_early_deliver_messages_for_a_scheduled_retry_do_not_multiply(world):
    created = subscribe(world)
    sid = created.subscription.subscription_id
    job = new_job(world)
    world.webhooks.results = [DeliveryResult(status=500, error_class="http_status", error="HTTP 500")]
    move(world, job.job_id, JobStatus.SUBMITTED)
    world.app.notifier.notify(job.job_id)
    scheduled = list(world.notify_queue.sent)
    for _ in range(3):  # a resend, a catch-up, another instance: each finds the retry scheduled already
        world.app.notifier.deliver(sid, job.job_id)
    assert world.notify_queue.sent == scheduled and len(world.webhooks.posts) == 1


def test_resuming_tries_what_waits_at_once(world):
    created = subscribe(world)
    sid = created.subscription.subscription_id
    job = new_job(world)
    world.webhooks.results = [DeliveryResult(status=500, error_class="http_status", error="HTTP 500")] * 2
    move(world, job.job_id, JobStatus.SUBMITTED)
    world.app.notifier.notify(job.job_id)
    pump(world, rounds=1)  # the retry after 5 s fails too: the next is 5 minutes away
    world.notify_queue.sent.clear()
    world.app.notifications.change(ALICE, sid, enabled=False)
    world.app.notifications.change(ALICE, sid, enabled=True)
    before = world.clock.now()
    pump(world)
    assert len(world.webhooks.posts) == 3 and world.clock.now() == before
