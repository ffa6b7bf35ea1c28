"""Subscriptions, streams, events and the delivery log against real Azurite Table storage."""

from datetime import datetime, timedelta, timezone

import pytest

from shared.adapters.job_store import TableJobRepository
from shared.adapters.notification_store import TableNotificationStore
from shared.domain.jobs import JobStatus
from shared.domain.notifications import (
    Attempt,
    Delivery,
    Event,
    SigningSecret,
    Stream,
    Subscription,
    new_secret,
    new_subscription_id,
)
from shared.errors import StaleWrite
from tests.integration.test_job_store import new_job

pytestmark = pytest.mark.integration
NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone.utc)


@pytest.fixture
def store(storage, own_table):
    return TableNotificationStore(storage, own_table)


def a_subscription(owner="alice", at=NOW) -> Subscription:
    return Subscription(subscription_id=new_subscription_id(owner, at), owner=owner, url="https://hooks.example.org/",
                        events=["job.finished"], created=at, updated=at, since=at,
                        secrets=[SigningSecret(secret=new_secret())])


def delivery(stream: str, sequence: int, size: int = 100) -> Delivery:
    event = Event(message_id=f"msg_x_{stream}_{sequence}", type="job.finished", timestamp=NOW,
                  data={"sequence": sequence, "pad": "x" * size})
    return Delivery.of(event, stream, sequence, NOW)


def attempt(message: Delivery, at: datetime, outcome="delivered") -> Attempt:
    return Attempt(attempt_id=f"{message.message_id}.1", message_id=message.message_id, type=message.type,
                   stream=message.stream, sequence=message.sequence, attempt=1, at=at, status_code=200,
                   outcome=outcome)


def test_subscriptions_read_back_by_owner_and_change_only_with_their_etag(store):
    older, newer = a_subscription(), a_subscription(at=NOW + timedelta(seconds=1))
    other = a_subscription("bob")
    for subscription in (older, newer, other):
        store.add(subscription)
    assert [s.subscription_id for s in store.of_owner("alice")] == [newer.subscription_id, older.subscription_id]
    assert {s.subscription_id for s in store.everyone()} >= {older.subscription_id, other.subscription_id}
    stored = store.find(older.subscription_id)
    assert stored.item == older
    store.update(older.disabled("paused", NOW), stored.etag)
    with pytest.raises(StaleWrite):
        store.update(older, stored.etag)
    assert store.find("wh-nonsense") is None


def test_a_stream_and_its_events_are_written_together_or_not_at_all(store):
    subscription = a_subscription()
    store.add(subscription)
    sid = subscription.subscription_id
    first = Stream(key="job-1", next_sequence=3)
    store.record(sid, first, None, [delivery("job-1", 1), delivery("job-1", 2, size=20_000)])
    stored = store.stream(sid, "job-1")
    assert stored.item == first and store.delivery(sid, "job-1", 2).body == delivery("job-1", 2, 20_000).body
    with pytest.raises(StaleWrite):  # made by another worker meanwhile: nothing of this one is written
        store.record(sid, first, None, [delivery("job-1", 3)])
    with pytest.raises(StaleWrite):
        store.record(sid, first.model_copy(update={"next_sequence": 4}), 'W/"datetime\'2000-01-01\'"',
                     [delivery("job-1", 3)])
    assert store.delivery(sid, "job-1", 3) is None
    assert [stream.key for stream in store.pending_streams(sid)] == ["job-1"]

    one = delivery("job-1", 1).model_copy(update={"state": "delivered", "attempts": 1})
    etag = store.attempted(sid, one, attempt(one, NOW), first.model_copy(update={"delivered": 1}), stored.etag)
    assert etag and store.stream(sid, "job-1").etag == etag
    two = delivery("job-1", 2).model_copy(update={"state": "delivered", "attempts": 1})
    store.attempted(sid, two, attempt(two, NOW + timedelta(seconds=1)), first.model_copy(update={"delivered": 2}),
                    etag)
    assert store.pending_streams(sid) == []
    assert [a.sequence for a in store.attempts(sid, 10)] == [2, 1]  # newest first
    assert len(store.attempts(sid, 1)) == 1


def test_deleting_a_subscription_removes_its_streams_events_and_log(store, storage, own_table):
    subscription = a_subscription()
    store.add(subscription)
    sid = subscription.subscription_id
    store.record(sid, Stream(key="job-1", next_sequence=2), None, [delivery("job-1", 1)])
    store.attempted(sid, delivery("job-1", 1), attempt(delivery("job-1", 1), NOW))
    store.delete(sid)
    assert store.find(sid) is None
    left = list(storage.table(own_table).query_entities("PartitionKey eq @p", parameters={"p": f"~wh-{sid}"}))
    assert left == []


def test_catch_up_marks_and_the_jobs_changed_since_a_time(store, storage, own_table):
    assert store.scan_mark("alice") is None
    store.set_scan_mark("alice", NOW)
    assert store.scan_mark("alice") == NOW
    jobs = TableJobRepository(storage, own_table)
    old = new_job(owner="alice", at=NOW - timedelta(hours=1))
    recent = new_job(owner="alice", at=NOW).model_copy(update={"status": JobStatus.SUBMITTED})
    for job in (old, recent):
        jobs.add(job)
    assert [s.job_id for s in jobs.changed_since("alice", NOW - timedelta(minutes=1))] == [recent.job_id]
