"""Notifications from the command line: webhook subscriptions to your job and sweep events (signed as
Standard Webhooks), their secrets, test pings and delivery logs.

A subscription's signing secret is in two answers only, the one that makes it and the one that
rotates it: it is printed on stdout then, with a note saying so, and never again. Event names are
checked here, before anything is sent; the URL is judged by the API (https, public addresses only),
which names what it refuses."""

from __future__ import annotations

import time
import typing
from collections.abc import Callable, Sequence
from datetime import datetime, timezone

from rich.console import Console
from rich.table import Table
from rich.text import Text

from cli.client import Api, request_model
from cli.errors import CliError, Interrupted, UsageProblem
from cli.render import ago, span, until
from shared.api.models import DeliveryAttempt, SubscriptionInfo, SubscriptionSecret
from shared.api.requests import DeliveriesQuery, EventName, NewSubscription, SubscriptionChange

EVENTS: tuple[str, ...] = typing.get_args(EventName)
DEFAULT_EVENTS = ("job.finished",)
POLL_SECONDS = 1.0  # how often a test ping's deliveries are read again while waiting for its attempt
WAIT_SECONDS = 60.0  # how long subscription-test --wait waits for the ping's first attempt by default
WAIT_LIMIT = 100  # the attempts read each time (newest first): the ping's is among them
NONE = "—"
KEEP_SECRET = "keep this secret: it is shown only now"
OUTCOME_STYLES = {"delivered": "green", "retrying": "yellow", "failed": "bold red"}


# --- what is sent ------------------------------------------------------------------------------------


def parse_events(texts: Sequence[str] | None) -> list[str]:
    """``--events`` values, each one event or a comma list of them, in order without repeats;
    DEFAULT_EVENTS without any. An event simgate does not know is a usage problem, named."""
    events: list[str] = []
    unknown: list[str] = []
    for text in texts or []:
        for item in text.split(","):
            name = item.strip().lower()
            if not name:
                continue
            if name not in EVENTS:
                unknown.append(item.strip())
            elif name not in events:
                events.append(name)
    if unknown:
        names = ", ".join(repr(name) for name in unknown)
        raise UsageProblem(f"--events: {'no such event' if len(unknown) == 1 else 'no such events'}: {names}",
                           [f"the events are: {', '.join(EVENTS)}"])
    if texts and not events:
        raise UsageProblem("--events: name at least one event", [f"the events are: {', '.join(EVENTS)}"])
    return events or list(DEFAULT_EVENTS)


def new_subscription(url: str, events: Sequence[str] | None, case_id: str | None, sweep_id: str | None,
                     description: str | None) -> NewSubscription:
    return request_model(NewSubscription, url=url, events=parse_events(events), case_id=case_id, sweep_id=sweep_id,
                         description=description or "")


def enabled(value: bool) -> SubscriptionChange:
    return request_model(SubscriptionChange, enabled=value)


# --- secrets -------------------------------------------------------------------------------------------


def secret_lines(answer: SubscriptionSecret, rotated: bool = False, now: datetime | None = None) -> list[str]:
    """What is printed once: the subscription, its secret, and that it is shown only now (and, after a
    rotation, until when the old secret still signs). Plain lines: a secret is never wrapped or cut."""
    rows = [("subscription", answer.id), ("url", answer.url), ("events", ", ".join(answer.events))]
    if filters_text(answer) != "all your jobs":
        rows.append(("only", filters_text(answer)))
    rows.append(("secret", answer.secret))
    width = max(len(name) for name, _ in rows)
    lines = [f"{name:<{width}}  {value}" for name, value in rows]
    lines += ["", f"{KEEP_SECRET}. Receivers check each delivery's webhook-signature header with it "
                  "(Standard Webhooks)."]
    if rotated and answer.previous_secret_expires is not None:
        lines.append(f"The old secret signs beside it until {clock(answer.previous_secret_expires)} "
                     f"({until(answer.previous_secret_expires, now)}): switch your receiver to the new one "
                     "before then.")
    return lines


# --- for people: subscriptions -------------------------------------------------------------------------


def filters_text(subscription: SubscriptionInfo) -> str:
    parts = [f"case {subscription.case_id}" if subscription.case_id else "",
             f"sweep {subscription.sweep_id}" if subscription.sweep_id else ""]
    return ", ".join(filter(None, parts)) or "all your jobs"


