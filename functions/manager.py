"""The manager: Service Bus-triggered functions that start and cancel jobs on simulators.

A raised exception abandons the message, so Service Bus delivers it again (up to the queue's
maxDeliveryCount); the service decides when to raise and when to settle the job instead.
"""

import azure.functions as func

from shared.config import SERVICE_BUS
from shared.wiring import app

bp = func.Blueprint()


@bp.function_name("manager")
@bp.service_bus_queue_trigger(arg_name="message", queue_name="%JOBS_QUEUE%", connection=SERVICE_BUS)
def manager(message: func.ServiceBusMessage) -> None:
    app().manager.handle(message.get_body(), message.delivery_count or 1)


@bp.function_name("manager_dead_letters")
@bp.service_bus_queue_trigger(arg_name="message", queue_name="%JOBS_QUEUE%/$deadletterqueue",
                              connection=SERVICE_BUS)
def manager_dead_letters(message: func.ServiceBusMessage) -> None:
    app().manager.handle_dead_letter(message.get_body(), message.dead_letter_reason,
                                     message.dead_letter_error_description)
