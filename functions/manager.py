"""The manager: Service Bus-triggered functions that start and cancel jobs on simulators.

A raised exception abandons the message, so Service Bus delivers it again (up to the queue's
maxDeliveryCount); the service decides when to raise and when to settle the job instead.
"""

import logging

import azure.functions as func

from shared import wiring
from shared.config import SERVICE_BUS, get_settings
from shared.services.manager import Delivery

bp = func.Blueprint()
log = logging.getLogger("simgate.manager")


@bp.function_name("manager")
@bp.service_bus_queue_trigger(arg_name="message", queue_name="%JOBS_QUEUE%", connection=SERVICE_BUS)
def manager(message: func.ServiceBusMessage) -> None:
    delivery = Delivery(count=message.delivery_count or 1, max_count=get_settings().jobs_queue_max_delivery_count)
    outcome = wiring.manager().handle(message.get_body(), delivery)
    log.info("message %s (delivery %d): %s", message.message_id, delivery.count, outcome)


@bp.function_name("manager_dead_letters")
@bp.service_bus_queue_trigger(arg_name="message", queue_name="%JOBS_QUEUE%/$deadletterqueue",
                              connection=SERVICE_BUS)
def manager_dead_letters(message: func.ServiceBusMessage) -> None:
    outcome = wiring.manager().handle_dead_letter(message.get_body(), message.dead_letter_reason,
                                                  message.dead_letter_error_description)
    log.warning("dead-lettered message %s: %s", message.message_id, outcome)
