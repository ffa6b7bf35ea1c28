"""The reconciler: a timer that repairs jobs whose webhooks were lost and fails jobs that vanished
from their simulator (see shared/services/reconciler.py). The Functions host runs a timer function
as a singleton across instances, so two cycles never overlap."""

import logging

import azure.functions as func

from shared.wiring import app

bp = func.Blueprint()
log = logging.getLogger("simgate.reconciler")


@bp.function_name("reconciler")
@bp.timer_trigger(arg_name="timer", schedule="%RECONCILE_SCHEDULE%", run_on_startup=False)
def reconciler(timer: func.TimerRequest) -> None:
    if timer.past_due:
        log.info("reconciler cycle is running late")
    log.info("reconciler cycle: %s", app().reconciler.run())
