"""A Function app for testing the local host: blueprint routes, a slow route, queue and timer triggers."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field

import azure.functions as func


@dataclass
class Recorder:
    """What the functions saw; tests reset it and wait on its condition."""

    deliveries: list[dict] = field(default_factory=list)
    dead_letters: list[dict] = field(default_factory=list)
    timer_ticks: int = 0
    failures_to_inject: int = 0
    barrier: threading.Barrier = field(default_factory=lambda: threading.Barrier(2, timeout=10))
    release: threading.Event = field(default_factory=threading.Event)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def record(self, kind: str, item) -> None:
        with self.changed:
            getattr(self, kind).append(item)
            self.changed.notify_all()

    def wait_for(self, predicate, timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(predicate, timeout)


recorder = Recorder()
bp = func.Blueprint()


@bp.route(route="items/{item_id:int}/notes/{note}", methods=["GET", "PATCH"], auth_level=func.AuthLevel.ANONYMOUS)
def item_note(req: func.HttpRequest) -> func.HttpResponse:
    body = {
        "method": req.method,
        "route": dict(req.route_params),
        "query": dict(req.params),
        "body": req.get_body().decode(),
        "user": req.headers.get("x-simgate-user"),
    }
    return func.HttpResponse(json.dumps(body), status_code=200, mimetype="application/json",
                             headers={"X-Seen": "yes"})


@bp.route(route="slow", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def slow(req: func.HttpRequest) -> func.HttpResponse:
    # Returns only once a second request is in the handler at the same time.
    try:
        recorder.barrier.wait()
    except threading.BrokenBarrierError:
        return func.HttpResponse("served one at a time", status_code=500)
    return func.HttpResponse("together", status_code=200)


@bp.route(route="boom", auth_level=func.AuthLevel.ANONYMOUS)
def boom(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("unhandled")


@bp.service_bus_queue_trigger(arg_name="msg", queue_name="%JOBS_QUEUE%", connection="ServiceBusConnection")
def consume(msg: func.ServiceBusMessage) -> None:
    seen = {"id": msg.message_id, "body": json.loads(msg.get_body()), "delivery_count": msg.delivery_count,
            "subject": msg.subject, "properties": dict(msg.application_properties or {})}
    recorder.record("deliveries", seen)
    if seen["body"].get("hold"):
        recorder.release.wait(30)
    if seen["body"].get("fail_times", 0) >= msg.delivery_count:
        raise RuntimeError(f"injected failure on delivery {msg.delivery_count}")


@bp.service_bus_queue_trigger(arg_name="msg", queue_name="%JOBS_QUEUE%/$deadletterqueue", connection="ServiceBusConnection")
def dead_letters(msg: func.ServiceBusMessage) -> None:
    recorder.record("dead_letters", {"id": msg.message_id, "reason": msg.dead_letter_reason,
                                     "description": msg.dead_letter_error_description,
                                     "body": json.loads(msg.get_body())})


@bp.timer_trigger(arg_name="timer", schedule="* * * * * *", run_on_startup=False)
def tick(timer: func.TimerRequest) -> None:
    with recorder.changed:
        recorder.timer_ticks += 1
        recorder.changed.notify_all()


app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
app.register_functions(bp)
