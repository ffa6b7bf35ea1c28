"""Notifications: subscriptions to a user's job and sweep events, and the events themselves, signed
as Standard Webhooks v1 (https://www.standardwebhooks.com/).

Pure: what a subscription wants, which events a job's change makes for it, how an event is signed,
and when a failed delivery is tried again. Storage, queues and sockets are elsewhere.

Events of one job reach one subscription as a *stream*, in the job's order: each event carries the
stream's next ``sequence`` (1, 2, 3 … per job per subscription, so a receiver sees a gap as a gap),
and the next event is sent only once the one before it was delivered or given up.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import re
import secrets
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.domain.jobs import Job, JobStatus, new_job_id

EventType = Literal["job.status_changed", "job.finished", "job.progress", "sweep.finished"]
EVENT_TYPES: tuple[str, ...] = ("job.status_changed", "job.finished", "job.progress", "sweep.finished")
PING = "ping"  # sent by POST /api/subscription/{id}/test, whatever the subscription's events

ROTATION_OVERLAP = timedelta(hours=24)  # an old secret keeps signing beside the new one this long
PROGRESS_EVERY = timedelta(minutes=1)  # at most one job.progress a minute per job and subscription
# Standard Webhooks' schedule: the delay before each attempt after the first failure (10 attempts over
# about 75 hours); settings may shorten it (tests).
DEFAULT_SCHEDULE: tuple[float, ...] = (0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
JITTER = 0.1  # each delay varies by up to 10 % either way, so retries of many events do not align
DISABLE_AFTER = timedelta(days=5)  # a subscription failing this long, with no success, is disabled
MAX_BODY_BYTES = 20_000
MAX_DESCRIPTION = 200
SECRET_PREFIX = "whsec_"

SUBSCRIPTION_ID = re.compile(r"^wh-[0-9a-f]{12}-[0-9]{13}-[0-9a-f]{8}$")


def new_subscription_id(owner: str, now: datetime) -> str:
    """"wh-" and an id made as a job's ("<owner partition>-<inverted ms>-<random>"): a user's
    subscriptions are one range of keys and list newest first."""
    return f"wh-{new_job_id(owner, now)}"


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 24 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`` keyed by the secret's bytes."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


class SigningSecret(BaseModel):
    model_config = ConfigDict(frozen=True)

    secret: str
    expires: datetime | None = None  # set on the old secret when a new one replaces it


class Subscription(BaseModel):
    """A user's endpoint and what it wants to hear."""

    model_config = ConfigDict(frozen=True)

    subscription_id: str
    owner: str
    url: str
    events: list[EventType]
    case_id: str | None = None
    sweep_id: str | None = None
    description: str = ""
    enabled: bool = True
    disabled_reason: str = ""
    created: datetime
    updated: datetime
    secrets: list[SigningSecret] = Field(min_length=1)
    failing_since: datetime | None = None  # the first failure since the last success
    since: datetime  # created, or last enabled: nothing that happened before is announced

    def signing_secrets(self, now: datetime) -> list[str]:
        """The newest secret first, then an old one still within its overlap."""
        return [s.secret for s in self.secrets if s.expires is None or s.expires > now]

    def signature(self, message_id: str, timestamp: int, body: bytes, now: datetime) -> str:
        """The ``webhook-signature`` header: one signature per live secret, space-separated."""
        return " ".join(sign(secret, message_id, timestamp, body) for secret in self.signing_secrets(now))

    def previous_secret_expires(self, now: datetime) -> datetime | None:
        return next((s.expires for s in self.secrets if s.expires is not None and s.expires > now), None)

    def wants(self, event_type: str, case_id: str | None, sweep_id: str | None) -> bool:
        return (event_type in self.events and (self.case_id is None or self.case_id == case_id)
                and (self.sweep_id is None or self.sweep_id == sweep_id))

    def rotated(self, now: datetime) -> tuple["Subscription", str]:
        """A new secret, the current one kept for ROTATION_OVERLAP (an older one is dropped)."""
        secret = new_secret()
        kept = SigningSecret(secret=self.secrets[0].secret, expires=now + ROTATION_OVERLAP)
        return self.model_copy(update={"secrets": [SigningSecret(secret=secret), kept], "updated": now}), secret

    def changed(self, now: datetime, *, events: list[EventType] | None = None, enabled: bool | None = None,
                description: str | None = None) -> "Subscription":
        update: dict[str, Any] = {"updated": now}
        if events is not None:
            update["events"] = list(dict.fromkeys(events))
        if description is not None:
            update["description"] = description
        if enabled is not None and enabled != self.enabled:
            update.update(enabled=enabled, disabled_reason="" if enabled else "paused by its owner",
                          failing_since=None, **({"since": now} if enabled else {}))
        return self.model_copy(update=update)

    def disabled(self, reason: str, now: datetime) -> "Subscription":
        return self.model_copy(update={"enabled": False, "disabled_reason": reason, "updated": now})

    def after_attempt(self, delivered: bool, gone: bool, now: datetime,
                      disable_after: timedelta = DISABLE_AFTER) -> "Subscription":
        """The subscription after a delivery attempt: a success clears its failing clock; a 410
        disables it; failing for ``disable_after`` with no success disables it."""
        if delivered:
            return self if self.failing_since is None else self.model_copy(update={"failing_since": None})
        if gone:
            return self.disabled(f"the endpoint answered 410 Gone at {_clock(now)}", now)
        since = self.failing_since or now
        if now - since >= disable_after:
            hours = (now - since).total_seconds() / 3600
            return self.model_copy(update={"failing_since": since}).disabled(
                f"every delivery failed for {hours:.0f} hours (since {_clock(since)})", now)
        return self if self.failing_since else self.model_copy(update={"failing_since": since})