def state_text(subscription: SubscriptionInfo) -> Text:
    if subscription.enabled:
        return Text("enabled", style="green")
    reason = subscription.disabled_reason or "no reason given"
    return Text(f"disabled: {reason}", style="yellow" if "paused" in reason else "bold red")


def subscriptions_table(subscriptions: Sequence[SubscriptionInfo], now: datetime | None = None) -> Table:
    described = any(s.description for s in subscriptions)
    grid = Table(box=None, header_style="bold", pad_edge=False)
    grid.add_column("SUBSCRIPTION", no_wrap=True, min_width=max(len(s.id) for s in subscriptions))
    grid.add_column("URL", overflow="fold")
    grid.add_column("EVENTS")
    grid.add_column("STATE")
    grid.add_column("FAILING SINCE", no_wrap=True)
    grid.add_column("FILTERS")
    if described:
        grid.add_column("DESCRIPTION", overflow="ellipsis", max_width=40)
    for subscription in subscriptions:
        failing = Text(ago(subscription.failing_since, now), style="red") if subscription.failing_since else Text("")
        cells: list[str | Text] = [subscription.id, subscription.url, ", ".join(subscription.events),
                                   state_text(subscription), failing, filters_text(subscription)]
        if described:
            cells.append(subscription.description)
        grid.add_row(*cells)
    return grid


def rotations(subscriptions: Sequence[SubscriptionInfo], now: datetime | None = None) -> list[str]:
    """A line per subscription whose old secret still signs beside its new one."""
    return [f"{s.id}: the old secret signs beside the new one until {clock(s.previous_secret_expires)} "
            f"({until(s.previous_secret_expires, now)})" for s in subscriptions if s.previous_secret_expires]


def paused_note(info: SubscriptionInfo) -> str:
    if info.enabled:
        return f"subscription {info.id} is enabled"
    return (f"paused subscription {info.id}: nothing is sent to it, and job changes meanwhile are not announced; "
            f"resume it with: simgate subscription-resume {info.id}")


def resumed_note(info: SubscriptionInfo) -> str:
    if not info.enabled:
        return f"subscription {info.id} is still disabled: {info.disabled_reason}"
    return f"resumed subscription {info.id}: events waiting for it are sent first, in order, then new ones"


# --- for people: deliveries ----------------------------------------------------------------------------


def deliveries_view(console: Console, subscription_id: str, attempts: Sequence[DeliveryAttempt],
                    now: datetime | None = None) -> None:
    """The attempts, newest first; then, for each delivery whose latest attempt did not get through,
    what went wrong, and how to send one again."""
    console.print(deliveries_table(attempts, now))
    latest: dict[str, DeliveryAttempt] = {}
    for attempt in attempts:
        latest.setdefault(attempt.delivery_id, attempt)
    failing = [a for a in latest.values() if a.outcome != "delivered"]
    if not failing:
        return
    console.print()
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True)
    grid.add_column()
    for attempt in failing:
        grid.add_row(attempt.delivery_id, Text(problem_text(attempt), style=OUTCOME_STYLES[attempt.outcome]))
    console.print(grid)
    console.print(Text(f"send one again with: simgate deliveries {subscription_id} --redeliver DELIVERY",
                       style="dim"), soft_wrap=True)


def deliveries_table(attempts: Sequence[DeliveryAttempt], now: datetime | None = None) -> Table:
    headers = ["AT", "EVENT", "JOB / SWEEP", "SEQ", "ATTEMPT", "STATUS", "LATENCY", "OUTCOME", "ERROR",
               "NEXT ATTEMPT", "DELIVERY"]
    rows: list[list[str | Text]] = []
    for attempt in attempts:
        number = f"{attempt.attempt} (redelivery)" if attempt.redelivery else str(attempt.attempt)
        rows.append([clock(attempt.at), attempt.event, stream_text(attempt), str(attempt.sequence), number,
                     NONE if attempt.status_code is None else str(attempt.status_code), latency(attempt.latency_ms),
                     Text(attempt.outcome, style=OUTCOME_STYLES[attempt.outcome]), attempt.error_class or "",
                     next_text(attempt.next_attempt, now), attempt.delivery_id])
    grid = Table(box=None, header_style="bold", pad_edge=False)
    for index, header in enumerate(headers):
        width = max((_width(row[index]) for row in rows), default=1)
        grid.add_column(header, min_width=max(width, 1), overflow="fold",
                        justify="right" if header in ("SEQ", "ATTEMPT", "STATUS", "LATENCY") else "left")
    for row in rows:
        grid.add_row(*row)
    return grid


