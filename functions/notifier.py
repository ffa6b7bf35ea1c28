"""The notifier: sends signed webhooks from the notifications queue, and a timer that catches up job
changes whose wake was lost (see shared/services/notifications.py)."""

import logging

import azure.functions as func

from shared.config import SERVICE_BUS
from shared.wiring import app

bp = func.Blueprint()
log = logging.getLogger("simgate.notifications")


@bp.function_name("notifier")
@bp.service_bus_queue_trigger(arg_name="message", queue_name="%NOTIFY_QUEUE%", connection=SERVICE_BUS)
def notifier(message: func.ServiceBusMessage) -> None:
    app().notifier.handle(message.get_body())


@bp.function_name("notify_catch_up")
@bp.timer_trigger(arg_name="timer", schedule="%NOTIFY_SCAN_SCHEDULE%", run_on_startup=False)
def notify_catch_up(timer: func.TimerRequest) -> None:
    looked = app().notifier.catch_up()
    if looked:
        log.info("notifications catch-up: %d changed jobs looked at", looked)
