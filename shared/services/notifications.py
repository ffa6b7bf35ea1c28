"""Notifications: users' subscriptions (the API's use cases) and the notifier that turns job changes into
signed webhooks, sent from the notifications queue and never from the request or report that changed
the job.

The way of an event:
1. A write of a job (any writer) wakes the notifier: ``NotifyWaker`` queues a ``notify`` message from a
   thread of its own, only for owners with subscriptions, for status changes and at most one progress
   change a minute. A lost wake is found by the catch-up timer (``Notifier.catch_up``).
2. ``notify``: the job's history since each subscription's stream bookmark becomes events, written
   with the bookmark in one transaction (so each event is made once), then a ``deliver`` message.
3. ``deliver``: a stream's events are posted in order, the next only once the one before is delivered
   or given up; a failure schedules the next attempt (a delayed ``deliver``) by the retry schedule.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.auth import Principal
from shared.domain.addresses import DeliveryResult, Target, parse_target
from shared.domain.jobs import Job
from shared.domain.messages import NotifyMessage
from shared.domain.notifications import (
    DEFAULT_SCHEDULE,
    DISABLE_AFTER,
    MAX_BODY_BYTES,
    Attempt,
    Delivery,
    Event,
    EventType,
    SigningSecret,
    Stream,
    Subscription,
    job_events,
    new_secret,
    new_subscription_id,
    next_attempt,
    parse_message_id,
    ping_event,
    sweep_finished_event,
    sweep_stream,
)
from shared.errors import Conflict, NotFound, SimgateError, StaleWrite, ValidationFailed
from shared.services.followers import Bounded
from shared.services.ports import Clock, JobQueue, JobRepository, NotificationStore, Stored, SweepStore, WebhookSender
from shared.services.sweeps import current_members

log = logging.getLogger("simgate.notifications")

WRITE_ATTEMPTS = 8
DELIVERIES_PER_MESSAGE = 20  # a deliver message posts at most this many (15 s each at most), then hands on
CATCH_UP_OVERLAP = timedelta(seconds=15)  # a catch-up reads back past its last mark: instances' clocks differ
CATCH_UP_SETTLE = timedelta(seconds=15)  # changes younger than this are left to their own wakes
STALLED_AFTER = timedelta(minutes=2)  # a waiting stream untouched this long past its due time lost its message
PROGRESS_WAKE_EVERY = 60.0  # seconds: a job's progress wakes the notifier at most this often
SUBSCRIPTIONS_FRESH_SECONDS = 5.0  # the notifier reads an owner's subscriptions at most this often


@dataclass(frozen=True)
class NotifyOptions:
    allow_loopback_http: bool = False
    max_subscriptions: int = 20
    schedule: tuple[float, ...] = DEFAULT_SCHEDULE
    disable_after: timedelta = DISABLE_AFTER
    base_url: str | None = None  # the API's public base, for the links in events


@dataclass(frozen=True)
class Created:
    subscription: Subscription
    secret: str


class Notifications:
    """A user's subscriptions: each sees and changes only their own (another's is not found)."""

    def __init__(self, store: NotificationStore, sweeps: SweepStore, sender: WebhookSender, queue: JobQueue,
                 clock: Clock, options: NotifyOptions, on_change: Callable[[str], None] = lambda owner: None) -> None:
        self._on_change = on_change  # an owner's subscriptions changed (the waker asks again)
        self._store = store
        self._sweeps = sweeps
        self._sender = sender
        self._queue = queue
        self._clock = clock
        self._options = options

    def create(self, caller: Principal, url: str, events: list[EventType], case_id: str | None = None,
               sweep_id: str | None = None, description: str = "") -> Created:
        target = self._target(url)
        self._sender.check(target)
        if sweep_id is not None:
            sweep = self._sweeps.find(sweep_id)
            if sweep is None or sweep.item.owner != caller.user_id:
                raise NotFound(f"there is no sweep '{sweep_id}'")
        if len(self._store.of_owner(caller.user_id)) >= self._options.max_subscriptions:
            raise Conflict(f"you have {self._options.max_subscriptions} subscriptions, the most allowed; "
                           "delete one first")
        now = self._clock.now()
        secret = new_secret()
        subscription = Subscription(
            subscription_id=new_subscription_id(caller.user_id, now), owner=caller.user_id, url=target.url,
            events=list(dict.fromkeys(events)), case_id=case_id, sweep_id=sweep_id, description=description,
            created=now, updated=now, since=now, secrets=[SigningSecret(secret=secret)])
        self._store.add(subscription)
        self._on_change(caller.user_id)
        log.info("subscription %s of %s to %s for %s", subscription.subscription_id, caller.user_id,
                 target.host, ",".join(subscription.events))
        return Created(subscription, secret)

    def list(self, caller: Principal) -> list[Subscription]:
        return self._store.of_owner(caller.user_id)

    def get(self, caller: Principal, subscription_id: str) -> Subscription:
        return self._own(caller, subscription_id).item

    def change(self, caller: Principal, subscription_id: str, *, events: list[EventType] | None = None,
               enabled: bool | None = None, description: str | None = None) -> Subscription:
        def changing(subscription: Subscription) -> Subscription:
            return subscription.changed(self._clock.now(), events=events, enabled=enabled, description=description)

        after = self._apply(caller, subscription_id, changing)
        self._on_change(caller.user_id)
        if enabled:  # resumed (or asked again): what waits is tried at once
            for stream in self._store.pending_streams(subscription_id):
                self._queue.send(NotifyMessage.deliver(subscription_id, stream.key, now=True))
        return after

    def delete(self, caller: Principal, subscription_id: str) -> None:
        self._own(caller, subscription_id)
        self._store.delete(subscription_id)
        self._on_change(caller.user_id)

    def rotate(self, caller: Principal, subscription_id: str) -> Created:
        fresh: list[str] = []

        def rotating(subscription: Subscription) -> Subscription:
            rotated, secret = subscription.rotated(self._clock.now())
            fresh[:] = [secret]
            return rotated

        rotated = self._apply(caller, subscription_id, rotating)
        self._on_change(caller.user_id)  # this instance signs with the new secret at once
        return Created(rotated, fresh[0])

    def test(self, caller: Principal, subscription_id: str) -> str:
        """Queue a ``ping`` event for the subscription (whatever its events); its webhook-id."""
        subscription = self._own(caller, subscription_id).item
        if not subscription.enabled:
            raise Conflict(f"subscription {subscription_id} is disabled ({subscription.disabled_reason}); "
                           "enable it first")
        for _ in range(WRITE_ATTEMPTS):
            stored = self._store.stream(subscription_id, "ping")
            stream = stored.item if stored else Stream(key="ping")
            now = self._clock.now()
            event = ping_event(subscription, stream.next_sequence, now)
            moved = stream.model_copy(update={"next_sequence": stream.next_sequence + 1})
            try:
                self._store.record(subscription_id, moved, stored.etag if stored else None,
                                   [Delivery.of(event, "ping", stream.next_sequence, now)])
            except StaleWrite:
                continue
            self._queue.send(NotifyMessage.deliver(subscription_id, "ping"))
            return event.message_id
        raise StaleWrite(f"subscription {subscription_id} is changing too often right now; try again")

    def deliveries(self, caller: Principal, subscription_id: str, limit: int = 50) -> list[Attempt]:
        self._own(caller, subscription_id)
        return self._store.attempts(subscription_id, limit)

    def redeliver(self, caller: Principal, subscription_id: str, message_id: str) -> None:
        subscription = self._own(caller, subscription_id).item
        if not subscription.enabled:
            raise Conflict(f"subscription {subscription_id} is disabled ({subscription.disabled_reason}); "
                           "enable it first")
        found = parse_message_id(message_id)
        if found is None or not subscription_id.endswith(found[0]) or \
                self._store.delivery(subscription_id, found[1], found[2]) is None:
            raise NotFound(f"subscription {subscription_id} has no delivery '{message_id}'")
        self._queue.send(NotifyMessage.redeliver(subscription_id, message_id))

    def _target(self, url: str) -> Target:
        return parse_target(url, allow_loopback_http=self._options.allow_loopback_http)

    def _own(self, caller: Principal, subscription_id: str) -> Stored[Subscription]:
        stored = self._store.find(subscription_id)
        if stored is None or stored.item.owner != caller.user_id:
            raise NotFound(f"there is no subscription '{subscription_id}'")
        return stored

    def _apply(self, caller: Principal, subscription_id: str, change) -> Subscription:
        for _ in range(WRITE_ATTEMPTS):
            stored = self._own(caller, subscription_id)
            try:
                return self._store.update(change(stored.item), stored.etag).item
            except StaleWrite:
                continue
        raise StaleWrite(f"subscription {subscription_id} is changing too often right now; try again")


class Notifier:
    """The notifications queue's handler and the catch-up timer's."""

    def __init__(self, store: NotificationStore, jobs: JobRepository, sweeps: SweepStore, sender: WebhookSender,
                 queue: JobQueue, clock: Clock, options: NotifyOptions, rng: random.Random | None = None) -> None:
        self._store = store
        self._jobs = jobs
        self._sweeps = sweeps
        self._sender = sender
        self._queue = queue
        self._clock = clock
        self._options = options
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._owners: Bounded[str, tuple[list[Subscription], float]] = Bounded()  # owner -> (subscriptions, read)

    def subscriptions_of(self, owner: str) -> list[Subscription]:
        """The owner's subscriptions as read within the last few seconds (each notify would read them
        again otherwise); a change made here is seen at once, one made elsewhere within that time."""
        now = self._clock.monotonic()
        with self._lock:
            known = self._owners.get(owner)
        if known is not None and now - known[1] < SUBSCRIPTIONS_FRESH_SECONDS:
            return known[0]
        subscriptions = self._store.of_owner(owner)
        with self._lock:
            self._owners[owner] = (subscriptions, now)
        return subscriptions

    def _still_enabled(self, subscription: Subscription) -> bool:
        """Whether the subscription was not paused, disabled or deleted meanwhile: as lately read, and
        read again before saying no (another instance may have resumed it)."""
        if any(s.subscription_id == subscription.subscription_id and s.enabled
               for s in self.subscriptions_of(subscription.owner)):
            return True
        found = self._store.find(subscription.subscription_id)
        return found is not None and found.item.enabled

    def forget_owner(self, owner: str) -> None:
        with self._lock:
            self._owners.pop(owner)

    def handle(self, body: bytes | str) -> None:
        message = NotifyMessage.parse(body)
        if message is None:
            log.warning("notifications: dropped a message no version of simgate could act on")
            return
        if message.action == "notify" and message.job_id:
            self.notify(message.job_id)
        elif message.action == "deliver" and message.subscription_id and message.stream:
            self.deliver(message.subscription_id, message.stream, now=bool(message.now))
        elif message.action == "redeliver" and message.subscription_id and message.event_id:
            self.redeliver(message.subscription_id, message.event_id)

    # --- fan-out ---

    def notify(self, job_id: str, subscriptions: list[Subscription] | None = None, inline: bool = True) -> None:
        """Turn what the job did into events for its owner's subscriptions (read unless given). With one
        subscription (and ``inline``), its new events are sent here at once when nothing of the job
        waits before them; otherwise each stream is sent by a ``deliver`` message of its own, so that
        one slow receiver holds up no other. A stream left waiting with nothing scheduled (a lost
        message) is handed a ``deliver`` message again."""
        stored = self._jobs.find(job_id)
        if stored is None:
            return
        job = stored.item
        owned = self.subscriptions_of(job.owner) if subscriptions is None else subscriptions
        targets = [s for s in owned if s.enabled and s.owner == job.owner]
        for subscription in targets:
            stream, fresh = self._fan_out(subscription, job)
            if fresh and stream is not None and stream.item.delivered == min(fresh) - 1:  # the new events lead
                if inline and len(targets) == 1:
                    self.deliver(subscription.subscription_id, job.job_id, known=(subscription, stream, fresh))
                else:
                    self._queue.send(NotifyMessage.deliver(subscription.subscription_id, job.job_id))
            elif stream is not None and self._stalled(stream.item):
                self._queue.send(NotifyMessage.deliver(subscription.subscription_id, job.job_id))
            if job.sweep_id and job.status.terminal and subscription.wants("sweep.finished", job.case_id,
                                                                           job.sweep_id):
                self._sweep_finished(subscription, job)

    def _stalled(self, stream: Stream) -> bool:
        """A stream with events waiting, untouched for a while and no deliver message due: its message
        was lost (a send that failed after the events were written, a dead-lettered message)."""
        now = self._clock.now()
        quiet = stream.touched is None or now - stream.touched > STALLED_AFTER
        overdue = stream.scheduled is None or now - stream.scheduled > STALLED_AFTER
        return stream.pending and quiet and overdue

    def _fan_out(self, subscription: Subscription,
                 job: Job) -> tuple[Stored[Stream] | None, dict[int, Delivery]]:
        """Record the job's new events for the subscription: the stream as stored, and those events."""
        for _ in range(WRITE_ATTEMPTS):
            stored = self._store.stream(subscription.subscription_id, job.job_id)
            stream = stored.item if stored else Stream(key=job.job_id)
            now = self._clock.now()
            events, moved = job_events(job, stream, subscription, now, self._options.base_url)
            if not events:  # nothing to say: the bookmark is not worth a write
                return stored, {}
            try:
                return self._record(subscription, stream, moved, stored, events, now)
            except StaleWrite:
                continue
        return None, {}

    def _record(self, subscription: Subscription, stream: Stream, moved: Stream, stored: Stored[Stream] | None,
                events: list[Event], now: datetime) -> tuple[Stored[Stream], dict[int, Delivery]]:
        deliveries = {stream.next_sequence + index: Delivery.of(event, stream.key, stream.next_sequence + index, now)
                      for index, event in enumerate(events)}
        for delivery in deliveries.values():
            if len(delivery.body.encode()) > MAX_BODY_BYTES:
                raise ValidationFailed(f"event {delivery.message_id} is larger than {MAX_BODY_BYTES} bytes")
        moved = moved.model_copy(update={"touched": now})
        etag = self._store.record(subscription.subscription_id, moved, stored.etag if stored else None,
                                  list(deliveries.values()))
        return Stored(moved, etag), deliveries

    def _sweep_finished(self, subscription: Subscription, job: Job) -> None:
        stored_sweep = self._sweeps.find(job.sweep_id or "")
        if stored_sweep is None or not stored_sweep.item.materialised:
            return
        sweep = stored_sweep.item
        if self._jobs.any_unfinished(sweep):  # one query before reading a thousand members
            return
        members = self._jobs.members(sweep)
        counts = dict(Counter(m.job.status.value for m in current_members(sweep, members)))
        key = sweep_stream(sweep.sweep_id)
        for _ in range(WRITE_ATTEMPTS):
            stored = self._store.stream(subscription.subscription_id, key)
            stream = stored.item if stored else Stream(key=key)
            now = self._clock.now()
            events, moved = sweep_finished_event(subscription, stream, sweep.sweep_id, sweep.case_id, counts,
                                                 len(members), now, self._options.base_url)
            if not events:
                return
            try:
                written, _ = self._record(subscription, stream, moved, stored, events, now)
            except StaleWrite:
                continue
            if written.item.delivered == stream.next_sequence - 1:  # nothing of the sweep waits before it
                self._queue.send(NotifyMessage.deliver(subscription.subscription_id, key))
            return

    # --- delivery ---

    def deliver(self, subscription_id: str, stream_key: str, now: bool = False,
                known: tuple[Subscription, Stored[Stream], dict[int, Delivery]] | None = None) -> None:
        """Send the stream's events in order until one fails (its retry is scheduled) or none is left.
        ``now``: the first event waiting for its retry is tried at once (a resume). ``known``: the
        subscription, stream and events just recorded (not read again)."""
        if known is None:
            found = self._store.find(subscription_id)
            stored = self._store.stream(subscription_id, stream_key)
            fresh: dict[int, Delivery] = {}
        else:
            found = Stored(known[0], "")  # its ETag is read again only if the attempt changes it
            stored, fresh = known[1], known[2]
        for index in range(DELIVERIES_PER_MESSAGE):
            if found is None or not found.item.enabled or stored is None:
                return  # deleted, or disabled: enabling it again resumes its streams
            if index and not self._still_enabled(found.item):
                return
            if not stored.item.pending:
                stored = self._store.stream(subscription_id, stream_key)  # events added meanwhile?
                if stored is None or not stored.item.pending:
                    return
            sequence = stored.item.delivered + 1
            delivery = fresh.pop(sequence, None) or self._store.delivery(subscription_id, stream_key, sequence)
            if delivery is None:  # cannot happen (written with the stream); stop rather than spin
                log.error("notifications: %s lacks event %d of %s", subscription_id, sequence, stream_key)
                return
            due = delivery.next_attempt
            if due is not None and due > self._clock.now() and not (now and index == 0):
                self._schedule(subscription_id, stored, due)
                return
            result = self._post(found.item, delivery)
            retry_at, stored = self._settle(found.item, delivery, stored, result)
            found = self._after_attempt(found, result.delivered, result.error_class == "gone")
            if retry_at is not None:
                self._queue.send(NotifyMessage.deliver(subscription_id, stream_key), not_before=retry_at)
                return
        self._queue.send(NotifyMessage.deliver(subscription_id, stream_key))  # more: hand on

    def _schedule(self, subscription_id: str, stored: Stored[Stream], due: datetime) -> None:
        """A deliver message for the head event's retry, unless one waits for that time already."""
        if stored.item.scheduled == due:
            return
        try:
            self._store.record(subscription_id, stored.item.model_copy(update={"scheduled": due}), stored.etag, [])
        except StaleWrite:
            return  # another worker is at this stream: it schedules what is left
        self._queue.send(NotifyMessage.deliver(subscription_id, stored.item.key), not_before=due)

    def redeliver(self, subscription_id: str, message_id: str) -> None:
        """Send one event again, once, out of its stream's order (the log marks it a redelivery)."""
        found = self._store.find(subscription_id)
        parsed = parse_message_id(message_id)
        if found is None or parsed is None or not found.item.enabled:
            return
        delivery = self._store.delivery(subscription_id, parsed[1], parsed[2])
        if delivery is None:
            return
        result = self._post(found.item, delivery)
        now = self._clock.now()
        attempt = _attempt(delivery, delivery.attempts + 1, now, result, None, redelivery=True)
        try:  # logged only: the event's place in its stream and its own retries are left as they are
            self._store.attempted(subscription_id, delivery, attempt)
        except StaleWrite:
            log.warning("notifications: a redelivery of %s could not be logged", message_id)
        self._after_attempt(found, result.delivered, result.error_class == "gone")  # the endpoint's health

    def _post(self, subscription: Subscription, delivery: Delivery) -> DeliveryResult:
        body = delivery.body.encode()
        now = self._clock.now()
        timestamp = int(now.timestamp())
        headers = {"webhook-id": delivery.message_id, "webhook-timestamp": str(timestamp),
                   "webhook-signature": subscription.signature(delivery.message_id, timestamp, body, now)}
        try:
            target = parse_target(subscription.url, allow_loopback_http=self._options.allow_loopback_http)
        except ValidationFailed as exc:
            return DeliveryResult(error_class="refused_address", error=str(exc.detail or exc)[:300])
        return self._sender.send(target, headers, body)

    def _settle(self, subscription: Subscription, delivery: Delivery, stored: Stored[Stream],
                result: DeliveryResult) -> tuple[datetime | None, Stored[Stream] | None]:
        """Log the attempt with the event as it now stands, and write the stream with it (moved on once
        the event is done with, or noting the retry scheduled), all conditional on the stream as read;
        when to try again (None: done with, or settled by another worker), and the stream as stored."""
        now = self._clock.now()
        attempts = delivery.attempts + 1
        gone = result.error_class == "gone"
        retry_at = None if result.delivered or gone else next_attempt(
            attempts, now, self._options.schedule, result.retry_after_seconds, self._rng)
        state = "delivered" if result.delivered else ("pending" if retry_at else "failed")
        settled = delivery.model_copy(update={"state": state, "attempts": attempts, "next_attempt": retry_at})
        attempt = _attempt(delivery, attempts, now, result, retry_at)
        for _ in range(WRITE_ATTEMPTS):
            change = {"delivered": delivery.sequence} if state != "pending" else {"scheduled": retry_at}
            moved = stored.item.model_copy(update={**change, "touched": now})
            try:
                etag = self._store.attempted(subscription.subscription_id, settled, attempt, moved, stored.etag)
                return retry_at, Stored(moved, etag or "")
            except StaleWrite:  # new events were added to the stream meanwhile, or another worker settled it
                fresh = self._store.stream(subscription.subscription_id, stored.item.key)
                if fresh is None or fresh.item.delivered >= delivery.sequence:
                    return None, fresh
                stored = fresh
        raise StaleWrite(f"stream {stored.item.key} of {subscription.subscription_id} is changing too often")

    def _after_attempt(self, found: Stored[Subscription], delivered: bool,
                       gone: bool) -> Stored[Subscription] | None:
        """The subscription's failing clock after an attempt (a 410 or days of failures disable it);
        the subscription as now stored."""
        stored: Stored[Subscription] | None = found
        now = self._clock.now()
        for _ in range(WRITE_ATTEMPTS):
            if stored is None:
                return None
            after = stored.item.after_attempt(delivered, gone, now, self._options.disable_after)
            if after == stored.item:
                return stored
            if not stored.etag:  # known from memory: read it before changing it
                stored = self._store.find(found.item.subscription_id)
                continue
            try:
                written = self._store.update(after, stored.etag)
                self.forget_owner(after.owner)
                if not after.enabled:
                    log.warning("notifications: subscription %s disabled: %s", after.subscription_id,
                                after.disabled_reason)
                return written
            except StaleWrite:
                stored = self._store.find(found.item.subscription_id)
        return stored

    # --- catch-up ---

    def catch_up(self) -> int:
        """Fan out the jobs changed since each subscribed owner's last catch-up (a wake may have been
        lost with its instance), leaving the last few seconds' changes to their own wakes, and hand a
        deliver message to every stream whose message was lost; the number of jobs looked at. Nothing
        is sent from here: the deliver messages do that."""
        until = self._clock.now() - CATCH_UP_SETTLE
        subscribed: dict[str, list[Subscription]] = {}
        for subscription in self._store.everyone():
            if subscription.enabled:
                subscribed.setdefault(subscription.owner, []).append(subscription)
        looked = 0
        for owner, subscriptions in sorted(subscribed.items()):
            try:
                looked += self._catch_up_owner(owner, subscriptions, until)
            except SimgateError as exc:  # one owner's trouble stops no other's catch-up
                log.warning("notifications: catch-up of %s failed: %s", owner, exc)
        return looked

    def _catch_up_owner(self, owner: str, subscriptions: list[Subscription], until: datetime) -> int:
        mark = self._store.scan_mark(owner) or min(s.since for s in subscriptions)  # nothing older counts
        looked = 0
        for summary in self._jobs.changed_since(owner, mark - CATCH_UP_OVERLAP):
            if summary.updated < until:
                self.notify(summary.job_id, subscriptions, inline=False)
                looked += 1
        self._store.set_scan_mark(owner, until)
        for subscription in subscriptions:
            for stream in self._store.pending_streams(subscription.subscription_id):
                if self._stalled(stream):
                    self._queue.send(NotifyMessage.deliver(subscription.subscription_id, stream.key))
        return looked