def stream_text(attempt: DeliveryAttempt) -> str:
    if attempt.job_id:
        return attempt.job_id
    if attempt.sweep_id:
        return f"sweep {attempt.sweep_id}"
    return NONE


def problem_text(attempt: DeliveryAttempt) -> str:
    """What went wrong with an attempt and what happens next, in a line: "attempt 2 answered 500
    (http_status); tried again in 5 min", "attempt 1 could not connect: Connection refused (connect)"."""
    if attempt.status_code is not None:
        said = attempt.error.removeprefix(f"HTTP {attempt.status_code}").lstrip(": ")
        cause = f"answered {attempt.status_code}"
        if attempt.error_class:
            cause += f" ({attempt.error_class}: {said})" if said else f" ({attempt.error_class})"
    else:
        cause = attempt.error or "no answer"
        if attempt.error_class:
            cause += f" ({attempt.error_class})"
    if attempt.outcome == "retrying" and attempt.next_attempt is not None:
        return f"attempt {attempt.attempt} {cause}; tried again {until(attempt.next_attempt)}"
    if attempt.outcome == "failed":
        return f"attempt {attempt.attempt} {cause}; given up"
    return f"attempt {attempt.attempt} {cause}"


def next_text(moment: datetime | None, now: datetime | None = None) -> str:
    """When the next attempt is due ("in 5 min"); once past, when it was due (an older row of the log)."""
    if moment is None:
        return ""
    return until(moment, now) if moment > (now or datetime.now(timezone.utc)) else clock(moment)


def latency(milliseconds: float) -> str:
    return f"{milliseconds:.0f} ms" if milliseconds < 1000 else f"{milliseconds / 1000:.1f} s"


def clock(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _width(cell: str | Text) -> int:
    return len(cell.plain if isinstance(cell, Text) else cell)


def redelivered_note(subscription_id: str, delivery_id: str) -> str:
    return (f"queued {delivery_id} to be sent again (the same webhook-id, out of order); its attempt shows in: "
            f"simgate deliveries {subscription_id}")


# --- a test ping -------------------------------------------------------------------------------------


def wait_for_attempt(api: Api, subscription_id: str, delivery_id: str, seconds: float = WAIT_SECONDS,
                     poll: float | None = None, monotonic: Callable[[], float] = time.monotonic,
                     sleep: Callable[[float], None] = time.sleep) -> DeliveryAttempt:
    """The latest attempt to send ``delivery_id``, once there is one, reading the deliveries every
    ``poll`` seconds for at most ``seconds``. Ctrl-C stops waiting, not the delivery."""
    deadline = monotonic() + seconds
    query = request_model(DeliveriesQuery, limit=WAIT_LIMIT)
    try:
        while True:
            for attempt in api.deliveries(subscription_id, query):
                if attempt.delivery_id == delivery_id:
                    return attempt
            left = deadline - monotonic()
            if left <= 0:
                raise CliError(f"{delivery_id} has not been sent after {span(seconds)}", [
                    "it stays queued: an event waits for the one before it in its stream, and the notifier may "
                    "be slow or stopped", f"see its attempts later with: simgate deliveries {subscription_id}"])
            sleep(min(POLL_SECONDS if poll is None else poll, left))
    except KeyboardInterrupt:
        raise Interrupted(f"stopped waiting; {delivery_id} stays queued",
                          [f"see its attempts with: simgate deliveries {subscription_id}"]) from None


def outcome(subscription_id: str, attempt: DeliveryAttempt) -> str:
    """A delivered ping's line; a CliError (exit 1) saying why one was not delivered."""
    if attempt.outcome == "delivered":
        return f"{attempt.delivery_id} delivered: answered {attempt.status_code} in {latency(attempt.latency_ms)}"
    details = [problem_text(attempt).replace(f"attempt {attempt.attempt} ", f"attempt {attempt.attempt}: ", 1)]
    details.append(f"see each attempt with: simgate deliveries {subscription_id}")
    raise CliError(f"{attempt.delivery_id} was not delivered", details)