def _clock(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC")


class Event(BaseModel):
    """One event for one subscription: the ``webhook-id`` and the thin JSON body."""

    model_config = ConfigDict(frozen=True)

    message_id: str
    type: str
    timestamp: datetime
    data: dict[str, Any]

    def body(self) -> bytes:
        return json.dumps({"type": self.type, "timestamp": self.timestamp.isoformat().replace("+00:00", "Z"),
                           "data": self.data}, separators=(",", ":")).encode()


class Stream(BaseModel):
    """What a subscription has been given of one job (or sweep): the fan-out's bookmark."""

    model_config = ConfigDict(frozen=True)

    key: str  # the job id, or "sweep-<sweep id>", or "ping"
    next_sequence: int = 1
    delivered: int = 0  # every event up to this sequence was delivered or given up
    history_seen: int = 0  # the job's history entries already turned into events
    progress: float | None = None  # the progress last announced
    progress_at: datetime | None = None
    finished_round: int = 0  # for a sweep: the member count at its last sweep.finished
    scheduled: datetime | None = None  # a deliver message waits for this time (the head event's retry)
    touched: datetime | None = None  # when the stream was last written

    @property
    def pending(self) -> bool:
        return self.delivered < self.next_sequence - 1


def message_id(subscription_id: str, stream: str, sequence: int) -> str:
    """The ``webhook-id`` of an event: the same on every retry and redelivery of it."""
    return f"msg_{subscription_id.rsplit('-', 1)[-1]}_{stream}_{sequence}"


def parse_message_id(text: str) -> tuple[str, str, int] | None:
    """(subscription suffix, stream, sequence) of a ``message_id``; None for anything else."""
    found = re.fullmatch(r"msg_([0-9a-f]{8})_([A-Za-z0-9-]{1,80})_([0-9]{1,9})", text)
    return (found.group(1), found.group(2), int(found.group(3))) if found else None


def job_links(base_url: str | None, job_id: str) -> dict[str, str]:
    base = (base_url or "/api").rstrip("/")
    return {"job": f"{base}/job/{job_id}", "status": f"{base}/job/{job_id}/status",
            "outputs": f"{base}/job/{job_id}/output"}


def job_events(job: Job, stream: Stream, subscription: Subscription, now: datetime,
               base_url: str | None = None) -> tuple[list[Event], Stream]:
    """The events ``job``'s history and progress make for ``subscription`` beyond what ``stream``
    already gave, each with the stream's next sequence, and the stream after them."""
    events: list[Event] = []
    if len(job.history) < stream.history_seen:  # an older read of the job than the stream has seen
        return [], stream
    sequence = stream.next_sequence

    def add(event_type: str, at: datetime, **data: Any) -> None:
        nonlocal sequence
        body = {"job_id": job.job_id, "case_id": job.case_id, "sweep_id": job.sweep_id, "title": job.title,
                **data, "sequence": sequence, "links": job_links(base_url, job.job_id)}
        events.append(Event(message_id=message_id(subscription.subscription_id, stream.key, sequence),
                            type=event_type, timestamp=at, data=body))
        sequence += 1

    for index in range(stream.history_seen, len(job.history)):
        moved = job.history[index]
        if moved.status == JobStatus.DRAFT or moved.at < subscription.since:
            continue
        previous = job.history[index - 1].status.value if index else None
        facts = {"status": moved.status.value, "previous_status": previous, "progress": job.progress,
                 "reason": moved.reason[:500]}
        if subscription.wants("job.status_changed", job.case_id, job.sweep_id):
            add("job.status_changed", moved.at, **facts)
        if moved.status.terminal and subscription.wants("job.finished", job.case_id, job.sweep_id):
            add("job.finished", moved.at, **facts)
    update: dict[str, Any] = {"history_seen": len(job.history)}
    if (job.status == JobStatus.RUNNING and job.progress is not None and job.progress != stream.progress
            and subscription.enabled
            and (stream.progress_at is None or now - stream.progress_at >= PROGRESS_EVERY)
            and subscription.wants("job.progress", job.case_id, job.sweep_id)):
        add("job.progress", now, status=job.status.value, previous_status=None, progress=job.progress)
        update.update(progress=job.progress, progress_at=now)
    update["next_sequence"] = sequence
    return events, stream.model_copy(update=update)


def sweep_finished_event(subscription: Subscription, stream: Stream, sweep_id: str, case_id: str,
                         counts: dict[str, int], round_marker: int, at: datetime,
                         base_url: str | None = None) -> tuple[list[Event], Stream]:
    """``sweep.finished`` once per round (a retry of failed members starts a new one)."""
    if round_marker <= stream.finished_round or not subscription.wants("sweep.finished", case_id, sweep_id):
        return [], stream
    sequence = stream.next_sequence
    base = (base_url or "/api").rstrip("/")
    event = Event(message_id=message_id(subscription.subscription_id, stream.key, sequence), type="sweep.finished",
                  timestamp=at, data={"sweep_id": sweep_id, "case_id": case_id, "counts": counts,
                                      "sequence": sequence, "links": {"sweep": f"{base}/sweep/{sweep_id}"}})
    return [event], stream.model_copy(update={"next_sequence": sequence + 1, "finished_round": round_marker})


def ping_event(subscription: Subscription, sequence: int, now: datetime) -> Event:
    return Event(message_id=message_id(subscription.subscription_id, "ping", sequence), type=PING, timestamp=now,
                 data={"subscription_id": subscription.subscription_id, "sequence": sequence,
                       "message": "a test event from simgate"})


def sweep_stream(sweep_id: str) -> str:
    return f"sweep-{sweep_id}"


# --- retries ---------------------------------------------------------------------------------------


def next_attempt(attempts: int, now: datetime, schedule: tuple[float, ...] = DEFAULT_SCHEDULE,
                 retry_after: float | None = None, rng: random.Random | None = None) -> datetime | None:
    """When to try again after ``attempts`` failed attempts; None once the schedule is spent.
    A receiver's Retry-After (429, 503) is honoured when it asks for longer than the schedule."""
    if attempts >= len(schedule):
        return None
    delay = schedule[attempts] * (1 + (rng or random).uniform(-JITTER, JITTER))
    if retry_after is not None:
        delay = max(delay, min(retry_after, max(schedule)))
    return now + timedelta(seconds=delay)


def parse_schedule(text: str) -> tuple[float, ...]:
    """"0,5,300" -> (0, 5, 300): seconds before each attempt; at least one, each 0 to 7 days."""
    delays = tuple(float(part) for part in text.split(",") if part.strip())
    if not delays or any(not 0 <= delay <= 7 * 86400 for delay in delays):  # nan and inf fail too
        raise ValueError("a retry schedule is a comma-separated list of seconds, at least one, each 0 to 604800")
    return delays


# --- deliveries ------------------------------------------------------------------------------------

DeliveryState = Literal["pending", "delivered", "failed"]


class Delivery(BaseModel):
    """One event of a stream, as stored until it is delivered or given up."""

    model_config = ConfigDict(frozen=True)

    stream: str
    sequence: int
    message_id: str
    type: str
    body: str
    created: datetime
    state: DeliveryState = "pending"
    attempts: int = 0
    next_attempt: datetime | None = None

    @classmethod
    def of(cls, event: Event, stream: str, sequence: int, now: datetime) -> "Delivery":
        return cls(stream=stream, sequence=sequence, message_id=event.message_id, type=event.type,
                   body=event.body().decode(), created=now)


class Attempt(BaseModel):
    """One POST of one event, for the subscription's delivery log (never the receiver's body)."""

    model_config = ConfigDict(frozen=True)

    attempt_id: str
    message_id: str
    type: str
    stream: str
    sequence: int
    attempt: int
    at: datetime
    status_code: int | None = None
    latency_ms: float = 0.0
    error_class: str | None = None
    error: str = ""
    next_attempt: datetime | None = None
    redelivery: bool = False
    outcome: Literal["delivered", "retrying", "failed"] = "delivered"