def _attempt(delivery: Delivery, number: int, now: datetime, result: DeliveryResult, retry_at: datetime | None,
             redelivery: bool = False) -> Attempt:
    outcome = "delivered" if result.delivered else ("retrying" if retry_at else "failed")
    return Attempt(attempt_id=f"{delivery.message_id}.{number}", message_id=delivery.message_id, type=delivery.type,
                   stream=delivery.stream, sequence=delivery.sequence, attempt=number, at=now,
                   status_code=result.status, latency_ms=round(result.latency_ms, 1), error_class=result.error_class,
                   error=result.error[:300], next_attempt=retry_at, redelivery=redelivery, outcome=outcome)


class NotifyWaker:
    """Wakes the notifier after job writes, from a thread of its own: a write never waits on it.

    Only owners with an enabled subscription are woken for (known from a short-lived memory of their
    subscriptions), on a status change, and on a progress change at most once a minute per job."""

    OWNER_FRESH_SECONDS = 10.0

    def __init__(self, store: NotificationStore, queue_: JobQueue) -> None:
        self._store = store
        self._queue = queue_
        self._pending: queue.SimpleQueue[Job] = queue.SimpleQueue()
        self._seen: Bounded[str, tuple[str, float]] = Bounded()  # job id -> (status, last progress wake)
        self._owners: Bounded[str, tuple[bool, float]] = Bounded()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def written(self, job: Job) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="notify-waker", daemon=True)
                self._thread.start()
        self._pending.put(job)

    def forget_owner(self, owner: str) -> None:
        """The owner's subscriptions changed here: ask again at the next write."""
        with self._lock:
            self._owners.pop(owner)

    def _run(self) -> None:
        while True:
            job = self._pending.get()
            try:
                if self._wanted(job) and self._subscribed(job.owner):
                    self._queue.send(NotifyMessage.notify(job.job_id))
            except Exception:  # noqa: BLE001 - the catch-up finds what a failed wake missed
                log.warning("notifications: could not wake the notifier for job %s", job.job_id, exc_info=True)

    def _wanted(self, job: Job) -> bool:
        now = time.monotonic()
        with self._lock:
            seen = self._seen.get(job.job_id)
            if seen is None or seen[0] != job.status.value:
                self._seen[job.job_id] = (job.status.value, now)
                return True
            if job.progress is not None and now - seen[1] >= PROGRESS_WAKE_EVERY:
                self._seen[job.job_id] = (job.status.value, now)
                return True
        return False

    def _subscribed(self, owner: str) -> bool:
        now = time.monotonic()
        with self._lock:
            known = self._owners.get(owner)
        if known is not None and now - known[1] < self.OWNER_FRESH_SECONDS:
            return known[0]
        subscribed = any(s.enabled for s in self._store.of_owner(owner))
        with self._lock:
            self._owners[owner] = (subscribed, now)
        return subscribed
